import { eq } from "drizzle-orm";
import { Elysia } from "elysia";
import { clinics } from "../../db/schema";
import type { Deps } from "../deps";
import { isShortCode, normalizePhone } from "../domain/phone";
import { isValidTimeZone } from "../domain/time";
import { AppError, badRequest, notFound } from "../errors";
import { ErrorBody } from "../http/error-handler";
import { managementApi } from "./auth";
import { checkCallbackUrl } from "./callback-url";
import { toDto } from "./dto";
import { apiDetail, Clinic, ClinicCreate, IdParam } from "./models";
import { after, type Keyset, orderBy, page, PageQuery, position, toPage } from "./paging";

const detail = apiDetail("clinics");
const NEWEST_FIRST: Keyset = { sort: clinics.createdAt, id: clinics.id, idType: "uuid", direction: "desc" };

export function clinicRoutes(deps: Deps) {
  return new Elysia({ prefix: "/v1/clinics" }).use(managementApi(deps))
    .post(
      "",
      async ({ body, set }) => {
        const phone = normalizePhone(body.phone) ?? (isShortCode(body.phone) ? body.phone.trim() : undefined);
        if (!phone) throw badRequest("phone must be an E.164 number such as +15551234567, or a short code");
        if (!isValidTimeZone(body.timezone)) throw badRequest(`unknown time zone ${body.timezone}`);
        if (body.callback_url) await checkCallbackUrl(deps, body.callback_url);
        const rows = await deps.db
          .insert(clinics)
          .values({
            name: body.name,
            phone,
            timezone: body.timezone,
            email: body.email,
            callbackUrl: body.callback_url,
            autoReply: body.auto_reply,
            helpText: body.help_text,
            smsPerSecond: body.sms_per_second,
          })
          .onConflictDoNothing()
          .returning();
        if (!rows[0]) throw new AppError(409, "conflict", `a clinic already uses ${phone}`);
        set.status = 201;
        return toDto(rows[0]);
      },
      {
        body: ClinicCreate,
        response: { 201: Clinic, 400: ErrorBody, 409: ErrorBody },
        detail: detail("createClinic", "Create a clinic"),
      },
    )
    .get(
      "",
      async ({ query }) => {
        const limit = query.limit ?? 50;
        const rows = await deps.db
          .select({ row: clinics, _position: position(NEWEST_FIRST) })
          .from(clinics)
          .where(after(NEWEST_FIRST, query.cursor))
          .orderBy(...orderBy(NEWEST_FIRST))
          .limit(limit + 1);
        return toPage(rows, limit, ({ row }) => toDto(row));
      },
      {
        query: PageQuery,
        response: { 200: page(Clinic) },
        detail: detail("listClinics", "List clinics, newest first"),
      },
    )
    .get(
      "/:id",
      async ({ params }) => {
        const [row] = await deps.db.select().from(clinics).where(eq(clinics.id, params.id));
        if (!row) throw notFound("clinic");
        return toDto(row);
      },
      { params: IdParam, response: { 200: Clinic, 404: ErrorBody }, detail: detail("getClinic", "Show a clinic") },
    );
}
