import { inArray, sql } from "drizzle-orm";
import twilio from "twilio";
import { smsMessages } from "../../db/schema";
import { anyOfJson, type Tx } from "../db";
import type { Deps, TwilioClient } from "../deps";
import { TWILIO_STATUS_PATH } from "../domain/webhooks";
import { JobAborted, unlessAborted } from "../abort";
import { settle } from "../settled";

type Sms = typeof smsMessages.$inferSelect;

/** Our statuses a send job may act on; once Twilio has the message (a sid), its statuses take over. */
export const CLAIMABLE = new Set(["pending", "unknown"]);
/** Why an SMS was recorded `logged`, not sent. */
export const NOT_CONFIGURED = "Twilio is not configured (TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN)";
/** The warning for an `unknown` SMS (an earlier run with Twilio may have sent it) that stays so without Twilio. */
export const UNKNOWN_NOT_LOOKED_UP = "sms may be on Twilio but Twilio is not configured to look it up";

/** Another job's attempt on the same SMS is under way: this one runs again later (graphile-worker's backoff). */
export class SendUnderWay extends Error {
  readonly code = "SEND_UNDER_WAY";
  constructor(jobId: string) {
    super(`another attempt to send this SMS is under way (job ${jobId})`);
  }
}

/**
 * Which of these jobs are running: graphile-worker keeps a job locked until its outcome is recorded, and unlocks the
 * jobs of a worker that died (src/jobs/heartbeat.ts). A finished job is gone or unlocked. A claim made by a running
 * job is that job's attempt under way.
 */
export async function runningJobs(tx: Tx, jobIds: string[]): Promise<Set<string>> {
  const rows = await tx.execute<{ id: string }>(sql`select id::text from graphile_worker.jobs
    where id = ${anyOfJson(jobIds, "bigint")} and locked_at is not null`);
  return new Set(rows.map((row) => row.id));
}

/** A claimed SMS and what the claim allows (src/jobs/send-sms.ts). */
export interface SmsToSend {
  sms: Sms;
  client: TwilioClient;
  /** An earlier attempt may have reached Twilio: look it up before sending. */
  lookUpFirst: boolean;
  /** False when the patient opted out after an earlier attempt: only the look-up may run. */
  maySend: boolean;
  /** Pacing: how long to wait for the sending number's slot. */
  waitMs: number;
}

/** What one attempt found out about the message on Twilio. */
export type Outcome =
  /** Twilio has it: created now, or `found` by the look-up of an earlier attempt. */
  | { kind: "sent"; sid: string; status: string; found: boolean }
  /** Twilio answered 4xx: it holds no message, and sending again cannot help. */
  | { kind: "refused"; error: unknown; code: string }
  /** It never reached Twilio (nothing listening, 429, stopped before the call): safe to send again. */
  | { kind: "not_sent"; error: unknown; code: string | null }
  /** It may be on Twilio (a timeout, a 5xx, stopped during the call, a failed look-up): look up before sending. */
  | { kind: "unknown"; error: unknown; code: string | null; step: "look-up" | "send" }
  /** The patient opted out after an earlier attempt, and the look-up found that attempt never reached Twilio. */
  | { kind: "withheld"; reason: string };

/**
 * One attempt: the look-up of an earlier attempt when the claim asks for it, then (pacing permitting) the send.
 * Every Twilio call gives up when the job is aborted (shutdown); an aborted call may have reached Twilio.
 */
export async function attemptSend(deps: Pick<Deps, "config" | "db" | "sleep">, claim: SmsToSend, signal?: AbortSignal)
  : Promise<Outcome> {
  const { sms, client } = claim;
  if (claim.lookUpFirst) {
    const earlier = await settle(unlessAborted(signal, () => findEarlierSend(deps, client, sms)));
    if (!earlier.ok) return { kind: "unknown", error: earlier.error, code: codeOf(earlier.error), step: "look-up" };
    if (earlier.value) return { kind: "sent", sid: earlier.value.sid, status: earlier.value.status, found: true };
    if (!claim.maySend) {
      return { kind: "withheld", reason: "patient opted out; the earlier attempt never reached Twilio" };
    }
  }
  if (claim.waitMs > 0) {
    const waited = await settle(unlessAborted(signal, () => deps.sleep(claim.waitMs)));
    if (!waited.ok) return { kind: "not_sent", error: waited.error, code: null };
  }
  const base = deps.config.PUBLIC_URL?.replace(/\/+$/, "");
  const created = await settle(unlessAborted(signal, () => client.messages.create({
    to: address(sms, sms.to), from: address(sms, sms.from), body: sms.body,
    ...(base ? { statusCallback: base + TWILIO_STATUS_PATH } : {}),
  })));
  if (created.ok) return { kind: "sent", sid: created.value.sid, status: created.value.status, found: false };
  return classify(created.error);
}

const address = (sms: Sms, number: string) => (sms.channel === "WHATSAPP" ? `whatsapp:${number}` : number);

/**
 * The message an earlier, unanswered attempt may have created: same numbers and body, created since the SMS was
 * recorded. An identical SMS we sent earlier owns its sid already, so only a message no row has claimed can be it.
 */
async function findEarlierSend(deps: Pick<Deps, "db">, client: TwilioClient, sms: Sms) {
  const recent = await client.messages.list({ to: address(sms, sms.to), from: address(sms, sms.from), limit: 50 });
  const since = sms.createdAt.getTime() - 5 * 60_000; // tolerate clock skew between us and Twilio
  const candidates = recent.filter((m) => m.body === sms.body && (!m.dateCreated || m.dateCreated.getTime() >= since));
  if (candidates.length === 0) return undefined;
  const claimed = new Set((await deps.db.select({ sid: smsMessages.twilioSid }).from(smsMessages)
    .where(inArray(smsMessages.twilioSid, candidates.map((m) => m.sid)))).map((r) => r.sid));
  return candidates.find((m) => !claimed.has(m.sid));
}

/** Network errors raised before a request could be written: Twilio never saw it. */
const NEVER_CONNECTED = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

/**
 * A failed create. 4xx: refused (no message exists). 429 and a connection never made: not sent. A 5xx, a timeout,
 * a reset connection, an abort during the call, anything else: Twilio may have created the message.
 */
function classify(error: unknown): Exclude<Outcome, { kind: "sent" | "withheld" }> {
  const code = codeOf(error);
  if (error instanceof twilio.RestException) {
    if (error.status === 429) return { kind: "not_sent", error, code };
    if (error.status >= 400 && error.status < 500) {
      return { kind: "refused", error, code: code ?? String(error.status) };
    }
    return { kind: "unknown", error, code, step: "send" };
  }
  if (error instanceof JobAborted) {
    return error.started ? { kind: "unknown", error, code, step: "send" } : { kind: "not_sent", error, code };
  }
  const network = (error as { code?: unknown } | null)?.code;
  if (typeof network === "string" && NEVER_CONNECTED.has(network)) return { kind: "not_sent", error, code };
  return { kind: "unknown", error, code, step: "send" };
}

/** Twilio's error code (21211, 20500, ...) when Twilio answered with one. */
function codeOf(error: unknown): string | null {
  return error instanceof twilio.RestException ? String(error.code ?? error.status) : null;
}
