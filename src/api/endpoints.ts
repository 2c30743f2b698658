import { and, eq } from "drizzle-orm";
import { Elysia, t } from "elysia";
import { clinics, webhookEndpoints } from "../../db/schema";
import type { Deps } from "../deps";
import { badRequest, notFound } from "../errors";
import { ErrorBody } from "../http/error-handler";
import { clinicEndpoint, enableEndpoint, replayEndpointRange, rotateSecret } from "../outbound/store";
import { managementApi } from "./auth";
import { checkCallbackUrl } from "./callback-url";
import { toDto } from "./dto";
import { apiDetail, IdParam } from "./models";
import { Endpoint, ReplayRange, SecretRotated } from "./outbound-models";
import { after, type Keyset, orderBy, page, PageQuery, position, toPage } from "./paging";

const detail = apiDetail("webhook endpoints");
const NEWEST_FIRST: Keyset = {
  sort: webhookEndpoints.createdAt,
  id: webhookEndpoints.id,
  idType: "uuid",
  direction: "desc",
};
type Row = typeof webhookEndpoints.$inferSelect;
const dto = ({ secret: _s, previousSecret: _p, secretShown: _h, updatedAt: _u, ...rest }: Row) =>
  toDto(rest);

export function endpointRoutes(deps: Deps) {
  const find = async (id: string) => {
    const [row] = await deps.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
    if (!row) throw notFound("webhook endpoint");
    return row;
  };
  return new Elysia({ prefix: "/v1/endpoints" }).use(managementApi(deps))
    .get(
      "",
      async ({ query }) => {
        const limit = query.limit ?? 50;
        const rows = await deps.db
          .select({ row: webhookEndpoints, _position: position(NEWEST_FIRST) })
          .from(webhookEndpoints)
          .where(
            and(
              query.clinic_id ? eq(webhookEndpoints.clinicId, query.clinic_id) : undefined,
              query.conversation_id ? eq(webhookEndpoints.conversationId, query.conversation_id) : undefined,
              after(NEWEST_FIRST, query.cursor),
            ),
          )
          .orderBy(...orderBy(NEWEST_FIRST))
          .limit(limit + 1);
        return toPage(rows, limit, ({ row }) => dto(row));
      },
      {
        query: t.Composite([
          PageQuery,
          t.Object({
            clinic_id: t.Optional(t.String({ format: "uuid" })),
            conversation_id: t.Optional(t.String({ format: "uuid" })),
          }),
        ]),
        response: { 200: page(Endpoint) },
        detail: detail("listEndpoints", "List webhook endpoints, newest first"),
      },
    )
    .post(
      "",
      async ({ body, set }) => {
        const [clinic] = await deps.db.select().from(clinics).where(eq(clinics.id, body.clinic_id));
        if (!clinic) throw notFound("clinic");
        if (!clinic.callbackUrl) throw badRequest("the clinic has no callback_url");
        await checkCallbackUrl(deps, clinic.callbackUrl);
        return deps.db.transaction(async (tx) => {
          const endpoint = (await clinicEndpoint(tx, clinic.id))!;
          // A lazily made endpoint has never shown its secret: show it this once, after that only rotation reveals one.
          const [shown] = await tx
            .update(webhookEndpoints)
            .set({ secretShown: true })
            .where(and(eq(webhookEndpoints.id, endpoint.id), eq(webhookEndpoints.secretShown, false)))
            .returning();
          set.status = shown ? 201 : 200;
          return { ...dto(endpoint), webhook_secret: shown ? shown.secret : null };
        });
      },
      {
        body: t.Object({ clinic_id: t.String({ format: "uuid" }) }),
        response: {
          200: t.Composite([Endpoint, t.Object({ webhook_secret: t.Union([t.String(), t.Null()]) })]),
          201: t.Composite([Endpoint, t.Object({ webhook_secret: t.Union([t.String(), t.Null()]) })]),
          400: ErrorBody,
          404: ErrorBody,
        },
        detail: detail(
          "createClinicEndpoint",
          "The clinic's endpoint for its default callback_url; its secret is returned the first time only",
        ),
      },
    )
    .get("/:id", async ({ params }) => dto(await find(params.id)), {
      params: IdParam,
      response: { 200: Endpoint, 404: ErrorBody },
      detail: detail("getEndpoint", "Show a webhook endpoint"),
    })
    .post(
      "/:id/rotate-secret",
      async ({ params }) => {
        await find(params.id);
        return (await rotateSecret(deps.db, params.id, deps.config.OUTBOUND_SECRET_OVERLAP_MS))!;
      },
      {
        params: IdParam,
        response: { 200: SecretRotated, 404: ErrorBody },
        detail: detail(
          "rotateEndpointSecret",
          "Rotate the signing secret; the old one also signs (a second v1 signature) for 24 hours",
        ),
      },
    )
    .post(
      "/:id/enable",
      async ({ params }) => {
        const row = await deps.db.transaction((tx) => enableEndpoint(tx, params.id));
        if (!row) throw notFound("webhook endpoint");
        return dto(row);
      },
      {
        params: IdParam,
        response: { 200: Endpoint, 404: ErrorBody },
        detail: detail("enableEndpoint", "Re-enable a disabled endpoint"),
      },
    )
    .post(
      "/:id/replay",
      async ({ params, body, set }) => {
        await find(params.id);
        // The console's "replay a range" runs this same function.
        const until = body.until ? new Date(body.until) : undefined;
        const ids = await deps.db.transaction((tx) => replayEndpointRange(tx, params.id, new Date(body.since), until));
        set.status = 202;
        return { replayed: ids.length, delivery_ids: ids };
      },
      {
        params: IdParam,
        body: ReplayRange,
        response: { 202: t.Object({ replayed: t.Integer(), delivery_ids: t.Array(t.String()) }), 404: ErrorBody },
        detail: detail(
          "replayEndpointFailures",
          "Send again every failed delivery of this endpoint created in [since, until]",
        ),
      },
    );
}
