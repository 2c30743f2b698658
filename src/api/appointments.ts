import { and, eq, gte, lt } from "drizzle-orm";
import { Elysia, t } from "elysia";
import { appointmentHistory, appointments, patients } from "../../db/schema";
import type { Deps } from "../deps";
import { canTransition } from "../domain/appointments";
import { changeStatus, lockAppointment } from "../effects/appointments";
import { AppError, badRequest, notFound } from "../errors";
import { ErrorBody } from "../http/error-handler";
import { managementApi } from "./auth";
import { toDto } from "./dto";
import {
  apiDetail,
  Appointment,
  AppointmentCreate,
  AppointmentPatch,
  AppointmentStatus as StatusSchema,
  HistoryEntry,
  IdParam,
} from "./models";
import { after, type Keyset, orderBy, page, PageQuery, position, toPage } from "./paging";

const detail = apiDetail("appointments");
const LATEST_START_FIRST: Keyset = {
  sort: appointments.startsAt,
  id: appointments.id,
  idType: "uuid",
  direction: "desc",
};
const OLDEST_CHANGE_FIRST: Keyset = { id: appointmentHistory.id, idType: "bigint", direction: "asc" };
const TimeFilter = (description: string) => t.Optional(t.String({ format: "date-time", description }));

export function appointmentRoutes(deps: Deps) {
  return new Elysia({ prefix: "/v1/appointments" }).use(managementApi(deps))
    .post(
      "",
      async ({ body, set }) => {
        const [patient] = await deps.db.select().from(patients).where(eq(patients.id, body.patient_id));
        if (!patient) throw notFound("patient");
        const [row] = await deps.db
          .insert(appointments)
          .values({
            clinicId: patient.clinicId,
            patientId: patient.id,
            startsAt: new Date(body.starts_at),
            depositAmount: body.deposit_amount,
            currency: body.currency?.toLowerCase(),
          })
          .returning();
        set.status = 201;
        return toDto(row!);
      },
      {
        body: AppointmentCreate,
        response: { 201: Appointment, 404: ErrorBody },
        detail: detail("createAppointment", "Create an appointment"),
      },
    )
    .get(
      "",
      async ({ query }) => {
        const limit = query.limit ?? 50;
        const rows = await deps.db
          .select({ row: appointments, _position: position(LATEST_START_FIRST) })
          .from(appointments)
          .where(
            and(
              query.patient_id ? eq(appointments.patientId, query.patient_id) : undefined,
              query.clinic_id ? eq(appointments.clinicId, query.clinic_id) : undefined,
              query.status ? eq(appointments.status, query.status) : undefined,
              query.starts_after ? gte(appointments.startsAt, new Date(query.starts_after)) : undefined,
              query.starts_before ? lt(appointments.startsAt, new Date(query.starts_before)) : undefined,
              after(LATEST_START_FIRST, query.cursor),
            ),
          )
          .orderBy(...orderBy(LATEST_START_FIRST))
          .limit(limit + 1);
        return toPage(rows, limit, ({ row }) => toDto(row));
      },
      {
        query: t.Composite([
          PageQuery,
          t.Object({
            patient_id: t.Optional(t.String({ format: "uuid" })),
            clinic_id: t.Optional(t.String({ format: "uuid" })),
            status: t.Optional(StatusSchema),
            starts_after: TimeFilter("Only appointments starting at or after this time"),
            starts_before: TimeFilter("Only appointments starting before this time"),
          }),
        ]),
        response: { 200: page(Appointment) },
        detail: detail("listAppointments", "List appointments, latest start first"),
      },
    )
    .get(
      "/:id",
      async ({ params }) => {
        const [row] = await deps.db.select().from(appointments).where(eq(appointments.id, params.id));
        if (!row) throw notFound("appointment");
        return toDto(row);
      },
      {
        params: IdParam,
        response: { 200: Appointment, 404: ErrorBody },
        detail: detail("getAppointment", "Show an appointment"),
      },
    )
    .patch(
      "/:id",
      async ({ params, body }) => {
        const row = await deps.db.transaction(async (tx) => {
          const current = await lockAppointment(tx, params.id);
          if (!current) throw notFound("appointment");
          const fields = {
            ...(body.starts_at ? { startsAt: new Date(body.starts_at), reminderSentAt: null } : {}),
            ...(body.deposit_amount !== undefined ? { depositAmount: body.deposit_amount } : {}),
          };
          const to = body.status;
          if (to && to !== current.status) {
            if (!canTransition(current.status, to, "api")) {
              throw new AppError(
                409,
                "invalid_transition",
                `cannot move an appointment from ${current.status} to ${to}`,
              );
            }
            await changeStatus(tx, current, to, { type: "api" }, fields);
          } else if (Object.keys(fields).length > 0) {
            await tx
              .update(appointments)
              .set({ ...fields, updatedAt: new Date() })
              .where(eq(appointments.id, current.id));
          } else if (!to) {
            throw badRequest("nothing to change");
          }
          const [updated] = await tx.select().from(appointments).where(eq(appointments.id, current.id));
          return updated!;
        });
        return toDto(row);
      },
      {
        params: IdParam,
        body: AppointmentPatch,
        response: { 200: Appointment, 404: ErrorBody, 409: ErrorBody },
        detail: detail("updateAppointment", "Change an appointment (status moves follow the transition table)"),
      },
    )
    .get(
      "/:id/history",
      async ({ params, query }) => {
        const [exists] = await deps.db
          .select({ id: appointments.id })
          .from(appointments)
          .where(eq(appointments.id, params.id));
        if (!exists) throw notFound("appointment");
        const limit = query.limit ?? 50;
        const rows = await deps.db
          .select({ row: appointmentHistory, _position: position(OLDEST_CHANGE_FIRST) })
          .from(appointmentHistory)
          .where(and(eq(appointmentHistory.appointmentId, params.id), after(OLDEST_CHANGE_FIRST, query.cursor)))
          .orderBy(...orderBy(OLDEST_CHANGE_FIRST))
          .limit(limit + 1);
        return toPage(rows, limit, ({ row: { appointmentId: _, ...r } }) => toDto(r));
      },
      {
        params: IdParam,
        query: PageQuery,
        response: { 200: page(HistoryEntry), 404: ErrorBody },
        detail: detail("listAppointmentHistory", "Audit trail of status changes, oldest first"),
      },
    );
}
