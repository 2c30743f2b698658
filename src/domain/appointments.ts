export const APPOINTMENT_STATUSES = [
  "pending", "confirmed", "payment_pending", "cancellation_requested", "reschedule_requested", "cancelled", "completed",
] as const;
export type AppointmentStatus = (typeof APPOINTMENT_STATUSES)[number];

/** What caused a status change, kept in the audit trail. A Stripe payment is a `webhook_event`. */
export type CauseType = "webhook_event" | "sms" | "api" | "job";
export interface Cause {
  type: CauseType;
  id?: string;
}

const ANY: readonly CauseType[] = ["webhook_event", "sms", "api", "job"];
/** The patient (by text) or the clinic (management API): a person who knows what was asked. */
const A_PERSON: readonly CauseType[] = ["sms", "api"];

/**
 * Which status may follow which, and which causes may make the move. cancelled and completed are final.
 * Once a patient asked to cancel or reschedule, only a person may confirm the appointment again: a payment that
 * arrives after the request (Stripe events come late) must not override it.
 */
export const TRANSITIONS: Record<AppointmentStatus, Partial<Record<AppointmentStatus, readonly CauseType[]>>> = {
  pending: {
    confirmed: ANY, payment_pending: ANY, cancellation_requested: ANY, reschedule_requested: ANY,
    cancelled: ANY, completed: ANY,
  },
  payment_pending: { confirmed: ANY, cancellation_requested: ANY, reschedule_requested: ANY, cancelled: ANY },
  confirmed: {
    payment_pending: ANY, cancellation_requested: ANY, reschedule_requested: ANY, cancelled: ANY, completed: ANY,
  },
  cancellation_requested: { confirmed: A_PERSON, reschedule_requested: ANY, cancelled: ANY },
  reschedule_requested: { pending: ANY, confirmed: A_PERSON, cancellation_requested: ANY, cancelled: ANY },
  cancelled: {},
  completed: {},
};

export function canTransition(from: AppointmentStatus, to: AppointmentStatus, by: CauseType): boolean {
  return TRANSITIONS[from][to]?.includes(by) ?? false;
}

/**
 * What a successful payment does: confirm (and text the patient), or record the money and keep the status when
 * the table does not let a payment confirm it. `notify` is the clinic event for a payment someone must act on
 * (refund or rebook); none for a completed appointment, which a late payment does not put in question.
 */
export type PaymentEffect =
  | { kind: "confirm" }
  | { kind: "keep"; notify: PaymentNotice | null };
export type PaymentNotice = "appointment.payment_after_cancel" | "appointment.payment_after_reschedule_request";

const KEPT_PAYMENT_NOTICE: Partial<Record<AppointmentStatus, PaymentNotice>> = {
  cancelled: "appointment.payment_after_cancel",
  cancellation_requested: "appointment.payment_after_cancel",
  reschedule_requested: "appointment.payment_after_reschedule_request",
};

export function paymentEffect(status: AppointmentStatus): PaymentEffect {
  if (status === "confirmed" || canTransition(status, "confirmed", "webhook_event")) return { kind: "confirm" };
  return { kind: "keep", notify: KEPT_PAYMENT_NOTICE[status] ?? null };
}
