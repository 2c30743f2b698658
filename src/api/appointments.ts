import { and, asc, desc, eq } from "drizzle-orm";
import { t } from "elysia";
import { appointmentHistory, appointments, patients } from "../../db/schema";
import type { Deps } from "../deps";
import { type AppointmentStatus, canTransition } from "../domain/appointments";
import { changeStatus, lockAppointment } from "../effects/appointments";
import { AppError, badRequest, notFound } from "../http/errors";
import { managementApi } from "./auth";
import { toDto } from "./dto";
import { Appointment, AppointmentCreate, AppointmentPatch, AppointmentStatus as StatusSchema, ErrorBody, HistoryEntry, IdParam, Paging, list } from "./models";

const detail = (summary: string) => ({ tags: ["appointments"], summary, security: [{ bearer: [] }] });
type Dto = typeof Appointment.static;

export function appointmentRoutes(deps: Deps) {
  return managementApi(deps, "/v1/appointments")
    .post("/", async ({ body, set }) => {
      const [patient] = await deps.db.select().from(patients).where(eq(patients.id, body.patient_id));
      if (!patient) throw notFound("patient");
      const [row] = await deps.db.insert(appointments).values({
        clinicId: patient.clinicId, patientId: patient.id, startsAt: new Date(body.starts_at),
        depositAmount: body.deposit_amount, currency: body.currency?.toLowerCase(),
      }).returning();
      set.status = 201;
      return toDto(row!) as Dto;
    }, { body: AppointmentCreate, response: { 201: Appointment, 404: ErrorBody }, detail: detail("Create an appointment") })
    .get("/", async ({ query }) => {
      const where = and(
        query.patient_id ? eq(appointments.patientId, query.patient_id) : undefined,
        query.clinic_id ? eq(appointments.clinicId, query.clinic_id) : undefined,
        query.status ? eq(appointments.status, query.status) : undefined,
      );
      const rows = await deps.db.select().from(appointments).where(where)
        .orderBy(desc(appointments.startsAt)).limit(query.limit ?? 50).offset(query.offset ?? 0);
      return { data: rows.map(toDto) as Dto[] };
    }, {
      query: t.Composite([Paging, t.Object({
        patient_id: t.Optional(t.String({ format: "uuid" })),
        clinic_id: t.Optional(t.String({ format: "uuid" })),
        status: t.Optional(StatusSchema),
      })]),
      response: { 200: list(Appointment) }, detail: detail("List appointments"),
    })
    .get("/:id", async ({ params }) => {
      const [row] = await deps.db.select().from(appointments).where(eq(appointments.id, params.id));
      if (!row) throw notFound("appointment");
      return toDto(row) as Dto;
    }, { params: IdParam, response: { 200: Appointment, 404: ErrorBody }, detail: detail("Show an appointment") })
    .patch("/:id", async ({ params, body }) => {
      const row = await deps.db.transaction(async (tx) => {
        const current = await lockAppointment(tx, params.id);
        if (!current) throw notFound("appointment");
        const fields = {
          ...(body.starts_at ? { startsAt: new Date(body.starts_at), reminderSentAt: null } : {}),
          ...(body.deposit_amount !== undefined ? { depositAmount: body.deposit_amount } : {}),
        };
        const to = body.status as AppointmentStatus | undefined;
        if (to && to !== current.status) {
          if (!canTransition(current.status as AppointmentStatus, to, "api")) {
            throw new AppError(409, "invalid_transition", `cannot move an appointment from ${current.status} to ${to}`);
          }
          await changeStatus(tx, current, to, { type: "api" }, fields);
        } else if (Object.keys(fields).length > 0) {
          await tx.update(appointments).set({ ...fields, updatedAt: new Date() }).where(eq(appointments.id, current.id));
        } else if (!to) {
          throw badRequest("nothing to change");
        }
        const [updated] = await tx.select().from(appointments).where(eq(appointments.id, current.id));
        return updated!;
      });
      return toDto(row) as Dto;
    }, { params: IdParam, body: AppointmentPatch, response: { 200: Appointment, 404: ErrorBody, 409: ErrorBody }, detail: detail("Change an appointment (status moves follow the transition table)") })
    .get("/:id/history", async ({ params }) => {
      const [exists] = await deps.db.select({ id: appointments.id }).from(appointments).where(eq(appointments.id, params.id));
      if (!exists) throw notFound("appointment");
      const rows = await deps.db.select().from(appointmentHistory)
        .where(eq(appointmentHistory.appointmentId, params.id)).orderBy(asc(appointmentHistory.id));
      return { data: rows.map(({ appointmentId: _, ...r }) => toDto(r)) as (typeof HistoryEntry.static)[] };
    }, { params: IdParam, response: { 200: list(HistoryEntry), 404: ErrorBody }, detail: detail("Audit trail of status changes") });
}
