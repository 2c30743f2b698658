import { smsMessages } from "../../db/schema";
import type { Executor } from "../db";
import { enqueue } from "../queue";

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
    await enqueue(tx, "send-sms", { smsId: id }, { jobKey: `sms:${id}` });
  }
  return id;
}
