import { Type as T } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { eq, sql } from "drizzle-orm";
import type { JobHelpers, Task } from "graphile-worker";
import { clinics, patients, smsMessages } from "../../db/schema";
import { retryOnStaleConnection, type Tx } from "../db";
import type { Deps } from "../deps";
import { storableText } from "../domain/text";
import { queueSend } from "../effects/sms";
import { alertSmsUnconfirmed, handleSmsFailure } from "../effects/sms-failure";
import { lockSid, requeueEarlyCallbacks } from "../effects/sms-status";
import {
  attemptSend, CLAIMABLE, NOT_CONFIGURED, type Outcome, runningJobs, SendUnderWay, type SmsToSend,
  UNKNOWN_NOT_LOOKED_UP,
} from "./send-sms-attempt";
import { recordUnsent } from "./send-sms-unsent";

const Single = T.Object({ smsId: T.String({ minLength: 36, maxLength: 36 }) });
/** A batch job: the SMS one statement queued (effects/sms.ts queueSmsSet), each sent as its own job would send it. */
const Batch = T.Array(Single, { minItems: 1 });
/** How many SMS of a batch job are under way at once (a send may sleep for its number's pacing slot). */
export const BATCH_PARALLEL = 4;

type Sms = typeof smsMessages.$inferSelect;
type Claim = { kind: "skip" } | { kind: "later" } | { kind: "busy"; by: string }
  | ({ kind: "go"; sms: Sms } & SmsToSend);

/** What recording an outcome decided: the status written, and whether graphile-worker should run the job again. */
interface Verdict { status: string; retry: boolean }

/**
 * Sends one recorded SMS through the twilio SDK, never twice (SPEC 8): claim (claimed_by, a column of its own)
 * → one attempt against Twilio → one transaction recording its outcome. From the claim until Twilio's answer
 * settles it, the row is `unknown`: the message may be on Twilio (a timeout, a 5xx, a dead or stopped worker),
 * so every later attempt looks it up before it may send, and a look-up that fails is retried as a look-up.
 * Twilio 4xx answers are recorded and not retried. The last attempt never reports as failed what may have gone out.
 * Two payload forms: `{smsId}` (keyed `sms:<id>`: one pending send per SMS) and `[{smsId}, ...]`, the SMS one
 * statement queued together (a set of payments' confirmations), so that a job's fetch and completion serve many.
 */
export function sendSmsTask(deps: Deps): Task {
  return async (payload, helpers) => {
    if (Value.Check(Batch, payload)) {
      const ids = payload.map(({ smsId }) => smsId);
      // Without Twilio nothing is sent: the whole job is one transaction (send-sms-unsent.ts).
      if (!deps.twilio) return recordUnsent(deps, ids, helpers.job.id);
      return inTurn(ids.map((smsId) => () => sendOne(deps, smsId, helpers)), BATCH_PARALLEL);
    }
    if (!Value.Check(Single, payload)) {
      deps.log.error("send-sms: bad payload, giving up", { payload });
      return;
    }
    await sendOne(deps, payload.smsId, helpers);
  };
}

/**
 * One attempt at one SMS under the job `helpers` describes; throws to have graphile-worker run it again (a batch
 * job: a job holding just the entries that threw, with the job's backoff and attempts). A batch entry reached after
 * the job was aborted (shutdown) goes the same way as a single job's: its Twilio call is never made, it is recorded
 * not sent, and retried (or, on the last attempt, failed).
 */
async function sendOne(deps: Deps, smsId: string, helpers: Pick<JobHelpers, "job" | "abortSignal">) {
  const claim = await claimSend(deps, smsId, helpers.job.id);
  if (claim.kind === "skip" || claim.kind === "later") return;
  if (claim.kind === "busy") throw new SendUnderWay(claim.by);
  const outcome = await attemptSend(deps, claim, helpers.abortSignal);
  const lastAttempt = helpers.job.attempts >= helpers.job.max_attempts;
  // Outside the attempt: once Twilio has the message, a database error while saving its sid must not count as a
  // failed send. It throws with the row still `unknown`, and the retry looks the message up.
  const verdict = await retryOnStaleConnection(() =>
    deps.db.transaction((tx) => recordOutcome(deps, tx, claim.sms, outcome, lastAttempt)));
  report(deps, claim.sms, outcome, verdict);
  if (verdict.retry && "error" in outcome) throw outcome.error;
}

/**
 * Runs `calls` at most `parallel` at a time, in order; one promise per call, for graphile-worker's batch jobs
 * (it reads them all with allSettled, so a rejection is not unhandled meanwhile).
 */
