import { asc, sql } from "drizzle-orm";
import { smsMessages } from "../../db/schema";
import { anyOfJson, type Tx } from "../db";
import type { Deps } from "../deps";
import {
  advances, DELIVERED_STATUSES, FAILURE_STATUSES, historyOnly, isSmsStatus, parseStatusCallback, type SmsStatus,
  type StatusCallback,
} from "../domain/sms-status";
import { type SmsRow, TRACKED_KINDS, UNKNOWN_SID } from "../effects/sms-status";
import type { Outcome, SetProcessor, WebhookEvent } from "./event-processor";

interface Callback { row: WebhookEvent; cb: StatusCallback & { status: SmsStatus } }

/**
 * Status callbacks as a set (process-webhook-batch.ts), for messages we sent whose callbacks report progress: one
 * statement each for the sid locks, the messages, the history rows, the messages' new statuses and their
 * appointments, where processTwilioStatus spends about eight per callback. Callbacks for one message are folded in
 * event order by the same rank table, so each gets the outcome it would have got alone, and the message and its
 * appointment end as they would have.
 * Callbacks for a sid we do not know are kept in the history and ignored, as one by one.
 * Left to processTwilioStatus, one by one: a callback that is not a first attempt (a replay may find its history
 * row), reports a failure or an error code (email fallback, alerts), `read`, or an unknown status; one for a
 * conversation reply; every callback of a sid any of those touch; and the callbacks of two messages about one
 * appointment.
 */
