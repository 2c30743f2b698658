import { and, eq, like, or } from "drizzle-orm";
import { Elysia, t } from "elysia";
import { webhookEvents } from "../../db/schema";
import type { Deps } from "../deps";
import { paramsObject } from "../domain/form";
import { normalizePhone } from "../domain/phone";
import { STRIPE_PATH, TWILIO_SMS_FALLBACK_PATH, TWILIO_SMS_PATH, TWILIO_STATUS_PATH } from "../domain/webhooks";
import { badRequest, notFound } from "../errors";
import { ErrorBody } from "../http/error-handler";
import { replayEvent } from "../ingest/ingest";
import { managementApi } from "./auth";
import { toDto } from "./dto";
import {
  apiDetail,
  EventSource,
  NumericIdParam,
  WebhookEvent,
  WebhookEventRaw,
  WebhookEventStatus,
  WebhookEventSummary,
  WebhookProvider,
} from "./models";
import { after, type Keyset, orderBy, page, PageQuery, position, toPage } from "./paging";

const detail = apiDetail("webhook events");
const NEWEST_FIRST: Keyset = { id: webhookEvents.id, idType: "bigint", direction: "desc" };
const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** A key as people search by it: Stripe's `evt_…`, or a MessageSid, which also finds its status callbacks. */
const keyMatches = (key: string) =>
  or(eq(webhookEvents.idempotencyKey, key), like(webhookEvents.idempotencyKey, `${escapeLike(key)}:%`));

/** The route an event came in on, so that a copy can be sent to another Switchboard (`simulate replay`). */
function receivedOn(provider: string, params: URLSearchParams | undefined): string {
  if (provider === "stripe") return STRIPE_PATH;
  if (provider === "twilio-status") return TWILIO_STATUS_PATH;
  return params?.has("ErrorUrl") ? TWILIO_SMS_FALLBACK_PATH : TWILIO_SMS_PATH;
}

export function webhookEventRoutes(deps: Deps) {
  return new Elysia({ prefix: "/v1/webhook-events" }).use(managementApi(deps))
    .get(
      "",
      async ({ query }) => {
        const limit = query.limit ?? 50;
        const phone = query.phone === undefined ? undefined : normalizePhone(query.phone);
        if (query.phone !== undefined && !phone)
          throw badRequest("phone: must be an E.164 number such as +15551234567");
        const rows = await deps.db
          .select({
            id: webhookEvents.id,
            provider: webhookEvents.provider,
            idempotencyKey: webhookEvents.idempotencyKey,
            phone: webhookEvents.phone,
            receivedAt: webhookEvents.receivedAt,
            responseStatus: webhookEvents.responseStatus,
            responseMs: webhookEvents.responseMs,
            status: webhookEvents.status,
            attempts: webhookEvents.attempts,
            lastError: webhookEvents.lastError,
            processedAt: webhookEvents.processedAt,
            source: webhookEvents.source,
            sourceNote: webhookEvents.sourceNote,
            _position: position(NEWEST_FIRST),
          })
          .from(webhookEvents)
          .where(
            and(
              query.provider ? eq(webhookEvents.provider, query.provider) : undefined,
              query.status ? eq(webhookEvents.status, query.status) : undefined,
              query.source ? eq(webhookEvents.source, query.source) : undefined,
              query.key ? keyMatches(query.key) : undefined,
              query.idempotency_key ? eq(webhookEvents.idempotencyKey, query.idempotency_key) : undefined,
              phone ? eq(webhookEvents.phone, phone) : undefined,
              after(NEWEST_FIRST, query.cursor),
            ),
          )
          .orderBy(...orderBy(NEWEST_FIRST))
          .limit(limit + 1);
        return toPage(rows, limit, (row) => toDto(row));
      },
      {
        query: t.Composite([
          PageQuery,
          t.Object({
            provider: t.Optional(WebhookProvider),
            status: t.Optional(WebhookEventStatus),
            source: t.Optional(EventSource),
            key: t.Optional(
              t.String({
                minLength: 1,
                maxLength: 200,
                examples: ["evt_1Q2w3E", "SM0123456789abcdef0123456789abcdef"],
                description:
                  "Idempotency key: a Stripe event id, or a MessageSid (also finds that message's status callbacks)",
              }),
            ),
            idempotency_key: t.Optional(
              t.String({
                minLength: 1,
                maxLength: 500,
                examples: ["SM0123456789abcdef0123456789abcdef:delivered"],
                description: "Exactly this idempotency key (Stripe event id, MessageSid, or MessageSid:MessageStatus)",
              }),
            ),
            phone: t.Optional(
              t.String({
                minLength: 3,
                maxLength: 30,
                examples: ["+15557654321"],
                description: "The patient's number: From of an inbound SMS, To of a status callback",
              }),
            ),
          }),
        ]),
        response: { 200: page(WebhookEventSummary) },
        detail: detail("listWebhookEvents", "List received webhooks, newest first"),
      },
    )
    .get(
      "/:id",
      async ({ params }) => {
        const [row] = await deps.db.select().from(webhookEvents).where(eq(webhookEvents.id, params.id));
        if (!row) throw notFound("webhook event");
        return toDto(row);
      },
      {
        params: NumericIdParam,
        response: { 200: WebhookEvent, 404: ErrorBody },
        detail: detail("getWebhookEvent", "Show one webhook with its raw body"),
      },
    )
    .get(
      "/:id/raw",
      async ({ params }) => {
        const [row] = await deps.db.select({
          id: webhookEvents.id, provider: webhookEvents.provider, idempotencyKey: webhookEvents.idempotencyKey,
          receivedAt: webhookEvents.receivedAt, headers: webhookEvents.headers, rawBody: webhookEvents.rawBody,
        }).from(webhookEvents).where(eq(webhookEvents.id, params.id));
        if (!row) throw notFound("webhook event");
        const contentType = row.headers["content-type"] ?? "";
        const form = contentType.startsWith("application/x-www-form-urlencoded")
          ? new URLSearchParams(row.rawBody) : undefined;
        return {
          id: row.id, provider: row.provider, idempotency_key: row.idempotencyKey,
          received_at: row.receivedAt.toISOString(),
          path: receivedOn(row.provider, form), content_type: contentType, raw_body: row.rawBody,
          params: form ? paramsObject(form) : null,
        };
      },
      {
        params: NumericIdParam,
        response: { 200: WebhookEventRaw, 404: ErrorBody },
        detail: {
          ...detail("getWebhookEventRaw", "A stored webhook as received: raw body, form parameters and route"),
          description: "What `npm run simulate -- replay` reads to re-sign a production event for a local or staging "
            + "Switchboard. The body is byte for byte what the provider sent; its signature is not kept.",
        },
      },
    )
    .post(
      "/:id/replay",
      async ({ params, set }) => {
        if (!(await replayEvent(deps, params.id))) throw notFound("webhook event");
        set.status = 202;
        return { id: params.id, status: "pending" as const };
      },
      {
        params: NumericIdParam,
        response: { 202: t.Object({ id: t.Integer(), status: t.Literal("pending") }), 404: ErrorBody, 409: ErrorBody },
        detail: detail("replayWebhookEvent", "Process a stored webhook again (its effects are idempotent)"),
      },
    );
}
