import { sql } from "drizzle-orm";
import {
  bigint, bigserial, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid,
} from "drizzle-orm/pg-core";

const at = (name: string) => timestamp(name, { withTimezone: true });

/** An event an incident points at, so a person can look at a real case: a webhook event, delivery, email, SMS, job. */
export interface IncidentExample { kind: string; id: string; detail?: string }

/**
 * One stretch of time during which an alert rule (src/alerts/rules) found something wrong with one key (a provider,
 * an endpoint, a Twilio error code). At most one open incident per rule and key: the partial unique index is what
 * makes opening (and so notifying) happen once even when two evaluators run at the same moment.
 */
export const incidents = pgTable("incidents", {
  id: uuid("id").primaryKey().defaultRandom(),
  rule: text("rule").notNull(),
  /** What the rule is about: a provider, an endpoint id, a Twilio error code, or `all`. */
  key: text("key").notNull(),
  /** One line saying what is wrong and how badly, as of the last evaluation. */
  title: text("title").notNull(),
  /** The figures the rule last decided on (while open), or those that showed recovery (once resolved). */
  figures: jsonb("figures").$type<Record<string, unknown>>().notNull(),
  examples: jsonb("examples").$type<IncidentExample[]>().notNull().default([]),
  openedAt: at("opened_at").notNull().defaultNow(),
  lastSeenAt: at("last_seen_at").notNull().defaultNow(),
  resolvedAt: at("resolved_at"),
  /** When the last notification (opening or reminder) was queued; a reminder follows ALERT_REPEAT_HOURS later. */
  lastNotifiedAt: at("last_notified_at").notNull().defaultNow(),
  reminders: integer("reminders").notNull().default(0),
  /** Someone is on it: no more reminders (the resolution is still sent). */
  acknowledgedAt: at("acknowledged_at"),
  acknowledgedBy: text("acknowledged_by"),
}, (t) => [
  uniqueIndex("incidents_open_key").on(t.rule, t.key).where(sql`resolved_at is null`),
  index("incidents_opened_idx").on(t.openedAt),
]);

/** Twilio Debugger events (errors and warnings on the Twilio account), parsed from their stored webhook. */
export const twilioDebuggerEvents = pgTable("twilio_debugger_events", {
  id: bigserial("id", { mode: "number" }).primaryKey(),
  webhookEventId: bigint("webhook_event_id", { mode: "number" }).notNull(),
  /** Twilio's `Sid` of the debugger event (NO…): the idempotency key. */
  sid: text("sid").notNull(),
  /** `error` or `warning`. */
  level: text("level").notNull(),
  /** From the JSON `Payload`; `unknown` when Twilio sent none. */
  errorCode: text("error_code").notNull(),
  resourceSid: text("resource_sid"),
  /** Twilio's `Timestamp` of the event, when it parsed. */
  occurredAt: at("occurred_at"),
  receivedAt: at("received_at").notNull().defaultNow(),
  moreInfo: jsonb("more_info").$type<Record<string, unknown>>(),
}, (t) => [
  uniqueIndex("twilio_debugger_events_sid_key").on(t.sid),
  index("twilio_debugger_events_received_idx").on(t.receivedAt),
]);