function inTurn(calls: (() => Promise<void>)[], parallel: number): Promise<void>[] {
  const results = calls.map(() => Promise.withResolvers<void>());
  let next = 0;
  const lane = async () => {
    while (next < calls.length) {
      const i = next++;
      await Promise.resolve().then(calls[i]!).then(results[i]!.resolve, results[i]!.reject);
    }
  };
  for (let n = 0; n < Math.min(parallel, calls.length); n++) void lane();
  return results.map(({ promise }) => {
    promise.catch(() => {});
    return promise;
  });
}

/**
 * Locks the row, re-checks opt-out, reserves the sending number's next slot and marks the claim, committed before
 * Twilio is called. An `unknown` row (an earlier attempt may have reached Twilio) is looked up first, even for a
 * patient who has opted out since: it may already be out, and that must be recorded, not skipped.
 */
async function claimSend(deps: Deps, smsId: string, jobId: string): Promise<Claim> {
  return deps.db.transaction(async (tx) => {
    // The row, locked, with its patient's opt-out in the same round trip (a patient's row is not locked).
    const [found] = await tx.select({ sms: smsMessages, optedOut: patients.optedOut }).from(smsMessages)
      .leftJoin(patients, eq(patients.id, smsMessages.patientId)).where(eq(smsMessages.id, smsId))
      .for("update", { of: smsMessages });
    const sms = found?.sms;
    if (!sms || sms.twilioSid || !CLAIMABLE.has(sms.status)) return { kind: "skip" };
    if (sms.claimedBy && sms.claimedBy !== jobId && (await runningJobs(tx, [sms.claimedBy])).has(sms.claimedBy)) {
      return { kind: "busy", by: sms.claimedBy };
    }
    const now = deps.clock.now();
    const lookUpFirst = sms.status === "unknown";
    const skip = async (status: string, reason: string) => {
      await tx.update(smsMessages).set({ status, errorMessage: reason, updatedAt: now })
        .where(eq(smsMessages.id, sms.id));
      deps.metrics.smsSends.inc({ outcome: "skipped" });
      deps.log.info("sms not sent", { smsId: sms.id, reason });
      return { kind: "skip" } as const;
    };
    const optedOut = found.optedOut ?? false;
    if (optedOut && !lookUpFirst) return skip("skipped_opted_out", "patient opted out");
    if (!deps.twilio) {
      if (!lookUpFirst) return skip("logged", NOT_CONFIGURED);
      // Without credentials it cannot be looked up; it stays unknown for a run that has them.
      deps.log.warn(UNKNOWN_NOT_LOOKED_UP, { smsId: sms.id });
      return { kind: "skip" };
    }
    const [clinic] = await tx.select({ perSecond: clinics.smsPerSecond }).from(clinics)
      .where(eq(clinics.id, sms.clinicId));
    const pace = optedOut ? { kind: "now" as const, waitMs: 0 }
      : await reserveSlot(deps, tx, sms.from, clinic?.perSecond ?? 1);
    if (pace.kind === "later") {
      // Its number's next free slot is far off: come back then rather than hold a worker asleep until it.
      await queueSend(tx, sms.id, new Date(Date.now() + pace.inMs));
      return { kind: "later" };
    }
    const waitMs = pace.waitMs;
    await tx.update(smsMessages)
      .set({ status: "unknown", claimedBy: jobId, attempts: sms.attempts + 1, updatedAt: now })
      .where(eq(smsMessages.id, sms.id));
    return { kind: "go", sms, client: deps.twilio, lookUpFirst, maySend: !optedOut, waitMs };
  });
}

type Pace = { kind: "now"; waitMs: number } | { kind: "later"; inMs: number };

/**
 * Pacing per sending number (SPEC 8): each send takes the next free slot, 1/sms_per_second apart, shared by every
 * worker process; sends from one number may run in parallel jobs. A slot at most SMS_PACING_MAX_SLEEP_MS away is
 * taken and slept for; a later one is not taken, and the job comes back about when it frees.
 */
async function reserveSlot(
  deps: Pick<Deps, "clock" | "config">, tx: Tx, from: string, perSecond: number,
): Promise<Pace> {
  const gapMs = Math.ceil(1000 / Math.max(perSecond, 1));
  const now = deps.clock.now().toISOString();
  const maxSleep = deps.config.SMS_PACING_MAX_SLEEP_MS;
  const [taken] = await tx.execute<{ wait_ms: number }>(sql`
    insert into sms_senders (phone, next_send_at)
    values (${from}, ${now}::timestamptz + ${gapMs} * interval '1 millisecond')
    on conflict (phone) do update
      set next_send_at = greatest(sms_senders.next_send_at, ${now}::timestamptz) + ${gapMs} * interval '1 millisecond'
      where sms_senders.next_send_at <= ${now}::timestamptz + ${maxSleep} * interval '1 millisecond'
    returning (extract(epoch from next_send_at - ${now}::timestamptz) * 1000 - ${gapMs})::float8 as wait_ms`);
  if (taken) return { kind: "now", waitMs: Math.max(0, Number(taken.wait_ms)) };
  const [next] = await tx.execute<{ in_ms: number }>(sql`
    select (extract(epoch from next_send_at - ${now}::timestamptz) * 1000)::float8 as in_ms
    from sms_senders where phone = ${from}`);
  return { kind: "later", inMs: Math.max(0, Number(next?.in_ms ?? 0)) };
}

