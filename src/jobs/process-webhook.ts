import { Type as T } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { eq, sql } from "drizzle-orm";
import type { Task } from "graphile-worker";
import { webhookEvents } from "../../db/schema";
import type { Deps } from "../deps";
import type { Provider } from "../inbound/ingest";
import { storableText } from "../domain/text";
import { processWebhookBatch } from "./process-webhook-batch";
import type { Executor, Tx } from "../db";

export type WebhookEvent = typeof webhookEvents.$inferSelect;
export interface Outcome {
  status: "processed" | "ignored" | "failed";
  /** Why it was ignored or failed; kept in the event's last_error. */
  reason?: string;
}
export type Processor = (deps: Deps, tx: Tx, event: WebhookEvent) => Promise<Outcome>;
export type Processors = Partial<Record<Provider, Processor>>;

const EventId = T.Integer({ minimum: 1 });
const Single = T.Object({ eventId: EventId, replay: T.Optional(T.Boolean()) });
/** A batch job: the events one group commit wrote (see ingest.ts), processed in one transaction. */
const Batch = T.Array(T.Object({ eventId: EventId }), { minItems: 1 });

/**
 * Runs inbound events' processors and records each outcome in the same transaction as its effects.
 * Two payload forms: `{eventId}` (replays, single jobs) and `[{eventId}, ...]` (process-webhook-batch.ts).
 * A thrown error rolls the effects back, is recorded on the event, and graphile-worker retries the event.
 */
export function processWebhookTask(deps: Deps, processors: Processors): Task {
  return async (payload, helpers) => {
    if (Value.Check(Batch, payload)) return processWebhookBatch(deps, processors, payload, helpers);
    if (!Value.Check(Single, payload)) {
      deps.log.error("process-webhook: bad payload, giving up", { payload });
      return;
    }
    const { eventId } = payload;
    try {
      const result = await deps.db.transaction(async (tx) => {
        const [event] = await tx.select().from(webhookEvents).where(eq(webhookEvents.id, eventId)).for("update");
        if (!event || event.status !== "pending") return undefined;
        return { event, outcome: await runProcessor(deps, processors, tx, event) };
      });
      if (result) reported(deps, result.event, result.outcome);
    } catch (error) {
      // The job's last attempt: the event ends `failed` (replayable) instead of staying `pending` forever.
      // graphile-worker stores the error text too, and Postgres refuses NUL in it.
      throw await recordFailure(deps, deps.db, eventId, error, helpers.job.attempts >= helpers.job.max_attempts);
    }
  };
}

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
export async function recordFailure(deps: Deps, db: Executor, eventId: number, error: unknown, lastAttempt: boolean): Promise<Error> {
  const message = storableText(error instanceof Error ? error.message : String(error), 2000);
  await db.update(webhookEvents)
    .set({ attempts: sql`${webhookEvents.attempts} + 1`, lastError: message, ...(lastAttempt ? { status: "failed" } : {}) })
    .where(eq(webhookEvents.id, eventId));
  deps.log.warn(lastAttempt ? "webhook event failed for good" : "webhook event processing failed; will retry", { eventId, error: message });
  return new Error(message);
}

/** Metrics and a log line once an outcome has committed. */
export function reported(deps: Deps, event: WebhookEvent, outcome: Outcome): void {
  deps.metrics.eventsProcessed.inc({ provider: event.provider, status: outcome.status });
  const fields = { eventId: event.id, provider: event.provider, key: event.idempotencyKey, status: outcome.status, reason: outcome.reason };
  if (outcome.status === "processed") deps.log.info("webhook event processed", fields);
  else deps.log.warn(`webhook event ${outcome.status}`, fields);
}
