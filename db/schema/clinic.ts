import { sql } from "drizzle-orm";
import {
  bigserial, boolean, index, integer, pgTable, text, timestamp, uniqueIndex, uuid,
} from "drizzle-orm/pg-core";
import type { AppointmentStatus } from "../../src/domain/appointments";
import type { RefundStatus } from "../../src/domain/refunds";

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp("updated_at", { withTimezone: true }).notNull().defaultNow();

/**
 * The rows that processing inserts for every webhook event (ledger, audit trail, SMS and their status history)
 * name their appointment, patient, clinic or SMS by id without a foreign key. A foreign key checks each inserted
 * row with a trigger that locks the row it names (`for key share`): for a batch of payments that is a lock on every
 * appointment, patient and clinic, and concurrent batches share the clinics' rows (a multixact each time). Those
 * checks were a third of the Postgres time of processing a payment (bench/README.md). What they guarded stays true
 * by construction: the ids come from rows read in the same transaction, and the named tables refuse DELETE and
 * TRUNCATE (migration 0017), so a row once named stays there. Named table → the columns that name it.
 */
export const NAMED_WITHOUT_FOREIGN_KEY = {
  appointments: ["appointment_history.appointment_id", "transactions.appointment_id", "sms_messages.appointment_id"],
  patients: ["sms_messages.patient_id"],
  clinics: ["sms_messages.clinic_id"],
  sms_messages: ["sms_status_events.sms_message_id"],
} as const;

export const clinics = pgTable("clinics", {
  id: uuid("id").primaryKey().defaultRandom(),
  name: text("name").notNull(),
  /** The clinic's Twilio number (E.164): inbound SMS are routed by `To`, outbound SMS are sent from it. */
  phone: text("phone").notNull(),
  timezone: text("timezone").notNull(),
  email: text("email"),
  callbackUrl: text("callback_url"),
  autoReply: text("auto_reply"),
  helpText: text("help_text"),
  /** Outbound SMS pacing for this clinic's sending number (1/s for long codes). */
  smsPerSecond: integer("sms_per_second").notNull().default(1),
  createdAt: createdAt(),
}, (t) => [uniqueIndex("clinics_phone_key").on(t.phone)]);

export const patients = pgTable("patients", {
  id: uuid("id").primaryKey().defaultRandom(),
  clinicId: uuid("clinic_id").notNull().references(() => clinics.id),
  name: text("name").notNull(),
  phone: text("phone").notNull(),
  email: text("email"),
  optedOut: boolean("opted_out").notNull().default(false),
  optedOutAt: timestamp("opted_out_at", { withTimezone: true }),
  optOutType: text("opt_out_type"),
  createdAt: createdAt(),
}, (t) => [uniqueIndex("patients_clinic_phone_key").on(t.clinicId, t.phone), index("patients_phone_idx").on(t.phone)]);

export const appointments = pgTable("appointments", {
  id: uuid("id").primaryKey().defaultRandom(),
  clinicId: uuid("clinic_id").notNull().references(() => clinics.id),
  patientId: uuid("patient_id").notNull().references(() => patients.id),
  startsAt: timestamp("starts_at", { withTimezone: true }).notNull(),
  status: text("status").$type<AppointmentStatus>().notNull().default("pending"),
  /** Minor units (cents) of `currency`. */
  depositAmount: integer("deposit_amount"),
  currency: text("currency").notNull().default("usd"),
  depositPaid: boolean("deposit_paid").notNull().default(false),
  depositPaidAt: timestamp("deposit_paid_at", { withTimezone: true }),
  /** True only once the deposit is fully refunded; `deposit_refund_status` also tells a partial refund. */
  depositRefunded: boolean("deposit_refunded").notNull().default(false),
  /** none | partial | full, from the refunds booked in the ledger against what was paid. */
  depositRefundStatus: text("deposit_refund_status").$type<RefundStatus>().notNull().default("none"),
  /** Minor units refunded so far: the sum of this appointment's refund rows in `transactions`. */
  depositRefundedAmount: integer("deposit_refunded_amount").notNull().default(0),
  /** When the latest refund was booked. */
  refundedAt: timestamp("refunded_at", { withTimezone: true }),
  /** Set while a failed payment holds the slot; past it, the appointment is auto-cancelled. */
  holdExpiresAt: timestamp("hold_expires_at", { withTimezone: true }),
  smsStatus: text("sms_status"),
  smsDelivered: boolean("sms_delivered").notNull().default(false),
  smsDeliveredAt: timestamp("sms_delivered_at", { withTimezone: true }),
  reminderSentAt: timestamp("reminder_sent_at", { withTimezone: true }),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
}, (t) => [
  index("appointments_patient_starts_idx").on(t.patientId, t.startsAt),
  index("appointments_hold_idx").on(t.holdExpiresAt).where(sql`hold_expires_at is not null`),
  // What the reminder cron scans: confirmed appointments still waiting for their reminder.
  index("appointments_reminder_due_idx").on(t.startsAt).where(sql`reminder_sent_at is null and status = 'confirmed'`),
  index("appointments_created_idx").on(t.createdAt, t.id),
]);

/**
 * Audit trail: every status change with its cause (webhook event, sms, api, job), and events that left the status
 * as it was on purpose (from = to, with a note).
 */
export const appointmentHistory = pgTable("appointment_history", {
  id: bigserial("id", { mode: "number" }).primaryKey(),
  /** Its appointment, no foreign key: see NAMED_WITHOUT_FOREIGN_KEY. */
  appointmentId: uuid("appointment_id").notNull(),
  fromStatus: text("from_status"),
  toStatus: text("to_status").notNull(),
  causeType: text("cause_type").notNull(),
  causeId: text("cause_id"),
  /** Why, when it is not plain: e.g. a late payment recorded while the appointment kept its status. */
  note: text("note"),
  at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  index("appointment_history_appt_idx").on(t.appointmentId, t.at),
  // What a webhook event (or SMS) changed, for the console's trail.
  index("appointment_history_cause_idx").on(t.causeType, t.causeId),
]);

/**
 * Money ledger: one row per Stripe object and kind, so a replayed event never books twice. A refund row is
 * keyed `<charge id>:<cumulative amount_refunded>` and holds only the increment over what was already booked
 * for that charge, so the refund rows of a charge add up to what Stripe refunded.
 */
export const transactions = pgTable("transactions", {
  id: uuid("id").primaryKey().defaultRandom(),
  /** Its appointment, no foreign key: see NAMED_WITHOUT_FOREIGN_KEY. */
  appointmentId: uuid("appointment_id").notNull(),
  webhookEventId: integer("webhook_event_id"),
  kind: text("kind").notNull(),
  stripeObjectId: text("stripe_object_id").notNull(),
  /** The charge a refund row belongs to (null for deposits). */
  chargeId: text("charge_id"),
  amount: integer("amount").notNull(),
  currency: text("currency").notNull(),
  createdAt: createdAt(),
}, (t) => [
  uniqueIndex("transactions_object_kind_key").on(t.stripeObjectId, t.kind),
  index("transactions_appointment_idx").on(t.appointmentId, t.kind),
  index("transactions_charge_idx").on(t.chargeId).where(sql`charge_id is not null`),
  index("transactions_event_idx").on(t.webhookEventId),
]);
