import { and, eq, type SQL, sql } from "drizzle-orm";
import type Stripe from "stripe";
import { appointments, transactions } from "../../db/schema";
import type { Tx } from "../db";
import type { Deps } from "../deps";
import { type Cause, canTransition, paymentEffect } from "../domain/appointments";
import { formatMoney } from "../domain/money";
import { refundNotice, refundStatus, refundToBook } from "../domain/refunds";
import { formatWhen } from "../domain/time";
import { type HandledStripeEvent, isHandled, metadataAppointmentId, paymentOf, UUID } from "../domain/stripe";
import {
  type Appointment, changeStatus, loadParties, lockAppointment, type Parties,
} from "../effects/appointments";
import { queueEmail } from "../effects/email";
import { handleKeptPayment } from "../effects/late-payment";
import { queueSms, type SmsInput } from "../effects/sms";
import { enqueue } from "../queue";
import type { Outcome, Processor } from "./event-processor";

interface Ctx<E extends HandledStripeEvent> {
  deps: Deps;
  tx: Tx;
  event: E;
  object: E["data"]["object"];
  appointment: Appointment;
  cause: Cause;
}

export const processStripeEvent: Processor = async (deps, tx, row) => {
  const event = JSON.parse(row.rawBody) as Stripe.Event;
  if (!isHandled(event)) return { status: "ignored", reason: `unhandled event type ${event.type}` };
  // A hand-made event (a test, a simulation) may lack parts Stripe always sends, or hold other values there.
  const object = typeof event.data?.object === "object" ? event.data.object : undefined;
  const appointmentId = object && await findAppointmentId(tx, object);
  if (!appointmentId) return { status: "failed", reason: "no metadata.booking_id or metadata.appointment_id" };
  const appointment = UUID.test(appointmentId) ? await lockAppointment(tx, appointmentId) : undefined;
  if (!appointment) return { status: "failed", reason: `unknown appointment ${appointmentId}` };
  const ctx = { deps, tx, appointment, cause: { type: "webhook_event", id: String(row.id) } as const };
  switch (event.type) {
    case "payment_intent.succeeded":
      return paymentSucceeded({ ...ctx, event, object: event.data.object });
    case "payment_intent.payment_failed":
      return paymentFailed({ ...ctx, event, object: event.data.object });
    case "charge.refunded":
      return chargeRefunded({ ...ctx, event, object: event.data.object });
  }
};

/** metadata.booking_id (alias appointment_id); a charge without metadata is matched through its payment intent. */
async function findAppointmentId(tx: Tx, object: HandledStripeEvent["data"]["object"]): Promise<string | undefined> {
  const fromMetadata = metadataAppointmentId(object);
  if (fromMetadata) return fromMetadata;
  const intent = "payment_intent" in object ? object.payment_intent : undefined;
  if (typeof intent !== "string" || !intent) return undefined;
  const [deposit] = await tx.select({ id: transactions.appointmentId }).from(transactions)
    .where(eq(transactions.stripeObjectId, intent));
  return deposit?.id;
}

async function paymentSucceeded(ctx: Ctx<Stripe.PaymentIntentSucceededEvent>): Promise<Outcome> {
  const { deps, tx, event, appointment, cause } = ctx;
  const { paymentId, amount, currency } = paymentOf(event, appointment.currency);
  const booked = await tx.insert(transactions).values({
    appointmentId: appointment.id, webhookEventId: Number(cause.id), kind: "deposit",
    stripeObjectId: paymentId, amount, currency,
  }).onConflictDoNothing().returning({ id: transactions.id });
  const now = deps.clock.now();
  const paid = { depositPaid: true, depositPaidAt: appointment.depositPaidAt ?? now, holdExpiresAt: null };
  const effect = paymentEffect(appointment.status);
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
  await queueSms(tx, confirmationSms({ appointment, patient, clinic }, { paymentId, amount, currency }));
  return { status: "processed" };
}

/** The text a confirmed deposit sends the patient (also the set form's, stripe-event-set.ts). */
export function confirmationSms(
  { appointment, patient, clinic }: { appointment: Appointment } & Parties,
  payment: { paymentId: string; amount: number; currency: string },
): SmsInput {
  return {
    dedupeKey: `deposit-confirmation:${payment.paymentId}`,
    kind: "confirmation",
    clinic,
    patient,
    appointmentId: appointment.id,
    body: `${clinic.name}: your appointment on ${formatWhen(appointment.startsAt, clinic.timezone)} is confirmed. `
      + `Deposit of ${formatMoney(payment.amount, payment.currency)} received. Reply CANCEL to cancel, HELP for help.`,
  };
}

async function paymentFailed(ctx: Ctx<Stripe.PaymentIntentPaymentFailedEvent>): Promise<Outcome> {
  const { deps, tx, event, appointment, cause } = ctx;
  // Stripe does not promise order: a late failure must never un-pay or re-hold a paid appointment.
  if (appointment.depositPaid) {
    return { status: "ignored", reason: "appointment already paid; late payment_failed has no effect" };
  }
  // A hold only where the table lets a failed payment put one (not after a CANCEL or RESCHEDULE request, nor on a
  // cancelled or completed appointment): the patient is never told of a cancellation that will not happen.
  const { status } = appointment;
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

async function chargeRefunded(ctx: Ctx<Stripe.ChargeRefundedEvent>): Promise<Outcome> {
  const { deps, tx, event, object, appointment, cause } = ctx;
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
