import { eq, sql } from "drizzle-orm";
import { appointmentHistory, appointments, clinics, patients } from "../../db/schema";
import type { Executor } from "../db";
import { type AppointmentStatus, type Cause, canTransition } from "../domain/appointments";

export type Appointment = typeof appointments.$inferSelect;

/** Reads an appointment and locks it for the rest of the transaction. */
export async function lockAppointment(tx: Executor, id: string): Promise<Appointment | undefined> {
  const rows = await tx.select().from(appointments).where(eq(appointments.id, id)).for("update");
  return rows[0];
}

/**
 * Moves an appointment to `to` if the transition table allows it for this cause, writing the audit row.
 * Returns false (and changes nothing) when the move is not allowed or it is already there.
 */
export async function changeStatus(
  tx: Executor,
  appointment: Appointment,
  to: AppointmentStatus,
  cause: Cause,
  fields: Partial<typeof appointments.$inferInsert> = {},
): Promise<boolean> {
  const from = appointment.status;
  if (from === to || !canTransition(from, to, cause.type)) return false;
  await tx.update(appointments).set({ ...fields, status: to, updatedAt: new Date() })
    .where(eq(appointments.id, appointment.id));
  await tx.insert(appointmentHistory).values({
    appointmentId: appointment.id, fromStatus: from, toStatus: to, causeType: cause.type, causeId: cause.id ?? null,
  });
  return true;
}

/** The audit rows of moves already written (changeStatus's second statement, for many appointments at once). */
export async function recordTransitions(
  tx: Executor, moves: { appointmentId: string; from: AppointmentStatus; to: AppointmentStatus; cause: Cause }[],
): Promise<void> {
  if (moves.length === 0) return;
  const rows = moves.map((m) => ({
    appointment_id: m.appointmentId, from_status: m.from, to_status: m.to, cause_type: m.cause.type,
    cause_id: m.cause.id ?? null,
  }));
  await tx.execute(sql`insert into appointment_history (appointment_id, from_status, to_status, cause_type, cause_id)
    select * from json_to_recordset(${JSON.stringify(rows)}::json)
      as v(appointment_id uuid, from_status text, to_status text, cause_type text, cause_id text)`);
}

/** An audit row for an event that left the status as it was on purpose (from = to), with why. */
export async function recordKeptStatus(tx: Executor, appointment: Appointment, cause: Cause, note: string) {
  await tx.insert(appointmentHistory).values({
    appointmentId: appointment.id, fromStatus: appointment.status, toStatus: appointment.status,
    causeType: cause.type, causeId: cause.id ?? null, note,
  });
}

export interface Parties {
  patient: typeof patients.$inferSelect;
  clinic: typeof clinics.$inferSelect;
}

/** The patient and clinic an appointment belongs to (for SMS, email and time zone). */
export async function loadParties(tx: Executor, appointment: Appointment): Promise<Parties> {
  const [patient] = await tx.select().from(patients).where(eq(patients.id, appointment.patientId));
  const [clinic] = await tx.select().from(clinics).where(eq(clinics.id, appointment.clinicId));
  if (!patient || !clinic) throw new Error(`appointment ${appointment.id} has no patient or clinic`);
  return { patient, clinic };
}
