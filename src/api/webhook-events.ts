import { and, eq, like, or } from "drizzle-orm";
import { t } from "elysia";
import { webhookEvents } from "../../db/schema";
import type { Deps } from "../deps";
import { normalizePhone } from "../domain/phone";
import { badRequest, notFound } from "../http/errors";
import { replayEvent } from "../inbound/ingest";
import { managementApi } from "./auth";
import { toDto } from "./dto";
import {
  apiDetail,
  ErrorBody,
  EventSource,
  NumericIdParam,
  WebhookEvent,
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

export function webhookEventRoutes(deps: Deps) {
  return managementApi(deps, "/v1/webhook-events")
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
              phone ? eq(webhookEvents.phone, phone) : undefined,
              after(NEWEST_FIRST, query.cursor),
            ),
          )
          .orderBy(...orderBy(NEWEST_FIRST))
          .limit(limit + 1);
        return toPage(rows, limit, (row) => toDto(row) as typeof WebhookEventSummary.static);
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
        return toDto(row) as typeof WebhookEvent.static;
      },
      {
        params: NumericIdParam,
        response: { 200: WebhookEvent, 404: ErrorBody },
        detail: detail("getWebhookEvent", "Show one webhook with its raw body"),
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
        response: { 202: t.Object({ id: t.Integer(), status: t.Literal("pending") }), 404: ErrorBody },
        detail: detail("replayWebhookEvent", "Process a stored webhook again (its effects are idempotent)"),
      },
    );
}
