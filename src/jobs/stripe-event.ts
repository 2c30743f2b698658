import { and, eq, type SQL, sql } from "drizzle-orm";
import { appointments, transactions } from "../../db/schema";
import type { Deps } from "../deps";
import { type AppointmentStatus, type Cause, canTransition, paymentEffect } from "../domain/appointments";
import { formatMoney } from "../domain/money";
import { refundNotice, refundStatus, refundToBook } from "../domain/refunds";
import { formatWhen } from "../domain/time";
import { type Appointment, changeStatus, loadParties, lockAppointment } from "../effects/appointments";
import { queueEmail } from "../effects/email";
import { handleKeptPayment } from "../effects/late-payment";
import { queueSms } from "../effects/sms";
import { enqueue, type Tx } from "./enqueue";
import type { Outcome, Processor } from "./process-webhook";

interface StripeObject {
  id?: string;
  object?: string;
  amount?: number;
  amount_received?: number;
  amount_refunded?: number;
  /** A charge: true once Stripe refunded all of it. */
  refunded?: boolean;
  currency?: string;
  payment_intent?: string | null;
  metadata?: Record<string, string>;
  last_payment_error?: { message?: string } | null;
}
interface StripeEvent { id: string; type: string; created?: number; data?: { object?: StripeObject } }

interface Ctx {
  deps: Deps;
  tx: Tx;
  event: StripeEvent;
  object: StripeObject;
  appointment: Appointment;
  cause: Cause;
}
type Handler = (ctx: Ctx) => Promise<Outcome>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const HANDLERS: Record<string, Handler> = {
  "payment_intent.succeeded": paymentSucceeded,
  "payment_intent.payment_failed": paymentFailed,
  "charge.refunded": chargeRefunded,
};
/** The event types Switchboard acts on (and reconciliation lists). */
export const STRIPE_EVENT_TYPES: readonly string[] = Object.keys(HANDLERS);

export const processStripeEvent: Processor = async (deps, tx, row) => {
  const event = JSON.parse(row.rawBody) as StripeEvent;
  const handler = HANDLERS[event.type];
  if (!handler) return { status: "ignored", reason: `unhandled event type ${event.type}` };
  const object = event.data?.object ?? {};
  const appointmentId = await findAppointmentId(tx, object);
  if (!appointmentId) return { status: "failed", reason: "no metadata.booking_id or metadata.appointment_id" };
  const appointment = UUID.test(appointmentId) ? await lockAppointment(tx, appointmentId) : undefined;
  if (!appointment) return { status: "failed", reason: `unknown appointment ${appointmentId}` };
  return handler({ deps, tx, event, object, appointment, cause: { type: "webhook_event", id: String(row.id) } });
};

/** metadata.booking_id (alias appointment_id); a charge without metadata is matched through its payment intent. */
async function findAppointmentId(tx: Tx, object: StripeObject): Promise<string | undefined> {
  const fromMetadata = object.metadata?.booking_id ?? object.metadata?.appointment_id;
  if (fromMetadata) return fromMetadata;
  if (!object.payment_intent) return undefined;
  const [deposit] = await tx.select({ id: transactions.appointmentId }).from(transactions)
    .where(eq(transactions.stripeObjectId, object.payment_intent));
  return deposit?.id;
}

async function paymentSucceeded({ deps, tx, event, object, appointment, cause }: Ctx): Promise<Outcome> {
  const amount = object.amount_received ?? object.amount ?? 0;
  const currency = object.currency ?? appointment.currency;
  const paymentId = object.id ?? event.id;
  const booked = await tx.insert(transactions).values({
    appointmentId: appointment.id, webhookEventId: Number(cause.id), kind: "deposit",
    stripeObjectId: paymentId, amount, currency,
  }).onConflictDoNothing().returning({ id: transactions.id });
  const now = deps.clock.now();
  const paid = { depositPaid: true, depositPaidAt: appointment.depositPaidAt ?? now, holdExpiresAt: null };
  const effect = paymentEffect(appointment.status as AppointmentStatus);
  if (effect.kind === "keep") {
    // The money is real whatever the status: it is booked and the deposit is paid, but nothing is confirmed.
    await tx.update(appointments).set({ ...paid, updatedAt: now }).where(eq(appointments.id, appointment.id));
    if (booked.length === 0) {
      return { status: "processed", reason: `payment already recorded; appointment is ${appointment.status}` };
    }
    const kept = { paymentId, amount, currency, notify: effect.notify };
    return { status: "processed", reason: await handleKeptPayment(deps, tx, appointment, cause, kept) };
  }
  const confirmed = await changeStatus(tx, appointment, "confirmed", cause, paid);
  if (!confirmed) {
    await tx.update(appointments).set({ ...paid, updatedAt: now }).where(eq(appointments.id, appointment.id));
  }
  const { patient, clinic } = await loadParties(tx, appointment);
  await queueSms(tx, {
    dedupeKey: `deposit-confirmation:${paymentId}`,
    kind: "confirmation",
    clinic,
    patient,
    appointmentId: appointment.id,
    body: `${clinic.name}: your appointment on ${formatWhen(appointment.startsAt, clinic.timezone)} is confirmed. `
      + `Deposit of ${formatMoney(amount, currency)} received. Reply CANCEL to cancel, HELP for help.`,
  });
  return { status: "processed" };
}

