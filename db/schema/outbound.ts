import { sql } from "drizzle-orm";
import { bigserial, boolean, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import type { DeliveryStatus } from "../../src/domain/webhook-delivery";
import { clinics } from "./clinic";
import { conversations } from "./conversations";

const at = (name: string) => timestamp(name, { withTimezone: true });

/**
 * A customer callback URL with its signing secret: one per API conversation, one per clinic (its default
 * callback_url, used by its patients' SMS conversations and clinic events).
 */
export const webhookEndpoints = pgTable("webhook_endpoints", {
  id: uuid("id").primaryKey().defaultRandom(),
  url: text("url").notNull(),
  conversationId: uuid("conversation_id").references(() => conversations.id),
  clinicId: uuid("clinic_id").references(() => clinics.id),
  secret: text("secret").notNull(),
  /** Still signed with (a second v1 signature) until previous_secret_expires_at, so receivers can roll over. */
  previousSecret: text("previous_secret"),
  previousSecretExpiresAt: at("previous_secret_expires_at"),
  /** A clinic endpoint made lazily has never shown its secret; the first reveal shows it, later ones rotate. */
  secretShown: boolean("secret_shown").notNull().default(false),
  /** Start of the current run of failed attempts; null after any success. */
  failingSince: at("failing_since"),
  disabledAt: at("disabled_at"),
  disabledReason: text("disabled_reason"),
  /** Set on Switchboard's own endpoints (no conversation, no clinic): `alerts` is ALERT_WEBHOOK_URL. */
  purpose: text("purpose"),
  createdAt: at("created_at").notNull().defaultNow(),
  updatedAt: at("updated_at").notNull().defaultNow(),
}, (t) => [
  uniqueIndex("webhook_endpoints_conversation_key").on(t.conversationId).where(sql`conversation_id is not null`),
  uniqueIndex("webhook_endpoints_clinic_key").on(t.clinicId).where(sql`clinic_id is not null`),
  uniqueIndex("webhook_endpoints_purpose_key").on(t.purpose).where(sql`purpose is not null`),
]);

/** One webhook to send: its body and webhook-id are fixed at creation so every attempt is identical. */
export const deliveries = pgTable("deliveries", {
  id: uuid("id").primaryKey().defaultRandom(),
  /** Creation order; deliveries with the same order_key start in this order. */
  seq: bigserial("seq", { mode: "number" }).notNull(),
  endpointId: uuid("endpoint_id").notNull().references(() => webhookEndpoints.id),
  conversationId: uuid("conversation_id"),
  messageId: uuid("message_id"),
  clinicEventId: uuid("clinic_event_id"),
  eventType: text("event_type").notNull(),
  /** Makes creation idempotent when a deliver-* job runs twice. */
  dedupeKey: text("dedupe_key").notNull(),
  orderKey: text("order_key"),
  webhookId: text("webhook_id").notNull(),
  body: text("body").notNull(),
  status: text("status").$type<DeliveryStatus>().notNull().default("pending"),
  /** Completed attempts, all rounds. */
  attempts: integer("attempts").notNull().default(0),
  /** `attempts` when the current round began (a manual retry or replay starts a fresh retry schedule). */
  roundStart: integer("round_start").notNull().default(0),
  nextAttemptAt: at("next_attempt_at").notNull().defaultNow(),
  lastStatus: integer("last_status"),
  lastError: text("last_error"),
  createdAt: at("created_at").notNull().defaultNow(),
  completedAt: at("completed_at"),
}, (t) => [
  uniqueIndex("deliveries_dedupe_key").on(t.dedupeKey),
  index("deliveries_order_idx").on(t.orderKey, t.seq).where(sql`status = 'pending'`),
  index("deliveries_conversation_idx").on(t.conversationId, t.seq),
  index("deliveries_endpoint_status_idx").on(t.endpointId, t.status, t.createdAt),
  index("deliveries_pending_idx").on(t.createdAt).where(sql`status = 'pending'`),
  // The console: newest first (and time ranges), and the deliveries a message or clinic event caused.
  index("deliveries_created_idx").on(t.createdAt, t.seq),
  index("deliveries_message_idx").on(t.messageId).where(sql`message_id is not null`),
  index("deliveries_clinic_event_idx").on(t.clinicEventId).where(sql`clinic_event_id is not null`),
  // The alert rule on failures clustering per endpoint reads the failures of the last minutes.
  index("deliveries_failed_idx").on(t.completedAt).where(sql`status = 'failed'`),
]);

/** Every HTTP attempt of a delivery, including ones refused before connecting (SSRF). */
export const deliveryAttempts = pgTable("delivery_attempts", {
  id: bigserial("id", { mode: "number" }).primaryKey(),
  deliveryId: uuid("delivery_id").notNull().references(() => deliveries.id),
  attempt: integer("attempt").notNull(),
  startedAt: at("started_at").notNull(),
  durationMs: integer("duration_ms").notNull(),
  /** The address actually connected to, after the SSRF check. */
  address: text("address"),
  statusCode: integer("status_code"),
  errorType: text("error_type"),
  error: text("error"),
  /** First 4 KiB. */
  responseBody: text("response_body"),
}, (t) => [
  index("delivery_attempts_delivery_idx").on(t.deliveryId, t.attempt),
  // Retries per minute (an alert rule) count recent attempts.
  index("delivery_attempts_started_idx").on(t.startedAt),
  // What retention walks: attempts whose response body is still kept.
  index("delivery_attempts_body_idx").on(t.startedAt).where(sql`response_body is not null`),
]);

/**
 * Per-endpoint send slots shared by every worker process: a row is taken before an attempt starts
 * (in flight until released_at) and kept for the rate window (started per window).
 */
export const outboundSlots = pgTable("outbound_slots", {
  id: bigserial("id", { mode: "number" }).primaryKey(),
  endpointId: uuid("endpoint_id").notNull().references(() => webhookEndpoints.id),
  deliveryId: uuid("delivery_id").notNull(),
  startedAt: at("started_at").notNull(),
  /** A worker killed mid-attempt never releases; its slot stops counting as in flight at this time. */
  expiresAt: at("expires_at").notNull(),
  releasedAt: at("released_at"),
}, (t) => [index("outbound_slots_endpoint_idx").on(t.endpointId, t.startedAt)]);
