import { eq, sql } from "drizzle-orm";
import { webhookEvents } from "../../db/schema";
import type { Executor, Tx } from "../db";
import type { Deps } from "../deps";
import { storableText } from "../domain/text";
import type { Provider } from "../domain/webhooks";

/**
 * Processing one inbound event, shared by the single and the batch form of process-webhook: the provider's
 * processor and the event's status in the caller's transaction, a failed attempt recorded, and the outcome reported.
 */

export type WebhookEvent = typeof webhookEvents.$inferSelect;
export interface Outcome {
  status: "processed" | "ignored" | "failed";
  /** Why it was ignored or failed; kept in the event's last_error. */
  reason?: string;
}
export type Processor = (deps: Deps, tx: Tx, event: WebhookEvent) => Promise<Outcome>;
export type Processors = Partial<Record<Provider, Processor>>;

/** The processor for a locked, pending event, then its status, through `tx` (so they commit together). */
export async function runProcessor(deps: Deps, processors: Processors, tx: Tx, event: WebhookEvent): Promise<Outcome> {
  const processor = processors[event.provider as Provider];
  if (!processor) throw new Error(`no processor for provider ${event.provider}`);
  const outcome = await processor(deps, tx, event);
  await tx.update(webhookEvents).set({
    status: outcome.status,
    lastError: outcome.reason === undefined ? null : storableText(outcome.reason, 2000),
    attempts: event.attempts + 1,
    processedAt: deps.clock.now(),
  }).where(eq(webhookEvents.id, event.id));
  return outcome;
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

/** Metrics and a log line once an outcome has committed. */
export function reported(deps: Deps, event: WebhookEvent, outcome: Outcome): void {
  deps.metrics.eventsProcessed.inc({ provider: event.provider, status: outcome.status });
  const fields = {
    eventId: event.id, provider: event.provider, key: event.idempotencyKey, status: outcome.status,
    reason: outcome.reason,
  };
  if (outcome.status === "processed") deps.log.info("webhook event processed", fields);
  else deps.log.warn(`webhook event ${outcome.status}`, fields);
}
