import { index, integer, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

/** Fixed-window request counters for the management API, shared by every web process. */
export const apiRateLimits = pgTable("api_rate_limits", {
  keyHash: text("key_hash").notNull(),
  windowStart: timestamp("window_start", { withTimezone: true }).notNull(),
  count: integer("count").notNull().default(0),
}, (t) => [primaryKey({ columns: [t.keyHash, t.windowStart] })]);

/**
 * `Idempotency-Key` of management POSTs: the first request's answer, kept 24 hours and given again to a retry with
 * the same key and request. A row without an answer is a request still running (or one that failed with 5xx and
 * was released).
 */
export const apiIdempotencyKeys = pgTable("api_idempotency_keys", {
  keyHash: text("key_hash").notNull(),
  idempotencyKey: text("idempotency_key").notNull(),
  /** sha256 of method, path and raw body: the same key with another request is refused. */
  requestHash: text("request_hash").notNull(),
  responseStatus: integer("response_status"),
  responseBody: text("response_body"),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  primaryKey({ columns: [t.keyHash, t.idempotencyKey] }),
  index("api_idempotency_keys_created_idx").on(t.createdAt),
]);
