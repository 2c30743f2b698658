import { and, eq, inArray } from "drizzle-orm";
import { webhookEvents } from "../../db/schema";
import type { Tx } from "../db";
import type { Deps } from "../deps";
import type { Answer, Provider } from "../domain/webhooks";
import { ingest } from "../ingest/ingest";

export type FoundKind = "sms_status" | "inbound_sms" | "event";

/** An event a provider had that Switchboard had not heard of, now stored (as if its webhook had come). */
export interface Found {
  provider: Provider;
  kind: FoundKind;
  key: string;
  eventId: number;
  note: string;
}

/** What one pass (one provider, or one number) did in one run. */
export interface PassReport {
  pass: "twilio-status" | "twilio-sms" | "stripe";
  /** The number listed, for inbound SMS. */
  number?: string;
  outcome: "complete" | "partial" | "failed" | "busy" | "backing_off" | "not_configured";
  /** Provider records looked at (messages fetched or listed, events listed). */
  checked: number;
  found: Found[];
  /** Why a pass failed: the provider throttled, was unavailable or refused; an event could not be stored; an error. */
  cause?: "throttled" | "unavailable" | "refused" | "store" | "error";
  error?: string;
}

export const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
const metricProvider = (provider: Provider) => (provider === "stripe" ? "stripe" : "twilio");

/** The keys among `keys` already stored for `provider`, in one query: a listing ingests only what is missing. */
export async function storedKeys(deps: Pick<Deps, "db">, provider: Provider, keys: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = await deps.db.select({ key: webhookEvents.idempotencyKey }).from(webhookEvents)
    .where(and(eq(webhookEvents.provider, provider), inArray(webhookEvents.idempotencyKey, keys)));
  return new Set(rows.map((r) => r.key));
}

/**
 * Stores a found event through the webhooks' own ingest path (same idempotency key, same processing job), marked
 * `reconcile` with why. Whichever comes first, this or the webhook, is the event; the other is a duplicate with
 * no effect. Undefined when it was a duplicate. Throws StorageError when it could not be stored.
 */
export async function storeFound(
  deps: Deps,
  item: {
    provider: Provider; kind: FoundKind; key: string; rawBody: string; note: string;
    answer: Answer | ((tx: Tx, eventId: number) => Promise<Answer>);
    /** The patient's number, as the webhook route records it for the search by phone. */
    phone?: string;
  },
): Promise<Found | undefined> {
  // The body's format, as a webhook would have said it (GET /v1/webhook-events/:id/raw reads the parameters by it).
  const contentType = item.provider === "stripe" ? "application/json" : "application/x-www-form-urlencoded";
  const result = await ingest(deps, {
    provider: item.provider, key: item.key, headers: new Headers({ "content-type": contentType }),
    rawBody: item.rawBody, answer: item.answer,
    receivedAt: performance.now(), source: "reconcile", sourceNote: item.note, phone: item.phone,
  });
  if (result.duplicate) return undefined;
  deps.metrics.reconciled.inc({ provider: metricProvider(item.provider), kind: item.kind });
  deps.log.info("reconciliation stored a missing event", {
    provider: item.provider, key: item.key, eventId: result.eventId, note: item.note,
  });
  return { provider: item.provider, kind: item.kind, key: item.key, eventId: result.eventId, note: item.note };
}

/** Counts a pass cut short, for `switchboard_reconcile_errors_total`. */
export function countError(
  deps: Pick<Deps, "metrics" | "log">,
  pass: PassReport["pass"],
  error: string,
  number?: string,
): void {
  deps.metrics.reconcileErrors.inc({ provider: pass === "stripe" ? "stripe" : "twilio" });
  deps.log.warn("reconciliation pass cut short; a later run retries", { pass, number, error });
}
