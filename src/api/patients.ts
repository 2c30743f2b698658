import { and, eq } from "drizzle-orm";
import { Elysia, t } from "elysia";
import { clinics, patients } from "../../db/schema";
import type { Deps } from "../deps";
import { normalizePhone } from "../domain/phone";
import { AppError, badRequest, notFound } from "../errors";
import { ErrorBody } from "../http/error-handler";
import { managementApi } from "./auth";
import { toDto } from "./dto";
import { apiDetail, IdParam, Patient, PatientCreate } from "./models";
import { after, type Keyset, orderBy, page, PageQuery, position, toPage } from "./paging";

const detail = apiDetail("patients");
const NEWEST_FIRST: Keyset = { sort: patients.createdAt, id: patients.id, idType: "uuid", direction: "desc" };

export function patientRoutes(deps: Deps) {
  return new Elysia({ prefix: "/v1/patients" }).use(managementApi(deps))
    .post(
      "",
      async ({ body, set }) => {
        const phone = normalizePhone(body.phone);
        if (!phone) throw badRequest("phone must be an E.164 number such as +15551234567");
        const [clinic] = await deps.db.select({ id: clinics.id }).from(clinics).where(eq(clinics.id, body.clinic_id));
        if (!clinic) throw notFound("clinic");
        const rows = await deps.db
          .insert(patients)
          .values({ clinicId: clinic.id, name: body.name, phone, email: body.email })
          .onConflictDoNothing()
          .returning();
        if (!rows[0]) throw new AppError(409, "conflict", "this clinic already has a patient with that phone");
        set.status = 201;
        return toDto(rows[0]);
      },
      {
        body: PatientCreate,
        response: { 201: Patient, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        detail: detail("createPatient", "Create a patient"),
      },
    )
    .get(
      "",
      async ({ query }) => {
        const limit = query.limit ?? 50;
        const phone = query.phone === undefined ? undefined : normalizePhone(query.phone);
        if (query.phone !== undefined && !phone)
          throw badRequest("phone: must be an E.164 number such as +15551234567");
        const rows = await deps.db
          .select({ row: patients, _position: position(NEWEST_FIRST) })
          .from(patients)
          .where(
            and(
              query.clinic_id ? eq(patients.clinicId, query.clinic_id) : undefined,
              phone ? eq(patients.phone, phone) : undefined,
              after(NEWEST_FIRST, query.cursor),
            ),
          )
          .orderBy(...orderBy(NEWEST_FIRST))
          .limit(limit + 1);
        return toPage(rows, limit, ({ row }) => toDto(row));
      },
      {
        query: t.Composite([
          PageQuery,
          t.Object({
            clinic_id: t.Optional(t.String({ format: "uuid" })),
            phone: t.Optional(
              t.String({ minLength: 3, maxLength: 30, examples: ["+15557654321"], description: "E.164" }),
            ),
          }),
        ]),
        response: { 200: page(Patient) },
        detail: detail("listPatients", "List patients, newest first"),
      },
    )
    .get(
      "/:id",
      async ({ params }) => {
        const [row] = await deps.db.select().from(patients).where(eq(patients.id, params.id));
        if (!row) throw notFound("patient");
        return toDto(row);
      },
      { params: IdParam, response: { 200: Patient, 404: ErrorBody }, detail: detail("getPatient", "Show a patient") },
    );
}
