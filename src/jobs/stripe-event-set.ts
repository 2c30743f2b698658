import { asc, eq, sql } from "drizzle-orm";
import type Stripe from "stripe";
import { appointments, clinics, patients } from "../../db/schema";
import { anyOfJson, type Tx } from "../db";
import type { Deps } from "../deps";
import { type Cause, paymentEffect } from "../domain/appointments";
import { isHandled, metadataAppointmentId, paymentOf, UUID } from "../domain/stripe";
import { type Appointment, type Parties, recordTransitions } from "../effects/appointments";
import { queueSmsSet } from "../effects/sms";
import type { Outcome, SetProcessor, WebhookEvent } from "./event-processor";
import { confirmationSms } from "./stripe-event";

interface Payment {
  row: WebhookEvent;
  appointmentId: string;
  event: Stripe.PaymentIntentSucceededEvent;
}

/**
 * payment_intent.succeeded for appointments a payment confirms, as a set (process-webhook-batch.ts): one statement
 * each for locking the appointments with their patient and clinic, the ledger rows, the status and deposit fields,
 * the audit rows and the confirmation SMS with their send jobs, where processStripeEvent spends about ten per event.
 * The effects are processStripeEvent's, row for row. Left to it, one by one: every other event type, an
 * appointment named by more than one event of the batch, one not found, and one whose status a payment does not
 * confirm (the late-payment path, which emails and notifies).
 */
export const processStripeSet: SetProcessor = async (deps, tx, rows) => {
  const payments = succeededPayments(rows);
  if (payments.length === 0) return new Map();
  const ids = payments.map((p) => p.appointmentId);
  const found = await tx.select({ appointment: appointments, patient: patients, clinic: clinics })
    .from(appointments)
    .innerJoin(patients, eq(patients.id, appointments.patientId))
    .innerJoin(clinics, eq(clinics.id, appointments.clinicId))
    .where(sql`${appointments.id} = ${anyOfJson(ids, "uuid")}`)
    .orderBy(asc(appointments.id))
    .for("update", { of: appointments });
  const byId = new Map(found.map((f) => [f.appointment.id, f]));
  const confirming = payments.flatMap((payment) => {
    const parties = byId.get(payment.appointmentId);
    return parties && paymentEffect(parties.appointment.status).kind === "confirm" ? [{ ...payment, ...parties }] : [];
  });
  if (confirming.length === 0) return new Map();
  await confirm(deps, tx, confirming);
  return new Map(confirming.map((c) => [c.row.id, { status: "processed" } satisfies Outcome]));
};

/**
 * The batch's payment_intent.succeeded events that name an appointment no other event of the batch names, and that
 * come before any handled event naming none (a refund found through its payment intent may be about the same
 * appointment).
 */
function succeededPayments(rows: WebhookEvent[]): Payment[] {
  const named = new Map<string, number>();
  const payments: Payment[] = [];
  let firstUnnamed = Number.POSITIVE_INFINITY;
  for (const row of rows) {
    const event = JSON.parse(row.rawBody) as Stripe.Event;
    const object = typeof event.data?.object === "object" && event.data.object ? event.data.object : undefined;
    const given = object && "metadata" in object ? metadataAppointmentId(object) : undefined;
    if (typeof given !== "string" || !given) {
      if (isHandled(event)) firstUnnamed = Math.min(firstUnnamed, row.id);
      continue;
    }
    // Postgres reads a uuid in either case: one appointment, however its id is spelt.
    const appointmentId = given.toLowerCase();
    named.set(appointmentId, (named.get(appointmentId) ?? 0) + 1);
    if (event.type === "payment_intent.succeeded" && UUID.test(appointmentId)) {
      payments.push({ row, appointmentId, event });
    }
  }
  return payments.filter((p) => named.get(p.appointmentId) === 1 && p.row.id < firstUnnamed);
}

/** paymentSucceeded's confirm branch (stripe-event.ts) for every payment at once. */
async function confirm(deps: Deps, tx: Tx, list: (Payment & Parties & { appointment: Appointment })[]) {
  const now = deps.clock.now();
  const facts = list.map(({ event, appointment }) => ({
    ...paymentOf(event, appointment.currency), moves: appointment.status !== "confirmed",
  }));
  const ledger = list.map(({ row, appointment }, i) => ({
    appointment_id: appointment.id, webhook_event_id: row.id, stripe_object_id: facts[i]!.paymentId,
    amount: facts[i]!.amount, currency: facts[i]!.currency,
  }));
  await tx.execute(sql`insert into transactions (appointment_id, webhook_event_id, kind, stripe_object_id, amount,
      currency)
    select appointment_id, webhook_event_id, 'deposit', stripe_object_id, amount, currency
    from json_to_recordset(${JSON.stringify(ledger)}::json)
      as v(appointment_id uuid, webhook_event_id bigint, stripe_object_id text, amount int, currency text)
    on conflict do nothing`);
  // changeStatus stamps a move with the wall clock, a payment that keeps the status with the injected clock.
  const fields = list.map(({ appointment }, i) => ({
    id: appointment.id, updated_at: facts[i]!.moves ? new Date() : now,
  }));
  await tx.execute(sql`update appointments a
    set status = 'confirmed', deposit_paid = true, deposit_paid_at = coalesce(a.deposit_paid_at, ${now.toISOString()}
      ::timestamptz), hold_expires_at = null, updated_at = v.updated_at
    from json_to_recordset(${JSON.stringify(fields)}::json) as v(id uuid, updated_at timestamptz)
    where a.id = v.id and a.id = ${anyOfJson(fields.map((f) => f.id), "uuid")}`);
  await recordTransitions(tx, list.flatMap(({ row, appointment }, i) => facts[i]!.moves ? [{
    appointmentId: appointment.id, from: appointment.status, to: "confirmed" as const,
    cause: { type: "webhook_event", id: String(row.id) } satisfies Cause,
  }] : []));
  await queueSmsSet(tx, list.map((parties, i) => confirmationSms(parties, facts[i]!)));
}
