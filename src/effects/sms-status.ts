import { and, eq, inArray, sql } from "drizzle-orm";
import { appointments, messages, smsMessages, smsStatusEvents, webhookEvents } from "../../db/schema";
import type { Executor } from "../db";
import { DELIVERED_STATUSES, type SmsStatus, type StatusCallback } from "../domain/sms-status";
import { enqueue } from "../queue";

export type SmsRow = typeof smsMessages.$inferSelect;

/**
 * The reason a callback for a sid we do not (yet) know is marked with; send-sms looks for it once the sid is stored.
 */
export const UNKNOWN_SID = "unknown MessageSid";

/**
 * Serialises everything about one MessageSid: a callback being processed, and the send job storing the sid
 * Twilio returned. Without it a callback could miss a sid whose write is committing, and send-sms could miss
 * that callback being marked unknown.
 */
export async function lockSid(tx: Executor, sid: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`sms-sid:${sid}`}))`);
}

/** One history row per callback event; processing the same event again (a replay) only links it. */
export async function recordStatusEvent(
  tx: Executor, webhookEventId: number, cb: StatusCallback, smsId: string | undefined,
) {
  const linked = await tx.update(smsStatusEvents).set({ smsMessageId: smsId ?? null })
    .where(and(eq(smsStatusEvents.twilioSid, cb.sid), eq(smsStatusEvents.webhookEventId, webhookEventId)))
    .returning({ id: smsStatusEvents.id });
  if (linked.length > 0) return;
  await tx.insert(smsStatusEvents).values({
    twilioSid: cb.sid, smsMessageId: smsId ?? null, webhookEventId, status: cb.status,
    errorCode: cb.errorCode ?? null, rawDlrDoneDate: cb.rawDlrDoneDate ?? null, payload: cb.params,
  });
}

/**
 * The appointment's sms_status / sms_delivered / sms_delivered_at describe its latest reminder or confirmation:
 * a late callback for an older one does not overwrite what the newer one reported.
 */
export async function applyToAppointment(tx: Executor, sms: SmsRow, status: SmsStatus, at: Date): Promise<boolean> {
  if (!sms.appointmentId || !TRACKED_KINDS.includes(sms.kind)) return false;
  const delivered = DELIVERED_STATUSES.has(status);
  const rows = await tx.update(appointments).set({
    smsStatus: status,
    smsDelivered: delivered,
    // `read` follows `delivered`: the delivery time stays the one `delivered` reported.
    smsDeliveredAt: status === "read"
      ? sql`coalesce(case when ${appointments.smsDelivered} then ${appointments.smsDeliveredAt} end,
        ${at.toISOString()}::timestamptz)`
      : delivered ? at : null,
    updatedAt: at,
  }).where(and(
    eq(appointments.id, sms.appointmentId),
    sql`not exists (select 1 from sms_messages newer where newer.appointment_id = ${sms.appointmentId}
      and newer.kind in ('reminder', 'confirmation') and newer.twilio_sid is not null and newer.id <> ${sms.id}
      and newer.created_at > (select created_at from sms_messages own where own.id = ${sms.id}))`,
  )).returning({ id: appointments.id });
  return rows.length > 0;
}
export const TRACKED_KINDS = ["reminder", "confirmation"];

/**
 * A worker reply (kind `reply`, dedupe key `reply:<inbound MessageSid>`) is also the conversation's BOT message
 * whose external_id is that inbound sid (src/jobs/twilio-sms-event.ts): the BOT message id, if there is one.
 */
export async function replyMessageId(tx: Executor, sms: SmsRow): Promise<string | undefined> {
  if (sms.kind !== "reply" || !sms.dedupeKey.startsWith("reply:")) return undefined;
  const inboundSid = sms.dedupeKey.slice("reply:".length);
  const [row] = await tx.select({ id: messages.id }).from(messages)
    .where(and(eq(messages.externalId, inboundSid), eq(messages.type, "BOT")));
  return row?.id;
}

/**
 * Twilio can call back before the send job has stored the sid (the callback outruns the API answer). Those
 * callbacks were marked ignored as unknown; once the sid is stored they are processed again. Call under lockSid.
 * Runs for every stored sid, so it finds them by exact sid through sms_status_events' index (each such callback
 * was kept in the history, sid and event id, in the transaction that marked it ignored), not by a key prefix.
 */
export async function requeueEarlyCallbacks(tx: Executor, sid: string): Promise<number> {
  const history = tx.select({ eventId: smsStatusEvents.webhookEventId }).from(smsStatusEvents)
    .where(eq(smsStatusEvents.twilioSid, sid));
  const early = await tx.update(webhookEvents).set({ status: "pending", lastError: null, processedAt: null })
    .where(and(
      inArray(webhookEvents.id, history), eq(webhookEvents.provider, "twilio-status"),
      eq(webhookEvents.status, "ignored"), eq(webhookEvents.lastError, UNKNOWN_SID),
    )).returning({ id: webhookEvents.id });
  for (const { id } of early) {
    await enqueue(tx, "process-webhook", { eventId: id, replay: true }, { jobKey: `event:${id}` });
  }
  return early.length;
}
