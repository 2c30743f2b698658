import { and, desc, eq, inArray, or, sql } from "drizzle-orm";
import { auditLog, webhookEvents } from "../../../db/schema";
import type { Db } from "../../db";
import { normalizePhone } from "../../domain/phone";
import { SMS_STATUSES } from "../../domain/sms-status";
import { cursorOf, olderThan, oneOf, page, PAGE_SIZE, parseCursor, parseTime, text } from "./keyset";

export const PROVIDERS = ["stripe", "twilio-sms", "twilio-status"] as const;
export const EVENT_STATUSES = ["pending", "processed", "failed", "ignored"] as const;

export interface EventFilters {
  provider?: (typeof PROVIDERS)[number];
  status?: (typeof EVENT_STATUSES)[number];
  since?: Date;
  until?: Date;
  key?: string;
  phone?: string;
  /** The phone as typed when it is not a phone number (the page says so). */
  badPhone?: string;
  before?: string;
}

export function eventFilters(query: Record<string, unknown>): EventFilters {
  const phoneText = text(query.phone, 40);
  const phone = phoneText ? normalizePhone(phoneText) : undefined;
  return {
    provider: oneOf(query.provider, PROVIDERS),
    status: oneOf(query.status, EVENT_STATUSES),
    since: parseTime(query.since),
    until: parseTime(query.until),
    key: text(query.key, 300),
    phone,
    badPhone: phoneText && !phone ? phoneText : undefined,
    before: parseCursor(query.before) ? String(query.before) : undefined,
  };
}

/**
 * A key matches itself, and a MessageSid also matches its status callbacks (`<sid>:<status>`), spelled out so the
 * unique (provider, key) index answers it.
 */
const keyMatch = (key: string) => {
  const keys = [key, ...(/^(SM|MM)[0-9a-f]{32}$/i.test(key) ? SMS_STATUSES.map((s) => `${key}:${s}`) : [])];
  return inArray(webhookEvents.idempotencyKey, keys);
};

/**
 * The ids are gathered first (an init plan over the phone index): left to choose, the planner may walk the
 * newest-first index testing every row.
 */
const phoneMatch = (phone: string) =>
  sql`${webhookEvents.id} = any(array(select id from webhook_events where phone = ${phone}))`;

export async function listEvents(db: Db, f: EventFilters) {
  const rows = await db
    .select({
      id: webhookEvents.id,
      provider: webhookEvents.provider,
      key: webhookEvents.idempotencyKey,
      receivedAt: webhookEvents.receivedAt,
      responseStatus: webhookEvents.responseStatus,
      responseMs: webhookEvents.responseMs,
      status: webhookEvents.status,
      attempts: webhookEvents.attempts,
      lastError: webhookEvents.lastError,
      preview: sql<string>`left(${webhookEvents.rawBody}, 4096)`,
      cursor: cursorOf(webhookEvents.receivedAt, webhookEvents.id),
    })
    .from(webhookEvents)
    .where(
      and(
        f.provider ? eq(webhookEvents.provider, f.provider) : undefined,
        f.status ? eq(webhookEvents.status, f.status) : undefined,
        f.since ? sql`${webhookEvents.receivedAt} >= ${f.since.toISOString()}` : undefined,
        f.until ? sql`${webhookEvents.receivedAt} < ${f.until.toISOString()}` : undefined,
        f.key ? keyMatch(f.key) : undefined,
        f.phone ? phoneMatch(f.phone) : undefined,
        olderThan(webhookEvents.receivedAt, webhookEvents.id, parseCursor(f.before), "bigint"),
      ),
    )
    .orderBy(desc(webhookEvents.receivedAt), desc(webhookEvents.id))
    .limit(PAGE_SIZE + 1);
  return page(rows);
}

export type EventRow = Awaited<ReturnType<typeof listEvents>>["rows"][number];

/** A line saying what a webhook was about, from the start of its body. */
export function eventSummary(provider: string, body: string): string {
  if (provider === "stripe") {
    try {
      const event = JSON.parse(body) as { type?: string; data?: { object?: { metadata?: Record<string, string> } } };
      const booking = event.data?.object?.metadata?.booking_id ?? event.data?.object?.metadata?.appointment_id;
      return `${event.type ?? "event"}${booking ? ` · appointment ${booking.slice(0, 8)}` : ""}`;
    } catch {
      return /"type"\s*:\s*"([\w.]+)"/.exec(body)?.[1] ?? "Stripe event";
    }
  }
  const params = new URLSearchParams(body);
  if (provider === "twilio-sms") {
    const content = params.get("Body") ?? "";
    return `from ${params.get("From") ?? "?"}: ${content.length > 60 ? `${content.slice(0, 60)}…` : content}`;
  }
  const code = params.get("ErrorCode");
  return `${params.get("MessageStatus") ?? params.get("SmsStatus") ?? "?"} to `
    + `${params.get("To") ?? "?"}${code ? ` (error ${code})` : ""}`;
}

export async function getEvent(db: Db, id: number) {
  const [row] = await db.select().from(webhookEvents).where(eq(webhookEvents.id, id));
  return row;
}

/** The graphile-worker job that will (re)process this event, when one is waiting or retrying. */
export async function eventJob(db: Db, id: number) {
  const rows = await db.execute<{
    run_at: Date;
    attempts: number;
    max_attempts: number;
    last_error: string | null;
    locked_at: Date | null;
  }>(sql`
    select run_at, attempts, max_attempts, last_error, locked_at from graphile_worker.jobs
    where task_identifier = 'process-webhook' and key = ${`event:${id}`}`);
  return rows[0];
}

export async function auditFor(db: Db, subjectType: string, subjectIds: string[]) {
  if (subjectIds.length === 0) return [];
  return db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.subjectType, subjectType), or(...subjectIds.map((id) => eq(auditLog.subjectId, id)))))
    .orderBy(desc(auditLog.id))
    .limit(50);
}
