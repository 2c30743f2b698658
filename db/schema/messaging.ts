import { sql } from "drizzle-orm";
import { bigserial, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";

/** Every email is written here first, then sent by the `send-email` job. */
export const emailOutbox = pgTable("email_outbox", {
  id: uuid("id").primaryKey().defaultRandom(),
  /** Makes queueing idempotent: the same cause never queues a second email. */
  dedupeKey: text("dedupe_key").notNull(),
  kind: text("kind").notNull(),
  to: text("to").notNull(),
  subject: text("subject").notNull(),
  body: text("body").notNull(),
  status: text("status").notNull().default("pending"),
  attempts: integer("attempts").notNull().default(0),
  lastError: text("last_error"),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  sentAt: timestamp("sent_at", { withTimezone: true }),
  /** When retention emptied the body of this finished email (the row, its recipient and outcome stay). */
  purgedAt: timestamp("purged_at", { withTimezone: true }),
}, (t) => [
  uniqueIndex("email_outbox_dedupe_key").on(t.dedupeKey),
  index("email_outbox_status_idx").on(t.status),
  index("email_outbox_created_idx").on(t.createdAt, t.id),
  index("email_outbox_to_idx").on(t.to),
  index("email_outbox_unpurged_idx").on(t.createdAt).where(sql`purged_at is null`),
]);

/**
 * Outbound SMS: recorded before the Twilio call so that a retried job never texts twice. `status` is ours until
 * Twilio has the message (`pending`; `unknown`: it may be on Twilio; `failed`, `unconfirmed`, `skipped_opted_out`,
 * `logged`), then Twilio's (`queued`, `sending`, `sent`, `delivered`, ...). See src/jobs/send-sms.ts.
 */
export const smsMessages = pgTable("sms_messages", {
  id: uuid("id").primaryKey().defaultRandom(),
  dedupeKey: text("dedupe_key").notNull(),
  kind: text("kind").notNull(),
  // Its clinic, patient and appointment, no foreign keys: see NAMED_WITHOUT_FOREIGN_KEY (clinic.ts).
  clinicId: uuid("clinic_id").notNull(),
  patientId: uuid("patient_id"),
  appointmentId: uuid("appointment_id"),
  channel: text("channel").notNull().default("SMS"),
  to: text("to").notNull(),
  from: text("from").notNull(),
  body: text("body").notNull(),
  status: text("status").notNull().default("pending"),
  twilioSid: text("twilio_sid"),
  errorCode: text("error_code"),
  errorMessage: text("error_message"),
  attempts: integer("attempts").notNull().default(0),
  /**
   * The send job's claim, a column of its own (never a status: Twilio's words take those over): the id of the
   * graphile-worker job whose attempt is under way. Set, with the status `unknown`, before the Twilio call;
   * cleared when the attempt's outcome is recorded. While that job is running (locked), no other job touches
   * the row; a worker that died holds it only until its jobs are unlocked (src/jobs/heartbeat.ts).
   */
  claimedBy: text("claimed_by"),
  /**
   * After a failed / undelivered callback: `email_queued` (fallback_email_id is the outbox row) or why no email
   * could go to the patient (`not_possible: ...`). Null while the SMS has not failed.
   */
  fallbackStatus: text("fallback_status"),
  fallbackEmailId: uuid("fallback_email_id"),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  sentAt: timestamp("sent_at", { withTimezone: true }),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  uniqueIndex("sms_messages_dedupe_key").on(t.dedupeKey),
  uniqueIndex("sms_messages_sid_key").on(t.twilioSid).where(sql`twilio_sid is not null`),
  index("sms_messages_created_idx").on(t.createdAt, t.id),
  index("sms_messages_to_idx").on(t.to),
  index("sms_messages_appointment_idx").on(t.appointmentId),
  // The SMS failure-share alert reads the messages whose status changed lately.
  index("sms_messages_updated_idx").on(t.updatedAt),
  // What status reconciliation scans: sent SMS still without a final status (src/reconcile/sms-status.ts).
  index("sms_messages_unsettled_idx").on(t.sentAt)
    .where(sql`twilio_sid is not null and status not in ('delivered', 'undelivered', 'failed', 'read', 'canceled')`),
]);

/** Every Twilio status callback for an SMS, in arrival order. */
export const smsStatusEvents = pgTable("sms_status_events", {
  id: bigserial("id", { mode: "number" }).primaryKey(),
  twilioSid: text("twilio_sid").notNull(),
  /** Its SMS (null for a sid no row holds), no foreign key: see NAMED_WITHOUT_FOREIGN_KEY (clinic.ts). */
  smsMessageId: uuid("sms_message_id"),
  webhookEventId: integer("webhook_event_id"),
  status: text("status").notNull(),
  errorCode: text("error_code"),
  rawDlrDoneDate: text("raw_dlr_done_date"),
  payload: jsonb("payload").$type<Record<string, string>>(),
  receivedAt: timestamp("received_at", { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  index("sms_status_events_sid_idx").on(t.twilioSid),
  index("sms_status_events_event_idx").on(t.webhookEventId),
  // What retention walks: history rows still holding Twilio's parameters.
  index("sms_status_events_payload_idx").on(t.receivedAt).where(sql`payload is not null`),
]);
