import { and, desc, eq, lt } from "drizzle-orm";
import { t } from "elysia";
import { webhookEvents } from "../../db/schema";
import type { Deps } from "../deps";
import { notFound } from "../http/errors";
import { replayEvent } from "../inbound/ingest";
import { STRIPE_PATH } from "../inbound/stripe";
import { paramsObject } from "../inbound/twilio";
import { TWILIO_SMS_FALLBACK_PATH, TWILIO_SMS_PATH } from "../inbound/twilio-sms";
import { TWILIO_STATUS_PATH } from "../inbound/twilio-status";
import { managementApi } from "./auth";
import { toDto } from "./dto";
import {
  ErrorBody, WebhookEventStatus, WebhookProvider, NumericIdParam, WebhookEvent, WebhookEventRaw, WebhookEventSummary,
  list,
} from "./models";

const detail = (summary: string) => ({ tags: ["webhook events"], summary, security: [{ bearer: [] }] });

/** The route an event came in on, so that a copy can be sent to another Switchboard (`simulate replay`). */
function receivedOn(provider: string, params: URLSearchParams | undefined): string {
  if (provider === "stripe") return STRIPE_PATH;
  if (provider === "twilio-status") return TWILIO_STATUS_PATH;
  return params?.has("ErrorUrl") ? TWILIO_SMS_FALLBACK_PATH : TWILIO_SMS_PATH;
}

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
        query.idempotency_key ? eq(webhookEvents.idempotencyKey, query.idempotency_key) : undefined,
      )).orderBy(desc(webhookEvents.id)).limit(query.limit ?? 50);
      return { data: rows.map(toDto) as (typeof WebhookEventSummary.static)[] };
    }, {
      query: t.Object({
        provider: t.Optional(WebhookProvider),
        status: t.Optional(WebhookEventStatus),
        idempotency_key: t.Optional(t.String({
          minLength: 1, maxLength: 500, examples: ["evt_1Q2w3E"],
          description: "Stripe event id, MessageSid, or MessageSid:MessageStatus",
        })),
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
    .get("/:id/raw", async ({ params }) => {
      const [row] = await deps.db.select({
        id: webhookEvents.id, provider: webhookEvents.provider, idempotencyKey: webhookEvents.idempotencyKey,
        receivedAt: webhookEvents.receivedAt, headers: webhookEvents.headers, rawBody: webhookEvents.rawBody,
      }).from(webhookEvents).where(eq(webhookEvents.id, params.id));
      if (!row) throw notFound("webhook event");
      const contentType = row.headers["content-type"] ?? "";
      const isForm = contentType.startsWith("application/x-www-form-urlencoded");
      const form = isForm ? new URLSearchParams(row.rawBody) : undefined;
      return {
        id: row.id, provider: row.provider, idempotency_key: row.idempotencyKey,
        received_at: row.receivedAt.toISOString(),
        path: receivedOn(row.provider, form), content_type: contentType, raw_body: row.rawBody,
        params: form ? paramsObject(form) : null,
      } as typeof WebhookEventRaw.static;
    }, {
      params: NumericIdParam, response: { 200: WebhookEventRaw, 404: ErrorBody },
      detail: {
        ...detail("A stored webhook as received: raw body, form parameters and route, to send it again elsewhere"),
        description: "What `npm run simulate -- replay` reads to re-sign a production event for a local or staging "
          + "Switchboard. The body is byte for byte what the provider sent; its signature is not kept.",
      },
    })
    .post("/:id/replay", async ({ params, set }) => {
      if (!(await replayEvent(deps, params.id))) throw notFound("webhook event");
      set.status = 202;
      return { id: params.id, status: "pending" as const };
    }, {
      params: NumericIdParam,
      response: { 202: t.Object({ id: t.Integer(), status: t.Literal("pending") }), 404: ErrorBody },
      detail: detail("Process a stored webhook again (its effects are idempotent)"),
    });
}
