import type { Executor } from "../db";
import type { Deps } from "../deps";
import type { Cause, PaymentNotice } from "../domain/appointments";
import { formatMoney } from "../domain/money";
import { formatWhen } from "../domain/time";
import { type Appointment, loadParties, recordKeptStatus } from "./appointments";
import { queueEmail } from "./email";
import { queueClinicEvent } from "./messages";

export interface KeptPayment {
  /** The PaymentIntent (or, without an id, the event): one notice per payment, however often it is replayed. */
  paymentId: string;
  amount: number;
  currency: string;
  notify: PaymentNotice | null;
}

const WHY: Partial<Record<string, string>> = {
  cancelled: "which is cancelled",
  cancellation_requested: "whose cancellation the patient has asked for",
  reschedule_requested: "which the patient has asked to reschedule",
  completed: "which is completed",
};

/**
 * A payment that arrived when the appointment's status does not let a payment confirm it (paid after the hold
 * expired, or after the patient texted CANCEL or RESCHEDULE): the status stays, the audit trail says why, and the
 * clinic hears of it (its email, else SUPPORT_EMAIL, and a clinic event to its callback URL) so a person can
 * refund or rebook. Returns the note kept in the audit trail and the event's outcome.
 */
export async function handleKeptPayment(
  deps: Pick<Deps, "config" | "log">,
  tx: Executor,
  appointment: Appointment,
  cause: Cause,
  payment: KeptPayment,
): Promise<string> {
  const { status } = appointment;
  const money = formatMoney(payment.amount, payment.currency);
  const note = `payment of ${money} received for an appointment ${WHY[status] ?? `in status ${status}`}; kept ${status}`
    + (payment.notify ? "; clinic notified to refund or rebook" : "");
  await recordKeptStatus(tx, appointment, cause, note);
  if (!payment.notify) return note;

  const { patient, clinic } = await loadParties(tx, appointment);
  const when = formatWhen(appointment.startsAt, clinic.timezone);
  const dedupeKey = `${payment.notify}:${payment.paymentId}`;
  await queueClinicEvent(tx, {
    clinicId: clinic.id, type: payment.notify, dedupeKey,
    data: {
      appointment_id: appointment.id, patient_id: patient.id, starts_at: appointment.startsAt.toISOString(), status,
      payment_intent: payment.paymentId, amount: payment.amount, currency: payment.currency,
    },
  });
  const to = clinic.email ?? deps.config.SUPPORT_EMAIL;
  if (!to) {
    deps.log.warn("payment kept on an appointment; neither the clinic nor SUPPORT_EMAIL has an email", {
      appointmentId: appointment.id, status,
    });
    return `${note}; no clinic email or SUPPORT_EMAIL to tell`;
  }
  await queueEmail(tx, {
    dedupeKey,
    kind: payment.notify.replace(/^appointment\./, ""),
    to,
    subject: `${clinic.name}: ${money} paid for ${patient.name}'s appointment on ${when}, ${WHY[status] ?? status}`,
    body: [
      `${patient.name} (${patient.phone}) paid ${money} for the appointment on ${when}, ${WHY[status] ?? status}.`,
      `The appointment stays ${status}; the patient was not told it is confirmed.`,
      "Refund the payment in Stripe, or rebook the appointment and confirm it.",
      "",
      `Clinic: ${clinic.name} (${clinic.id})`,
      `Appointment: ${appointment.id}`,
      `PaymentIntent: ${payment.paymentId}`,
    ].join("\n"),
  });
  return note;
}
