import { sql } from "drizzle-orm";
import { bigserial, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

/** Every verified inbound webhook, stored before it is acknowledged. */
export const webhookEvents = pgTable("webhook_events", {
  id: bigserial("id", { mode: "number" }).primaryKey(),
  provider: text("provider").notNull(),
  idempotencyKey: text("idempotency_key").notNull(),
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
}, (t) => [
  uniqueIndex("webhook_events_provider_key").on(t.provider, t.idempotencyKey),
  index("webhook_events_status_idx").on(t.provider, t.status, t.id),
  // What retention walks: only rows whose body is still there (about RETENTION_DAYS of events).
  index("webhook_events_unpurged_idx").on(t.receivedAt).where(sql`purged_at is null`),
]);
