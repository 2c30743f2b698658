import { and, asc, eq, gte, lte } from "drizzle-orm";
import { Elysia, t } from "elysia";
import { deliveries, deliveryAttempts } from "../../db/schema";
import type { Deps } from "../deps";
import { AppError, notFound } from "../errors";
import { ErrorBody } from "../http/error-handler";
import { retryDelivery } from "../outbound/store";
import { managementApi } from "./auth";
import { toDto } from "./dto";
import { apiDetail, IdParam } from "./models";
import { DeliveryDetail, DeliverySummary } from "./outbound-models";
import { after, type Keyset, orderBy, page, PageQuery, position, toPage } from "./paging";

const detail = apiDetail("deliveries");
// seq orders deliveries as they were created, and is unique: it is the list's own tiebreaker.
const NEWEST_FIRST: Keyset = { id: deliveries.seq, idType: "bigint", direction: "desc" };
const summary = (row: typeof deliveries.$inferSelect) => {
  const { body: _b, seq: _s, dedupeKey: _d, orderKey: _o, roundStart: _r, ...rest } = row;
  return toDto(rest);
};
const Status = t.Union([t.Literal("pending"), t.Literal("succeeded"), t.Literal("failed")]);

export function deliveryRoutes(deps: Deps) {
  return new Elysia({ prefix: "/v1/deliveries" }).use(managementApi(deps))
    .get(
      "",
      async ({ query }) => {
        const limit = query.limit ?? 50;
        const rows = await deps.db
          .select({ row: deliveries, _position: position(NEWEST_FIRST) })
          .from(deliveries)
          .where(
            and(
              query.conversation_id ? eq(deliveries.conversationId, query.conversation_id) : undefined,
              query.endpoint_id ? eq(deliveries.endpointId, query.endpoint_id) : undefined,
              query.status ? eq(deliveries.status, query.status) : undefined,
              query.since ? gte(deliveries.createdAt, new Date(query.since)) : undefined,
              query.until ? lte(deliveries.createdAt, new Date(query.until)) : undefined,
              after(NEWEST_FIRST, query.cursor),
            ),
          )
          .orderBy(...orderBy(NEWEST_FIRST))
          .limit(limit + 1);
        return toPage(rows, limit, ({ row }) => summary(row));
      },
      {
        query: t.Composite([
          PageQuery,
          t.Object({
            conversation_id: t.Optional(t.String({ format: "uuid" })),
            endpoint_id: t.Optional(t.String({ format: "uuid" })),
            status: t.Optional(Status),
            since: t.Optional(t.String({ format: "date-time" })),
            until: t.Optional(t.String({ format: "date-time" })),
          }),
        ]),
        response: { 200: page(DeliverySummary) },
        detail: detail("listDeliveries", "List outbound webhook deliveries, newest first"),
      },
    )
    .get(
      "/:id",
      async ({ params }) => {
        const [row] = await deps.db.select().from(deliveries).where(eq(deliveries.id, params.id));
        if (!row) throw notFound("delivery");
        const attempts = await deps.db
          .select()
          .from(deliveryAttempts)
          .where(eq(deliveryAttempts.deliveryId, row.id))
          .orderBy(asc(deliveryAttempts.attempt));
        return {
          ...summary(row),
          body: row.body,
          attempts_log: attempts.map(({ id: _i, deliveryId: _d, ...a }) => toDto(a)),
        };
      },
      {
        params: IdParam,
        response: { 200: DeliveryDetail, 404: ErrorBody },
        detail: detail("getDelivery", "Show a delivery, its body and every attempt"),
      },
    )
    .post(
      "/:id/retry",
      async ({ params, set }) => {
        // The console's Retry runs this same function.
        const result = await deps.db.transaction((tx) => retryDelivery(tx, params.id));
        if (result.kind === "missing") throw notFound("delivery");
        if (result.kind === "pending") throw new AppError(409, "already_pending", "this delivery is still being sent");
        set.status = 202;
        return { id: result.id, status: "pending" as const };
      },
      {
        params: IdParam,
        response: { 202: t.Object({ id: t.String(), status: t.Literal("pending") }), 404: ErrorBody, 409: ErrorBody },
        detail: detail("retryDelivery", "Send a delivery again (same webhook-id, fresh retry schedule)"),
      },
    );
}
