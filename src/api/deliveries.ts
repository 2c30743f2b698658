import { and, asc, desc, eq, gte, lte } from "drizzle-orm";
import { t } from "elysia";
import { deliveries, deliveryAttempts } from "../../db/schema";
import type { Deps } from "../deps";
import { AppError, notFound } from "../http/errors";
import { retryDelivery } from "../outbound/store";
import { managementApi } from "./auth";
import { toDto } from "./dto";
import { ErrorBody, IdParam, list } from "./models";
import { DeliveryDetail, DeliverySummary } from "./outbound-models";

const detail = (summary: string) => ({ tags: ["deliveries"], summary, security: [{ bearer: [] }] });
const summary = (row: typeof deliveries.$inferSelect) => {
  const { body: _b, seq: _s, dedupeKey: _d, orderKey: _o, roundStart: _r, ...rest } = row;
  return toDto(rest) as typeof DeliverySummary.static;
};
const Status = t.Union([t.Literal("pending"), t.Literal("succeeded"), t.Literal("failed")]);

export function deliveryRoutes(deps: Deps) {
  return managementApi(deps, "/v1/deliveries")
    .get("/", async ({ query }) => {
      const rows = await deps.db.select().from(deliveries).where(and(
        query.conversation_id ? eq(deliveries.conversationId, query.conversation_id) : undefined,
        query.endpoint_id ? eq(deliveries.endpointId, query.endpoint_id) : undefined,
        query.status ? eq(deliveries.status, query.status) : undefined,
        query.since ? gte(deliveries.createdAt, new Date(query.since)) : undefined,
        query.until ? lte(deliveries.createdAt, new Date(query.until)) : undefined,
      )).orderBy(desc(deliveries.seq)).limit(query.limit ?? 50).offset(query.offset ?? 0);
      return { data: rows.map(summary) };
    }, {
      query: t.Object({
        conversation_id: t.Optional(t.String({ format: "uuid" })),
        endpoint_id: t.Optional(t.String({ format: "uuid" })),
        status: t.Optional(Status),
        since: t.Optional(t.String({ format: "date-time" })),
        until: t.Optional(t.String({ format: "date-time" })),
        limit: t.Optional(t.Integer({ minimum: 1, maximum: 200 })),
        offset: t.Optional(t.Integer({ minimum: 0 })),
      }),
      response: { 200: list(DeliverySummary) }, detail: detail("List outbound webhook deliveries, newest first"),
    })
    .get("/:id", async ({ params }) => {
      const [row] = await deps.db.select().from(deliveries).where(eq(deliveries.id, params.id));
      if (!row) throw notFound("delivery");
      const attempts = await deps.db.select().from(deliveryAttempts)
        .where(eq(deliveryAttempts.deliveryId, row.id)).orderBy(asc(deliveryAttempts.attempt));
      return {
        ...summary(row), body: row.body,
        attempts_log: attempts.map(({ id: _i, deliveryId: _d, ...a }) => toDto(a)) as (typeof DeliveryDetail.static)["attempts_log"],
      };
    }, { params: IdParam, response: { 200: DeliveryDetail, 404: ErrorBody }, detail: detail("Show a delivery, its body and every attempt") })
    .post("/:id/retry", async ({ params, set }) => {
      const result = await deps.db.transaction((tx) => retryDelivery(tx, params.id));
      if (result.kind === "missing") throw notFound("delivery");
      if (result.kind === "pending") throw new AppError(409, "already_pending", "this delivery is still being sent");
      set.status = 202;
      return { id: result.id, status: "pending" as const };
    }, {
      params: IdParam,
      response: { 202: t.Object({ id: t.String(), status: t.Literal("pending") }), 404: ErrorBody, 409: ErrorBody },
      detail: detail("Send a delivery again (same webhook-id, fresh retry schedule)"),
    });
}