export const processTwilioStatusSet: SetProcessor = async (deps, tx, rows) => {
  const bySid = groupBySid(rows);
  if (bySid.size === 0) return new Map();
  const sids = [...bySid.keys()].sort();
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext('sms-sid:' || sid))
    from (select value as sid from json_array_elements_text(${JSON.stringify(sids)}::json) order by 1) s`);
  const messages = await tx.select().from(smsMessages)
    .where(sql`${smsMessages.twilioSid} = ${anyOfJson(sids, "text")}`)
    .orderBy(asc(smsMessages.id)).for("update");
  const sets = setsToApply(messages, bySid);
  const known = new Set(messages.map((sms) => sms.twilioSid));
  const unknown = [...bySid].filter(([sid]) => !known.has(sid)).flatMap(([, callbacks]) => callbacks);
  if (sets.length === 0 && unknown.length === 0) return new Map();

  const outcomes = new Map<number, Outcome>();
  const history: HistoryRow[] = [];
  const moves: SmsStatus[] = [];
  // Not an error, as one by one: a message sent by someone else on the account, or whose sid send-sms has not
  // stored yet (it queues these callbacks again when it does, finding them by their history rows).
  for (const { row, cb } of unknown) {
    history.push({
      twilio_sid: cb.sid, sms_message_id: null, webhook_event_id: row.id, status: cb.status,
      raw_dlr_done_date: cb.rawDlrDoneDate ?? null, payload: cb.params,
    });
    outcomes.set(row.id, { status: "ignored", reason: UNKNOWN_SID });
  }
  const moved: { id: string; status: SmsStatus }[] = [];
  const tracked: { appointment_id: string; sms_id: string; status: SmsStatus; delivered: boolean; at: Date }[] = [];
  for (const { sms, callbacks } of sets) {
    let current = sms.status;
    let last: Callback | undefined;
    for (const callback of callbacks) {
      const { row, cb } = callback;
      history.push({
        twilio_sid: cb.sid, sms_message_id: sms.id, webhook_event_id: row.id, status: cb.status,
        raw_dlr_done_date: cb.rawDlrDoneDate ?? null, payload: cb.params,
      });
      if (!advances(current, cb.status)) {
        outcomes.set(row.id, { status: "processed", reason: historyOnly(current, cb.status) });
        continue;
      }
      current = cb.status;
      last = callback;
      moves.push(cb.status);
      outcomes.set(row.id, { status: "processed" });
    }
    if (!last) continue;
    moved.push({ id: sms.id, status: last.cb.status });
    if (sms.appointmentId && TRACKED_KINDS.includes(sms.kind)) {
      const delivered = DELIVERED_STATUSES.has(last.cb.status);
      tracked.push({
        appointment_id: sms.appointmentId, sms_id: sms.id, status: last.cb.status, delivered, at: last.row.receivedAt,
      });
    }
  }

  await tx.execute(sql`insert into sms_status_events (twilio_sid, sms_message_id, webhook_event_id, status,
      raw_dlr_done_date, payload)
    select * from json_to_recordset(${JSON.stringify(history)}::json) as v(twilio_sid text, sms_message_id uuid,
      webhook_event_id integer, status text, raw_dlr_done_date text, payload jsonb)`);
  if (moved.length > 0) {
    await tx.execute(sql`update sms_messages s set status = v.status, updated_at = ${deps.clock.now().toISOString()}
        ::timestamptz
      from json_to_recordset(${JSON.stringify(moved)}::json) as v(id uuid, status text)
      where s.id = v.id and s.id = ${anyOfJson(moved.map((m) => m.id), "uuid")}`);
  }
  // applyToAppointment (src/effects/sms-status.ts) for each message's last move: the appointment follows its
  // latest reminder or confirmation only.
  if (tracked.length > 0) {
    // Locked in id order first, as the Stripe set does: two jobs updating the same appointments never deadlock.
    const ids = [...new Set(tracked.map((t) => t.appointment_id))];
    await tx.execute(sql`select id from appointments where id = ${anyOfJson(ids, "uuid")} order by id for update`);
    await tx.execute(sql`update appointments a
      set sms_status = v.status, sms_delivered = v.delivered, sms_delivered_at = case when v.delivered then v.at end,
        updated_at = v.at
      from json_to_recordset(${JSON.stringify(tracked)}::json)
        as v(appointment_id uuid, sms_id uuid, status text, delivered boolean, at timestamptz)
      where a.id = v.appointment_id and a.id = ${anyOfJson(tracked.map((t) => t.appointment_id), "uuid")}
        and not exists (select 1 from sms_messages newer
        where newer.appointment_id = v.appointment_id and newer.kind in ('reminder', 'confirmation')
          and newer.twilio_sid is not null and newer.id <> v.sms_id
          and newer.created_at > (select created_at from sms_messages own where own.id = v.sms_id))`);
  }
  for (const status of moves) deps.metrics.smsStatus.inc({ status });
  return outcomes;
};

interface HistoryRow {
  twilio_sid: string;
  sms_message_id: string | null;
  webhook_event_id: number;
  status: string;
  raw_dlr_done_date: string | null;
  payload: Record<string, string>;
}

/** First-attempt callbacks by sid, in event order; a sid with any callback the set form does not take is left. */
function groupBySid(rows: WebhookEvent[]): Map<string, Callback[]> {
  const bySid = new Map<string, Callback[]>();
  const left = new Set<string>();
  for (const row of rows) {
    const cb = parseStatusCallback(new URLSearchParams(row.rawBody));
    if (!cb) continue;
    const plain = row.attempts === 0 && isSmsStatus(cb.status) && cb.status !== "read"
      && !FAILURE_STATUSES.has(cb.status) && !cb.errorCode;
    if (!plain) left.add(cb.sid);
    else bySid.set(cb.sid, [...(bySid.get(cb.sid) ?? []), { row, cb: cb as Callback["cb"] }]);
  }
  for (const sid of left) bySid.delete(sid);
  return bySid;
}

/** The messages found for the callbacks, but for replies and two messages of one appointment (left one by one). */
function setsToApply(messages: SmsRow[], bySid: Map<string, Callback[]>) {
  const perAppointment = new Map<string, number>();
  for (const sms of messages) {
    if (sms.appointmentId) perAppointment.set(sms.appointmentId, (perAppointment.get(sms.appointmentId) ?? 0) + 1);
  }
  return messages.flatMap((sms) => {
    const callbacks = bySid.get(sms.twilioSid!);
    if (!callbacks || sms.kind === "reply") return [];
    if (sms.appointmentId && perAppointment.get(sms.appointmentId)! > 1) return [];
    return [{ sms, callbacks }];
  });
}