async function paymentFailed({ deps, tx, event, appointment, cause }: Ctx): Promise<Outcome> {
  // Stripe does not promise order: a late failure must never un-pay or re-hold a paid appointment.
  if (appointment.depositPaid) {
    return { status: "ignored", reason: "appointment already paid; late payment_failed has no effect" };
  }
  // A hold only where the table lets a failed payment put one (not after a CANCEL or RESCHEDULE request, nor on a
  // cancelled or completed appointment): the patient is never told of a cancellation that will not happen.
  const status = appointment.status as AppointmentStatus;
  if (status !== "payment_pending" && !canTransition(status, "payment_pending", "webhook_event")) {
    return { status: "ignored", reason: `appointment is ${appointment.status}; no hold placed` };
  }
  const holdExpiresAt = appointment.holdExpiresAt
    ?? new Date(deps.clock.now().getTime() + deps.config.HOLD_MINUTES * 60_000);
  const moved = await changeStatus(tx, appointment, "payment_pending", cause, { holdExpiresAt });
  if (!moved) await tx.update(appointments).set({ holdExpiresAt }).where(eq(appointments.id, appointment.id));
  const hold = { runAt: holdExpiresAt, jobKey: `hold:${appointment.id}` };
  await enqueue(tx, "expire-hold", { appointmentId: appointment.id }, hold);
  const { patient, clinic } = await loadParties(tx, appointment);
  if (!patient.email) {
    return { status: "processed", reason: "hold placed; patient has no email for the payment-failed notice" };
  }
  await queueEmail(tx, {
    dedupeKey: `payment-failed:${event.id}`,
    kind: "payment_failed",
    to: patient.email,
    subject: `${clinic.name}: payment failed`,
    body: "Your payment failed. Please update your card.\n\n"
      + `Your appointment on ${formatWhen(appointment.startsAt, clinic.timezone)} is held until `
      + `${formatWhen(holdExpiresAt, clinic.timezone)}; if the deposit is not paid by then it will be cancelled.`,
  });
  return { status: "processed" };
}

async function chargeRefunded({ deps, tx, event, object, appointment, cause }: Ctx): Promise<Outcome> {
  const cumulative = object.amount_refunded ?? object.amount ?? 0;
  const currency = object.currency ?? appointment.currency;
  const chargeId = object.id ?? event.id;
  const booked = await ledgerTotal(tx, "refund", eq(transactions.chargeId, chargeId));
  const decision = refundToBook(cumulative, booked);
  if (decision.kind === "nothing") {
    return {
      status: "processed",
      reason: `nothing new to book: ${formatMoney(booked, currency)} of charge ${chargeId} is already booked, `
        + `this event says ${formatMoney(cumulative, currency)} refunded in all`,
    };
  }
  // The key holds the cumulative total, so one event's increment is booked once even if the lock were bypassed.
  const inserted = await tx.insert(transactions).values({
    appointmentId: appointment.id, webhookEventId: Number(cause.id), kind: "refund", chargeId,
    stripeObjectId: `${chargeId}:${cumulative}`, amount: decision.amount, currency,
  }).onConflictDoNothing().returning({ id: transactions.id });
  if (inserted.length === 0) return { status: "processed", reason: "refund already booked" };

  const ofAppointment = eq(transactions.appointmentId, appointment.id);
  const refunded = await ledgerTotal(tx, "refund", ofAppointment);
  const deposits = await ledgerTotal(tx, "deposit", ofAppointment);
  const paid = deposits > 0 ? deposits : object.amount ?? appointment.depositAmount ?? null;
  const status = refundStatus(refunded, paid, object.refunded === true);
  const now = deps.clock.now();
  await tx.update(appointments).set({
    depositRefundStatus: status, depositRefundedAmount: refunded, depositRefunded: status === "full",
    refundedAt: now, updatedAt: now,
  }).where(eq(appointments.id, appointment.id));
  const booking = `${formatMoney(decision.amount, currency)} booked; deposit refund ${status}`;
  const { patient, clinic } = await loadParties(tx, appointment);
  if (!patient.email) return { status: "processed", reason: `${booking}; patient has no email for the refund notice` };
  await queueEmail(tx, {
    dedupeKey: `refund:${chargeId}:${cumulative}`,
    kind: "refund",
    to: patient.email,
    ...refundNotice(clinic.name, { amount: decision.amount, refunded, paid, currency, status }),
  });
  return { status: "processed" };
}

/** Sum in minor units of the ledger rows of one kind for a charge or an appointment. */
async function ledgerTotal(tx: Tx, kind: "deposit" | "refund", of: SQL): Promise<number> {
  const [row] = await tx.select({ total: sql<number>`coalesce(sum(${transactions.amount}), 0)::int` })
    .from(transactions).where(and(eq(transactions.kind, kind), of));
  return row?.total ?? 0;
}
