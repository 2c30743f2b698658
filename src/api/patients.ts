import { and, desc, eq } from "drizzle-orm";
import { t } from "elysia";
import { clinics, patients } from "../../db/schema";
import type { Deps } from "../deps";
import { normalizePhone } from "../domain/phone";
import { AppError, badRequest, notFound } from "../http/errors";
import { managementApi } from "./auth";
import { toDto } from "./dto";
import { ErrorBody, IdParam, Paging, Patient, PatientCreate, list } from "./models";

const detail = (summary: string) => ({ tags: ["patients"], summary, security: [{ bearer: [] }] });

export function patientRoutes(deps: Deps) {
  return managementApi(deps, "/v1/patients")
    .post("/", async ({ body, set }) => {
      const phone = normalizePhone(body.phone);
      if (!phone) throw badRequest("phone must be an E.164 number such as +15551234567");
      const [clinic] = await deps.db.select({ id: clinics.id }).from(clinics).where(eq(clinics.id, body.clinic_id));
      if (!clinic) throw notFound("clinic");
      const rows = await deps.db.insert(patients)
        .values({ clinicId: clinic.id, name: body.name, phone, email: body.email })
        .onConflictDoNothing().returning();
      if (!rows[0]) throw new AppError(409, "conflict", "this clinic already has a patient with that phone");
      set.status = 201;
      return toDto(rows[0]) as typeof Patient.static;
    }, { body: PatientCreate, response: { 201: Patient, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody }, detail: detail("Create a patient") })
    .get("/", async ({ query }) => {
      const phone = query.phone ? normalizePhone(query.phone) ?? query.phone : undefined;
      const rows = await deps.db.select().from(patients)
        .where(and(
          query.clinic_id ? eq(patients.clinicId, query.clinic_id) : undefined,
          phone ? eq(patients.phone, phone) : undefined,
        ))
        .orderBy(desc(patients.createdAt)).limit(query.limit ?? 50).offset(query.offset ?? 0);
      return { data: rows.map(toDto) as (typeof Patient.static)[] };
    }, {
      query: t.Composite([Paging, t.Object({
        clinic_id: t.Optional(t.String({ format: "uuid" })),
        phone: t.Optional(t.String({
          minLength: 3, maxLength: 40, examples: ["+15551234567"], description: "E.164 (a whatsapp: prefix is ignored)",
        })),
      })]),
      response: { 200: list(Patient) }, detail: detail("List patients"),
    })
    .get("/:id", async ({ params }) => {
      const [row] = await deps.db.select().from(patients).where(and(eq(patients.id, params.id)));
      if (!row) throw notFound("patient");
      return toDto(row) as typeof Patient.static;
    }, { params: IdParam, response: { 200: Patient, 404: ErrorBody }, detail: detail("Show a patient") });
}
