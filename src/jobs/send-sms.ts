import { Type as T } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { eq, inArray, sql } from "drizzle-orm";
import type { Task } from "graphile-worker";
import twilio from "twilio";
import { clinics, patients, smsMessages } from "../../db/schema";
import { retryOnStaleConnection } from "../db";
import type { Deps } from "../deps";
import { storableText } from "../domain/text";
import { handleSmsFailure } from "../effects/sms-failure";
import { lockSid, requeueEarlyCallbacks } from "../effects/sms-status";
import type { Tx } from "./enqueue";

const Payload = T.Object({ smsId: T.String({ minLength: 36, maxLength: 36 }) });
export const STATUS_CALLBACK_PATH = "/api/v1/webhooks/twilio/sms-status";

type Sms = typeof smsMessages.$inferSelect;
/** `check`: an earlier attempt may have reached Twilio (it timed out, or the worker died mid-call). */
type Claim = { kind: "skip" } | { kind: "send" | "check"; sms: Sms; waitMs: number };

/**
 * Sends one recorded SMS through the twilio SDK. The row is marked `sending` (committed) before the API call,
 * so a retry knows a text may already be out and looks it up on Twilio before sending again: a patient is
 * never texted twice. Twilio 4xx answers are recorded and not retried; 429, 5xx and network errors are.
 */
export function sendSmsTask(deps: Deps): Task {
  return async (payload, helpers) => {
    if (!Value.Check(Payload, payload)) {
      deps.log.error("send-sms: bad payload, giving up", { payload });
      return;
    }
    const claim = await claimSend(deps, payload.smsId);
    if (claim.kind === "skip") return;
    const { sms } = claim;
    const log = deps.log.child({ smsId: sms.id, kind: sms.kind });
    const client = deps.twilio!;
    const address = (n: string) => (sms.channel === "WHATSAPP" ? `whatsapp:${n}` : n);
    // What Twilio says is decided inside the try; recording it is not: once Twilio has the message, a database
    // error while saving its sid must not count as a failed send (it would text again, or alert needlessly).
    let sent: { sid: string; status: string; reconciled: boolean };
    try {
      const earlier = claim.kind === "check" ? await findEarlierSend(deps, client, sms, address) : undefined;
      if (earlier) {
        sent = { sid: earlier.sid, status: earlier.status, reconciled: true };
      } else {
        if (claim.waitMs > 0) await deps.sleep(claim.waitMs);
        const base = deps.config.PUBLIC_URL?.replace(/\/+$/, "");
        const message = await client.messages.create({
          to: address(sms.to), from: address(sms.from), body: sms.body,
          ...(base ? { statusCallback: base + STATUS_CALLBACK_PATH } : {}),
        });
        sent = { sid: message.sid, status: message.status, reconciled: false };
      }
    } catch (error) {
      const kind = classify(error);
      const message = error instanceof Error ? error.message : String(error);
      const code = error instanceof twilio.RestException ? String(error.code ?? error.status) : null;
      const lastAttempt = helpers.job.attempts >= helpers.job.max_attempts;
      const status = kind === "permanent" || lastAttempt ? "failed" : kind === "ambiguous" ? "sending" : "pending";
      await deps.db.transaction(async (tx) => {
        const [row] = await tx.update(smsMessages)
          .set({ status, errorCode: code, errorMessage: storableText(message, 2000), updatedAt: deps.clock.now() })
          .where(eq(smsMessages.id, sms.id)).returning();
        // Twilio refused it, so no status callback will come: the patient still hears from the clinic by email,
        // and support is alerted, as for a failed callback. Not for 21610: the patient asked for no texts.
        if (status === "failed" && code !== "21610" && row) await handleSmsFailure(deps, tx, row, { status, errorCode: code ?? undefined });
      });
      if (code === "21610" && sms.patientId) {
        // Twilio knows the recipient replied STOP: keep our record in step so nothing else is tried.
        await deps.db.update(patients).set({ optedOut: true, optedOutAt: deps.clock.now(), optOutType: "TWILIO_21610" })
          .where(eq(patients.id, sms.patientId));
      }
      deps.metrics.smsSends.inc({ outcome: status === "failed" ? "failed" : "retry" });
      if (status === "failed") {
        log.error("sms not sent", { to: sms.to, code, error: message, permanent: kind === "permanent" });
        return;
      }
      log.warn("sms send failed; will retry", { to: sms.to, code, error: message, ambiguous: kind === "ambiguous" });
      throw error;
    }
    // A failure here throws with the row left `sending`: the retry then checks Twilio before sending again.
    await retryOnStaleConnection(() => recordSent(deps, sms.id, sent.sid, sent.status));
    deps.metrics.smsSends.inc({ outcome: sent.reconciled ? "reconciled" : "sent" });
    if (sent.reconciled) log.info("sms had already reached Twilio; not sent again", { sid: sent.sid });
    else log.info("sms sent", { sid: sent.sid, to: sms.to });
  };
}

