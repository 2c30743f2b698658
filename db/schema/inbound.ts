import { sql } from "drizzle-orm";
import { bigserial, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

/**
 * The patient's number in a Twilio webhook as sent (form-encoded): `From` of an inbound SMS, `To` of a status
 * callback. Indexed so the console finds a patient's webhooks by phone; a query must use this same expression.
 */
export const twilioPhoneExpression = sql`(case provider
  when 'twilio-sms' then substring(raw_body from '(?:^|&)From=([^&]*)')
  when 'twilio-status' then substring(raw_body from '(?:^|&)To=([^&]*)') end)`;

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
}, (t) => [
  uniqueIndex("webhook_events_provider_key").on(t.provider, t.idempotencyKey),
  index("webhook_events_status_idx").on(t.provider, t.status, t.id),
  // The console lists newest first by (received_at, id), with or without a time range.
  index("webhook_events_received_idx").on(t.receivedAt, t.id),
  index("webhook_events_phone_idx").on(twilioPhoneExpression).where(sql`provider in ('twilio-sms', 'twilio-status')`),
]);
