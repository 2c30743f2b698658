import { Type as T } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { eq, sql } from "drizzle-orm";
import type { Task } from "graphile-worker";
import { webhookEvents } from "../../db/schema";
import type { Deps } from "../deps";
import type { Provider } from "../inbound/ingest";
import { storableText } from "../domain/text";
import type { Tx } from "./enqueue";

export type WebhookEvent = typeof webhookEvents.$inferSelect;
export interface Outcome {
  status: "processed" | "ignored" | "failed";
  /** Why it was ignored or failed; kept in the event's last_error. */
  reason?: string;
}
export type Processor = (deps: Deps, tx: Tx, event: WebhookEvent) => Promise<Outcome>;

const Payload = T.Object({ eventId: T.Integer({ minimum: 1 }), replay: T.Optional(T.Boolean()) });

/**
 * Runs an inbound event's processor and records its outcome in the same transaction as its effects.
 * A thrown error rolls the effects back, is recorded on the event, and graphile-worker retries the job.
 */
export function processWebhookTask(deps: Deps, processors: Partial<Record<Provider, Processor>>): Task {
  return async (payload, helpers) => {
    if (!Value.Check(Payload, payload)) {
      deps.log.error("process-webhook: bad payload, giving up", { payload });
      return;
    }
    const { eventId } = payload;
    try {
      const result = await deps.db.transaction(async (tx) => {
        const [event] = await tx.select().from(webhookEvents).where(eq(webhookEvents.id, eventId)).for("update");
        if (!event || event.status !== "pending") return undefined;
        const processor = processors[event.provider as Provider];
        if (!processor) throw new Error(`no processor for provider ${event.provider}`);
        const outcome = await processor(deps, tx, event);
        await tx.update(webhookEvents).set({
          status: outcome.status,
          lastError: outcome.reason === undefined ? null : storableText(outcome.reason, 2000),
          attempts: event.attempts + 1,
          processedAt: deps.clock.now(),
        }).where(eq(webhookEvents.id, eventId));
        return { event, outcome };
      });
      if (!result) return;
      const { event, outcome } = result;
      deps.metrics.eventsProcessed.inc({ provider: event.provider, status: outcome.status });
      const fields = { eventId, provider: event.provider, key: event.idempotencyKey, status: outcome.status, reason: outcome.reason };
      if (outcome.status === "processed") deps.log.info("webhook event processed", fields);
      else deps.log.warn(`webhook event ${outcome.status}`, fields);
    } catch (error) {
      const message = storableText(error instanceof Error ? error.message : String(error), 2000);
      // The job's last attempt: the event ends `failed` (replayable) instead of staying `pending` forever.
      const lastAttempt = helpers.job.attempts >= helpers.job.max_attempts;
      await deps.db.update(webhookEvents)
        .set({ attempts: sql`${webhookEvents.attempts} + 1`, lastError: message, ...(lastAttempt ? { status: "failed" } : {}) })
        .where(eq(webhookEvents.id, eventId));
      deps.log.warn(lastAttempt ? "webhook event failed for good" : "webhook event processing failed; will retry", { eventId, error: message });
      // graphile-worker stores the error text too, and Postgres refuses NUL in it.
      throw new Error(message);
    }
  };
}