/** Locks the row, re-checks opt-out, reserves the sending number's next slot and marks the row `sending`. */
async function claimSend(deps: Deps, smsId: string): Promise<Claim> {
  return deps.db.transaction(async (tx) => {
    const [sms] = await tx.select().from(smsMessages).where(eq(smsMessages.id, smsId)).for("update");
    if (!sms || (sms.status !== "pending" && sms.status !== "sending")) return { kind: "skip" };
    const skip = async (status: string, reason: string) => {
      await tx.update(smsMessages).set({ status, errorMessage: reason, updatedAt: deps.clock.now() }).where(eq(smsMessages.id, sms.id));
      deps.metrics.smsSends.inc({ outcome: "skipped" });
      deps.log.info("sms not sent", { smsId: sms.id, reason });
      return { kind: "skip" } as const;
    };
    if (sms.patientId) {
      const [patient] = await tx.select({ optedOut: patients.optedOut }).from(patients).where(eq(patients.id, sms.patientId));
      if (patient?.optedOut) return skip("skipped_opted_out", "patient opted out");
    }
    if (!deps.twilio) return skip("logged", "Twilio is not configured (TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN)");
    const [clinic] = await tx.select({ perSecond: clinics.smsPerSecond }).from(clinics).where(eq(clinics.id, sms.clinicId));
    const waitMs = await reserveSlot(deps, tx, sms.from, clinic?.perSecond ?? 1);
    await tx.update(smsMessages).set({ status: "sending", attempts: sms.attempts + 1, updatedAt: deps.clock.now() })
      .where(eq(smsMessages.id, sms.id));
    return { kind: sms.status === "sending" ? "check" : "send", sms, waitMs };
  });
}

/**
 * Pacing per sending number (SPEC 8): each send takes the next free slot, 1/sms_per_second apart, shared by every
 * worker process. Returns how long to wait for it (the `sms:<from>` queue runs one send per number at a time).
 */
async function reserveSlot(deps: Deps, tx: Tx, from: string, perSecond: number) {
  const gapMs = Math.ceil(1000 / Math.max(perSecond, 1));
  const now = deps.clock.now().toISOString();
  const rows = await tx.execute<{ wait_ms: number }>(sql`
    insert into sms_senders (phone, next_send_at) values (${from}, ${now}::timestamptz + ${gapMs} * interval '1 millisecond')
    on conflict (phone) do update
      set next_send_at = greatest(sms_senders.next_send_at, ${now}::timestamptz) + ${gapMs} * interval '1 millisecond'
    returning (extract(epoch from next_send_at - ${now}::timestamptz) * 1000 - ${gapMs})::float8 as wait_ms`);
  return Math.max(0, Number(rows[0]?.wait_ms ?? 0));
}

/** Stores the sid; status callbacks that arrived before it (marked unknown) are processed again now. */
async function recordSent(deps: Deps, id: string, sid: string, status: string) {
  await deps.db.transaction(async (tx) => {
    await lockSid(tx, sid);
    await tx.update(smsMessages)
      .set({ status, twilioSid: sid, sentAt: deps.clock.now(), updatedAt: deps.clock.now(), errorCode: null, errorMessage: null })
      .where(eq(smsMessages.id, id));
    await requeueEarlyCallbacks(tx, sid);
  });
}

/** The message an earlier, unanswered attempt may have created: same numbers and body, created since we recorded it. */
async function findEarlierSend(deps: Deps, client: NonNullable<Deps["twilio"]>, sms: Sms, address: (n: string) => string) {
  const recent = await client.messages.list({ to: address(sms.to), from: address(sms.from), limit: 50 });
  const since = sms.createdAt.getTime() - 5 * 60_000; // tolerate clock skew between us and Twilio
  const candidates = recent.filter((m) => m.body === sms.body && (!m.dateCreated || m.dateCreated.getTime() >= since));
  if (candidates.length === 0) return undefined;
  // An identical SMS we sent earlier owns its sid already: only a message no row has claimed can be this one.
  const claimed = new Set((await deps.db.select({ sid: smsMessages.twilioSid }).from(smsMessages)
    .where(inArray(smsMessages.twilioSid, candidates.map((m) => m.sid)))).map((r) => r.sid));
  return candidates.find((m) => !claimed.has(m.sid));
}

/** permanent: Twilio refused it (4xx); retry: it never got there or Twilio failed (5xx, 429); ambiguous: it may be out. */
function classify(error: unknown): "permanent" | "retry" | "ambiguous" {
  if (error instanceof twilio.RestException) return error.status >= 400 && error.status < 500 && error.status !== 429 ? "permanent" : "retry";
  const code = (error as { code?: string }).code;
  if (code && ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"].includes(code)) return "retry";
  return "ambiguous";
}
