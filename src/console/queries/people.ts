import { and, asc, desc, eq, ilike, inArray, or, sql } from "drizzle-orm";
import {
  appointmentHistory,
  appointments,
  clinics,
  emailOutbox,
  patients,
  smsMessages,
  smsStatusEvents,
  transactions,
} from "../../../db/schema";
import type { Db } from "../../db";
import { normalizePhone } from "../../domain/phone";
import { APPOINTMENT_STATUSES } from "../../domain/appointments";
import { SEND_TASK, sendKey } from "../../effects/sms";
import { cursorOf, olderThan, oneOf, page, PAGE_SIZE, parseCursor, text } from "./keyset";

/** Appointments newest first; `q` is a patient's phone (any common spelling) or part of their name. */
export async function listAppointments(db: Db, query: Record<string, unknown>) {
  const q = text(query.q, 100);
  const phone = q ? normalizePhone(q) : undefined;
  const status = oneOf(query.status, APPOINTMENT_STATUSES);
  const rows = await db
    .select({
      id: appointments.id,
      startsAt: appointments.startsAt,
      status: appointments.status,
      depositAmount: appointments.depositAmount,
      currency: appointments.currency,
      depositPaid: appointments.depositPaid,
      smsStatus: appointments.smsStatus,
      createdAt: appointments.createdAt,
      patientName: patients.name,
      patientPhone: patients.phone,
      clinicName: clinics.name,
      cursor: cursorOf(appointments.createdAt, appointments.id),
    })
    .from(appointments)
    .innerJoin(patients, eq(patients.id, appointments.patientId))
    .innerJoin(clinics, eq(clinics.id, appointments.clinicId))
    .where(
      and(
        phone
          ? eq(patients.phone, phone)
          : q
            ? ilike(patients.name, `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)
            : undefined,
        status ? eq(appointments.status, status) : undefined,
        olderThan(appointments.createdAt, appointments.id, parseCursor(query.before), "uuid"),
      ),
    )
    .orderBy(desc(appointments.createdAt), desc(appointments.id))
    .limit(PAGE_SIZE + 1);
  return page(rows);
}

export async function getAppointment(db: Db, id: string) {
  const [row] = await db.select().from(appointments).where(eq(appointments.id, id));
  if (!row) return undefined;
  const [patient] = await db.select().from(patients).where(eq(patients.id, row.patientId));
  const [clinic] = await db.select().from(clinics).where(eq(clinics.id, row.clinicId));
  const history = await db
    .select()
    .from(appointmentHistory)
    .where(eq(appointmentHistory.appointmentId, id))
    .orderBy(asc(appointmentHistory.id));
  const sms = await db
    .select()
    .from(smsMessages)
    .where(eq(smsMessages.appointmentId, id))
    .orderBy(asc(smsMessages.createdAt))
    .limit(100);
  const sids = sms.map((s) => s.twilioSid).filter((s): s is string => !!s);
  const statuses = sids.length
    ? await db
        .select()
        .from(smsStatusEvents)
        .where(inArray(smsStatusEvents.twilioSid, sids))
        .orderBy(asc(smsStatusEvents.id))
    : [];
  const emails =
    patient?.email || sms.some((s) => s.fallbackEmailId)
      ? await db
          .select()
          .from(emailOutbox)
          .where(
            or(
              patient?.email ? eq(emailOutbox.to, patient.email) : undefined,
              sms.some((s) => s.fallbackEmailId)
                ? inArray(
                    emailOutbox.id,
                    sms.flatMap((s) => (s.fallbackEmailId ? [s.fallbackEmailId] : [])),
                  )
                : undefined,
            ),
          )
          .orderBy(desc(emailOutbox.createdAt))
          .limit(50)
      : [];
  const ledger = await db
    .select()
    .from(transactions)
    .where(eq(transactions.appointmentId, id))
    .orderBy(asc(transactions.createdAt));
  return { appointment: row, patient: patient!, clinic: clinic!, history, sms, statuses, emails, ledger };
}

export const EMAIL_STATUSES = ["pending", "sent", "failed", "logged"] as const;

export async function listEmails(db: Db, query: Record<string, unknown>) {
  const status = oneOf(query.status, EMAIL_STATUSES);
  const to = text(query.to, 320);
  const rows = await db
    .select({
      id: emailOutbox.id,
      kind: emailOutbox.kind,
      to: emailOutbox.to,
      subject: emailOutbox.subject,
      status: emailOutbox.status,
      attempts: emailOutbox.attempts,
      lastError: emailOutbox.lastError,
      createdAt: emailOutbox.createdAt,
      sentAt: emailOutbox.sentAt,
      cursor: cursorOf(emailOutbox.createdAt, emailOutbox.id),
    })
    .from(emailOutbox)
    .where(
      and(
        status ? eq(emailOutbox.status, status) : undefined,
        to ? eq(emailOutbox.to, to) : undefined,
        olderThan(emailOutbox.createdAt, emailOutbox.id, parseCursor(query.before), "uuid"),
      ),
    )
    .orderBy(desc(emailOutbox.createdAt), desc(emailOutbox.id))
    .limit(PAGE_SIZE + 1);
  return page(rows);
}

export async function getEmail(db: Db, id: string) {
  const [row] = await db.select().from(emailOutbox).where(eq(emailOutbox.id, id));
  if (!row) return undefined;
  const [job] = await db.execute<{ run_at: Date; attempts: number; last_error: string | null }>(sql`
    select run_at, attempts, last_error from graphile_worker.jobs
    where key = ${`email:${id}`} and task_identifier = 'send-email'`);
  return { email: row, job };
}

export const SMS_FILTER_STATUSES = [
  "pending",
  "sending",
  "queued",
  "sent",
  "delivered",
  "undelivered",
  "failed",
  "read",
] as const;

export async function listSms(db: Db, query: Record<string, unknown>) {
  const status = oneOf(query.status, SMS_FILTER_STATUSES);
  const phoneText = text(query.phone, 40);
  const phone = phoneText ? normalizePhone(phoneText) : undefined;
  const rows = await db
    .select({
      id: smsMessages.id,
      kind: smsMessages.kind,
      to: smsMessages.to,
      from: smsMessages.from,
      status: smsMessages.status,
      errorCode: smsMessages.errorCode,
      errorMessage: smsMessages.errorMessage,
      twilioSid: smsMessages.twilioSid,
      createdAt: smsMessages.createdAt,
      channel: smsMessages.channel,
      cursor: cursorOf(smsMessages.createdAt, smsMessages.id),
    })
    .from(smsMessages)
    .where(
      and(
        status ? eq(smsMessages.status, status) : undefined,
        phone ? eq(smsMessages.to, phone) : phoneText ? sql`false` : undefined,
        olderThan(smsMessages.createdAt, smsMessages.id, parseCursor(query.before), "uuid"),
      ),
    )
    .orderBy(desc(smsMessages.createdAt), desc(smsMessages.id))
    .limit(PAGE_SIZE + 1);
  return page(rows);
}

export async function getSms(db: Db, id: string) {
  const [sms] = await db.select().from(smsMessages).where(eq(smsMessages.id, id));
  if (!sms) return undefined;
  const history = sms.twilioSid
    ? await db
        .select()
        .from(smsStatusEvents)
        .where(eq(smsStatusEvents.twilioSid, sms.twilioSid))
        .orderBy(asc(smsStatusEvents.id))
    : [];
  const [patient] = sms.patientId ? await db.select().from(patients).where(eq(patients.id, sms.patientId)) : [];
  const [clinic] = await db.select().from(clinics).where(eq(clinics.id, sms.clinicId));
  // Its send job: keyed by the SMS, or a batch job holding it (a set of confirmations, effects/sms.ts). A batch
  // job's last error lists its other entries' errors too: this SMS's own is its error_message.
  const [job] = await db.execute<{ run_at: Date; attempts: number; last_error: string | null }>(sql`
    select j.run_at, j.attempts, case when j.key is not null then j.last_error end as last_error
    from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
    where t.identifier = ${SEND_TASK} and (j.key = ${sendKey(id)} or json_typeof(j.payload) = 'array'
      and j.payload::jsonb @> jsonb_build_array(jsonb_build_object('smsId', ${id}::text)))
    order by j.key is not null desc, j.attempts < j.max_attempts desc, j.run_at
    limit 1`);
  return { sms, history, patient, clinic, job };
}
