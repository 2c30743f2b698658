import { eq, sql } from "drizzle-orm";
import { webhookEvents } from "../../db/schema";
import { anyOfJson, type Executor, type Tx } from "../db";
import type { Deps } from "../deps";
import { storableText } from "../domain/text";
import type { Provider } from "../domain/webhooks";

/**
 * Processing one inbound event, shared by the single and the batch form of process-webhook: the provider's
 * processor and the event's status in the caller's transaction, a failed attempt recorded, and the outcome reported.
 */

/**
 * The columns of an event that processing reads: not its headers or the answer stored for it (a batch locks up to
 * 500 events; reading less of each, with a cached formatter, took the drain's worker CPU from 64 to 58 ms per 1,000).
 */
export const PROCESSED_COLUMNS = {
  id: webhookEvents.id, provider: webhookEvents.provider, idempotencyKey: webhookEvents.idempotencyKey,
  rawBody: webhookEvents.rawBody, receivedAt: webhookEvents.receivedAt, status: webhookEvents.status,
  attempts: webhookEvents.attempts,
};
export type WebhookEvent = Pick<typeof webhookEvents.$inferSelect, keyof typeof PROCESSED_COLUMNS>;
export interface Outcome {
  status: "processed" | "ignored" | "failed";
  /** Why it was ignored or failed; kept in the event's last_error. */
  reason?: string;
}
export type Processor = (deps: Deps, tx: Tx, event: WebhookEvent) => Promise<Outcome>;
export type Processors = Partial<Record<Provider, Processor>>;

/**
 * A provider's set-based form, for batch jobs (process-webhook-batch.ts): it applies the events of a batch that it
 * can take together with a few statements for the whole set (where the Processor spends several per event) and
 * returns their outcomes by event id, effects written through `tx` but statuses not (recordOutcomes does that for
 * all of them). The events it leaves out are run by the provider's Processor, one by one, after it.
 */
export type SetProcessor = (deps: Deps, tx: Tx, events: WebhookEvent[]) => Promise<Map<number, Outcome>>;
export type SetProcessors = Partial<Record<Provider, SetProcessor>>;

/** The processor for a locked, pending event, then its status, through `tx` (so they commit together). */
export async function runProcessor(deps: Deps, processors: Processors, tx: Tx, event: WebhookEvent): Promise<Outcome> {
  const processor = processors[event.provider as Provider];
  if (!processor) throw new Error(`no processor for provider ${event.provider}`);
  const outcome = await processor(deps, tx, event);
  await recordOutcomes(deps, tx, [{ event, outcome }]);
  return outcome;
}

/** Each event's outcome, attempt and time, in one statement (for one event: runProcessor; for a set, its events). */
export async function recordOutcomes(deps: Deps, tx: Tx, done: { event: WebhookEvent; outcome: Outcome }[]) {
  if (done.length === 0) return;
  const rows = done.map(({ event, outcome }) => ({
    id: event.id, status: outcome.status,
    reason: outcome.reason === undefined ? null : storableText(outcome.reason, 2000),
  }));
  await tx.execute(sql`update webhook_events e
    set status = v.status, last_error = v.reason, attempts = e.attempts + 1,
      processed_at = ${deps.clock.now().toISOString()}::timestamptz
    from json_to_recordset(${JSON.stringify(rows)}::json) as v(id bigint, status text, reason text)
    where e.id = v.id and e.id = ${anyOfJson(rows.map((r) => r.id), "bigint")}`);
}

/** Records a failed attempt (and `failed` on the last one); returns the error to hand to graphile-worker. */
export async function recordFailure(
  deps: Deps, db: Executor, eventId: number, error: unknown, lastAttempt: boolean,
): Promise<Error> {
  const message = storableText(error instanceof Error ? error.message : String(error), 2000);
  await db.update(webhookEvents)
    .set({
      attempts: sql`${webhookEvents.attempts} + 1`, lastError: message, ...(lastAttempt ? { status: "failed" } : {}),
    })
    .where(eq(webhookEvents.id, eventId));
  deps.log.warn(lastAttempt ? "webhook event failed for good" : "webhook event processing failed; will retry", {
    eventId, error: message,
  });
  return new Error(message);
}

/**
 * Metrics and a log line once an outcome has committed. A processed event's line is at debug level (at thousands
 * of events a second, a line each is much of a worker's CPU); jobs log one info line per run (reportedRun). An
 * ignored or failed event is still a warning of its own: someone may have to look at it.
 */
export function reported(deps: Deps, event: WebhookEvent, outcome: Outcome): void {
  deps.metrics.eventsProcessed.inc({ provider: event.provider, status: outcome.status });
  const fields = {
    eventId: event.id, provider: event.provider, key: event.idempotencyKey, status: outcome.status,
    reason: outcome.reason,
  };
  if (outcome.status === "processed") deps.log.debug("webhook event processed", fields);
  else deps.log.warn(`webhook event ${outcome.status}`, fields);
}

/** One info line for a transaction's events (one job's, or `jobs` gathered): how many, and of each outcome. */
export function reportedRun(
  deps: Deps, done: { event: WebhookEvent; outcome: Outcome }[], retrying: number, jobs = 1,
) {
  if (done.length === 0 && retrying === 0) return;
  const count = (status: Outcome["status"]) => done.filter((d) => d.outcome.status === status).length;
  deps.log.info("webhook events processed", {
    events: done.length, processed: count("processed"), ignored: count("ignored"), failed: count("failed"),
    retrying, ...(jobs > 1 ? { jobs } : {}),
    ...(done.length === 1 ? { eventId: done[0]!.event.id, provider: done[0]!.event.provider } : {}),
  });
}