/** Writes what the attempt found out, with its effects, in the caller's transaction. */
async function recordOutcome(deps: Deps, tx: Tx, sms: Sms, outcome: Outcome, lastAttempt: boolean): Promise<Verdict> {
  const now = deps.clock.now();
  // Whatever the outcome, this attempt is over: its claim ends with it.
  const set = (fields: Partial<Sms>) => tx.update(smsMessages)
    .set({ ...fields, claimedBy: null, updatedAt: now }).where(eq(smsMessages.id, sms.id)).returning();
  switch (outcome.kind) {
    case "sent": {
      // Callbacks that outran this answer wait for the sid (marked unknown); the lock keeps them in step.
      await lockSid(tx, outcome.sid);
      await set({
        status: outcome.status, twilioSid: outcome.sid, sentAt: now,
        errorCode: null, errorMessage: null,
      });
      await requeueEarlyCallbacks(tx, outcome.sid);
      return { status: outcome.status, retry: false };
    }
    case "withheld":
      await set({ status: "skipped_opted_out", errorMessage: outcome.reason });
      return { status: "skipped_opted_out", retry: false };
    case "refused":
    case "not_sent": {
      const retry = outcome.kind === "not_sent" && !lastAttempt;
      const status = retry ? "pending" : "failed";
      const [row] = await set({ status, errorCode: outcome.code, errorMessage: errorText(outcome) });
      if (retry || !row) return { status, retry };
      if (outcome.code === "21610") {
        // Twilio knows the recipient replied STOP: keep our record in step, so nothing else is tried.
        if (sms.patientId) {
          await tx.update(patients).set({ optedOut: true, optedOutAt: now, optOutType: "TWILIO_21610" })
            .where(eq(patients.id, sms.patientId));
        }
      } else {
        // No status callback will come for a message Twilio does not have: the patient still hears from the
        // clinic by email, and support is alerted, as for a failed callback.
        await handleSmsFailure(deps, tx, row, { status, errorCode: outcome.code ?? undefined });
      }
      return { status, retry: false };
    }
    case "unknown": {
      const status = lastAttempt ? "unconfirmed" : "unknown";
      const [row] = await set({ status, errorCode: outcome.code, errorMessage: errorText(outcome) });
      // Out of attempts, and Twilio never said whether it has the message: not a failure (no "we could not text
      // you" email for a text that may have arrived), but a person should look.
      if (lastAttempt && row) await alertSmsUnconfirmed(deps, tx, row, errorText(outcome));
      return { status, retry: !lastAttempt };
    }
  }
}

function errorText(outcome: Extract<Outcome, { error: unknown }>): string {
  const { error } = outcome;
  const message = error instanceof Error ? error.message : String(error);
  const lookUp = outcome.kind === "unknown" && outcome.step === "look-up";
  return storableText(lookUp ? `look-up failed: ${message}` : message, 2000);
}

/** One log line and one metric per attempt, after its outcome has committed. */
function report(deps: Deps, sms: Sms, outcome: Outcome, verdict: Verdict) {
  const log = deps.log.child({ smsId: sms.id, kind: sms.kind });
  const fields = { to: sms.to, status: verdict.status };
  switch (outcome.kind) {
    case "sent":
      deps.metrics.smsSends.inc({ outcome: outcome.found ? "reconciled" : "sent" });
      if (outcome.found) log.info("sms had already reached Twilio; not sent again", { ...fields, sid: outcome.sid });
      else log.info("sms sent", { ...fields, sid: outcome.sid });
      return;
    case "withheld":
      deps.metrics.smsSends.inc({ outcome: "skipped" });
      log.info("sms not sent", { ...fields, reason: outcome.reason });
      return;
    default: {
      const detail = { ...fields, code: outcome.code, error: errorText(outcome) };
      deps.metrics.smsSends.inc({ outcome: verdict.retry ? "retry" : verdict.status });
      if (verdict.status === "unconfirmed") log.error("sms may have been sent; Twilio could not confirm it", detail);
      else if (verdict.status === "failed") {
        log.error("sms not sent", { ...detail, refused: outcome.kind === "refused" });
      }
      else log.warn("sms send not confirmed; will retry", { ...detail, mayBeOnTwilio: outcome.kind === "unknown" });
    }
  }
}
