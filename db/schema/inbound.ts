import { sql } from "drizzle-orm";
import { bigserial, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

/** Every verified inbound webhook, stored before it is acknowledged. */
export const webhookEvents = pgTable("webhook_events", {
  id: bigserial("id", { mode: "number" }).primaryKey(),
  provider: text("provider").notNull(),
  idempotencyKey: text("idempotency_key").notNull(),
  /** The patient's side of a Twilio webhook (inbound `From`, status callback `To`), E.164: operators search by it. */
  phone: text("phone"),
  /** Twilio's `I-Twilio-Idempotency-Token`, when sent. */
  providerToken: text("provider_token"),
  headers: jsonb("headers").$type<Record<string, string>>().notNull(),
  rawBody: text("raw_body").notNull(),
  receivedAt: timestamp("received_at", { withTimezone: true }).notNull().defaultNow(),
  responseStatus: integer("response_status").notNull(),
  responseBody: text("response_body").notNull(),
  responseContentType: text("response_content_type").notNull(),
  responseMs: integer("response_ms"),
  status: text("status").notNull().default("pending"),
  attempts: integer("attempts").notNull().default(0),
  lastError: text("last_error"),
  processedAt: timestamp("processed_at", { withTimezone: true }),
  /**
   * When retention (RETENTION_DAYS) emptied raw_body and headers. The row, its key, its answer and its outcome stay,
   * so a late duplicate still gets the first answer; the event can no longer be replayed.
   */
  purgedAt: timestamp("purged_at", { withTimezone: true }),
  /** `webhook` (the provider called us) or `reconcile` (found by asking the provider, src/reconcile/). */
  source: text("source").notNull().default("webhook"),
  /** Why a reconciled event was fetched, for the event log and the console. */
  sourceNote: text("source_note"),
}, (t) => [
  uniqueIndex("webhook_events_provider_key").on(t.provider, t.idempotencyKey),
  index("webhook_events_status_idx").on(t.provider, t.status, t.id),
  index("webhook_events_reconciled_idx").on(t.id).where(sql`source <> 'webhook'`),
  // The console lists newest first by (received_at, id), with or without a time range.
  index("webhook_events_received_idx").on(t.receivedAt, t.id),
  // The management API's search by key (`evt_…`, or a MessageSid that prefixes its status callbacks' keys) and phone.
  index("webhook_events_key_idx").using("btree", t.idempotencyKey.op("text_pattern_ops")),
  index("webhook_events_phone_idx").on(t.phone, t.id).where(sql`phone is not null`),
  // Alert rules read a window of recent events per provider (failure share, answer times, silence).
  index("webhook_events_provider_received_idx").on(t.provider, t.receivedAt),
  // What retention walks: only rows whose body is still there (about RETENTION_DAYS of events).
  index("webhook_events_unpurged_idx").on(t.receivedAt).where(sql`purged_at is null`),
]);
