export const APPOINTMENT_STATUSES = [
  "pending", "confirmed", "payment_pending", "cancellation_requested", "reschedule_requested", "cancelled", "completed",
] as const;
export type AppointmentStatus = (typeof APPOINTMENT_STATUSES)[number];

/** Which status may follow which. cancelled and completed are final. */
export const TRANSITIONS: Record<AppointmentStatus, readonly AppointmentStatus[]> = {
  pending: ["confirmed", "payment_pending", "cancellation_requested", "reschedule_requested", "cancelled", "completed"],
  payment_pending: ["confirmed", "cancellation_requested", "reschedule_requested", "cancelled"],
  confirmed: ["payment_pending", "cancellation_requested", "reschedule_requested", "cancelled", "completed"],
  cancellation_requested: ["confirmed", "reschedule_requested", "cancelled"],
  reschedule_requested: ["pending", "confirmed", "cancellation_requested", "cancelled"],
  cancelled: [],
  completed: [],
};

export function canTransition(from: AppointmentStatus, to: AppointmentStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** What caused a status change, kept in the audit trail. */
export interface Cause {
  type: "webhook_event" | "sms" | "api" | "job";
  id?: string;
}
