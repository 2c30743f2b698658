import { and, desc, eq, lt } from "drizzle-orm";
import { t } from "elysia";
import { webhookEvents } from "../../db/schema";
import type { Deps } from "../deps";
import { notFound } from "../http/errors";
import { replayEvent } from "../inbound/ingest";
import { managementApi } from "./auth";
import { toDto } from "./dto";
import { ErrorBody, WebhookEventStatus, WebhookProvider, NumericIdParam, WebhookEvent, WebhookEventSummary, list } from "./models";

const detail = (summary: string) => ({ tags: ["webhook events"], summary, security: [{ bearer: [] }] });

export function webhookEventRoutes(deps: Deps) {
  return managementApi(deps, "/v1/webhook-events")
    .get("/", async ({ query }) => {
      const rows = await deps.db.select({
        id: webhookEvents.id, provider: webhookEvents.provider, idempotencyKey: webhookEvents.idempotencyKey,
        receivedAt: webhookEvents.receivedAt, responseStatus: webhookEvents.responseStatus, responseMs: webhookEvents.responseMs,
        status: webhookEvents.status, attempts: webhookEvents.attempts, lastError: webhookEvents.lastError,
        processedAt: webhookEvents.processedAt,
      }).from(webhookEvents).where(and(
        query.provider ? eq(webhookEvents.provider, query.provider) : undefined,
        query.status ? eq(webhookEvents.status, query.status) : undefined,
        query.before ? lt(webhookEvents.id, query.before) : undefined,
      )).orderBy(desc(webhookEvents.id)).limit(query.limit ?? 50);
      return { data: rows.map(toDto) as (typeof WebhookEventSummary.static)[] };
    }, {
      query: t.Object({
        provider: t.Optional(WebhookProvider),
        status: t.Optional(WebhookEventStatus),
        before: t.Optional(t.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: "Cursor: only events with a smaller id" })),
        limit: t.Optional(t.Integer({ minimum: 1, maximum: 200, default: 50 })),
      }),
      response: { 200: list(WebhookEventSummary) }, detail: detail("List received webhooks, newest first"),
    })
    .get("/:id", async ({ params }) => {
      const [row] = await deps.db.select().from(webhookEvents).where(eq(webhookEvents.id, params.id));
      if (!row) throw notFound("webhook event");
      return toDto(row) as typeof WebhookEvent.static;
    }, { params: NumericIdParam, response: { 200: WebhookEvent, 404: ErrorBody }, detail: detail("Show one webhook with its raw body") })
    .post("/:id/replay", async ({ params, set }) => {
      if (!(await replayEvent(deps, params.id))) throw notFound("webhook event");
      set.status = 202;
      return { id: params.id, status: "pending" as const };
    }, {
      params: NumericIdParam,
      response: { 202: t.Object({ id: t.Integer(), status: t.Literal("pending") }), 404: ErrorBody, 409: ErrorBody },
      detail: detail("Process a stored webhook again (its effects are idempotent)"),
    });
}
