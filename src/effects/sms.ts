import { sql } from "drizzle-orm";
import { smsMessages } from "../../db/schema";
import type { Executor } from "../db";
import { DEFAULT_MAX_ATTEMPTS, enqueue } from "../queue";

export interface SmsInput {
  dedupeKey: string;
  kind: string;
  clinic: { id: string; phone: string };
  /** The recipient; `id` is null for a sender who is no patient (a reconciled message's unknown-number reply). */
  patient: { id: string | null; phone: string; optedOut: boolean };
  appointmentId?: string;
  channel?: "SMS" | "WHATSAPP";
  body: string;
}

/** The send job of an SMS: its task, and its key (one pending send per SMS). */
export const SEND_TASK = "send-sms";
export const sendKey = (smsId: string) => `sms:${smsId}`;

/** Queues an SMS's own send job, now or at `runAt` (a pending one with its key is replaced). */
export async function queueSend(tx: Executor, smsId: string, runAt?: Date): Promise<void> {
  await enqueue(tx, SEND_TASK, { smsId }, { jobKey: sendKey(smsId), runAt });
}

/**
 * Records an outbound SMS and queues its send. An opted-out patient gets a row marked
 * `skipped_opted_out` and no job, so the decision stays visible.
 */
export async function queueSms(tx: Executor, sms: SmsInput): Promise<string | undefined> {
  const rows = await tx.insert(smsMessages).values({
    dedupeKey: sms.dedupeKey,
    kind: sms.kind,
    clinicId: sms.clinic.id,
    patientId: sms.patient.id,
    appointmentId: sms.appointmentId,
    channel: sms.channel ?? "SMS",
    to: sms.patient.phone,
    from: sms.clinic.phone,
    body: sms.body,
    status: sms.patient.optedOut ? "skipped_opted_out" : "pending",
  }).onConflictDoNothing().returning({ id: smsMessages.id });
  const id = rows[0]?.id;
  if (id && !sms.patient.optedOut) {
    // No named queue per number: pacing lives in sms_senders, and one slow send must not hold the clinic's others.
    await queueSend(tx, id);
  }
  return id;
}

/**
 * Most SMS one send job holds (queueSmsSet): four sends at a time, each answered by Twilio in well under a second,
 * end a job within seconds, so a shutdown or a retry touches few of them.
 */
export const SEND_BATCH = 50;

/**
 * queueSms for many messages in one statement: the rows (a dedupe key already there skips its message) and, for
 * the new ones not opted out, send jobs holding up to SEND_BATCH each (send-sms's batch form: `[{smsId}, ...]`,
 * unkeyed; each entry is sent as a job of its own would send it, and only the entries that fail are retried).
 */
export async function queueSmsSet(tx: Executor, list: SmsInput[]): Promise<void> {
  if (list.length === 0) return;
  const rows = list.map((sms) => ({
    dedupe_key: sms.dedupeKey, kind: sms.kind, clinic_id: sms.clinic.id, patient_id: sms.patient.id,
    appointment_id: sms.appointmentId ?? null, channel: sms.channel ?? "SMS", to: sms.patient.phone,
    from: sms.clinic.phone, body: sms.body, status: sms.patient.optedOut ? "skipped_opted_out" : "pending",
  }));
  await tx.execute(sql`with inserted as (
      insert into sms_messages (dedupe_key, kind, clinic_id, patient_id, appointment_id, channel, "to", "from", body,
        status)
      select * from json_to_recordset(${JSON.stringify(rows)}::json) as v(dedupe_key text, kind text, clinic_id uuid,
        patient_id uuid, appointment_id uuid, channel text, "to" text, "from" text, body text, status text)
      on conflict do nothing
      returning id, status)
    select graphile_worker.add_jobs(array(
      select json_populate_record(null::graphile_worker.job_spec, json_build_object(
        'identifier', ${SEND_TASK}::text, 'payload', batch, 'max_attempts', ${DEFAULT_MAX_ATTEMPTS}::int))
      from (select json_agg(json_build_object('smsId', id)) as batch
        from (select id, (row_number() over () - 1) / ${SEND_BATCH} as chunk from inserted where status = 'pending') n
        group by chunk) b))`);
}
