import { and, asc, eq, inArray } from "drizzle-orm";
import type { JobHelpers } from "graphile-worker";
import { webhookEvents } from "../../db/schema";
import { isConnectionError } from "../db";
import type { Deps } from "../deps";
import { storableText } from "../domain/text";
import {
  type Outcome,
  type Processors,
  recordFailure,
  reported,
  runProcessor,
  type WebhookEvent,
} from "./event-processor";

/**
 * A batch job (payload `[{eventId}, ...]`, one per group-commit chunk): every event of it in ONE transaction,
 * a savepoint each, so one commit covers many events. That commit, and the job fetch/complete graphile-worker
 * shares across the batch, are most of what one event used to cost.
 *
 * Guarantees as on the single path: each event is locked (`for update`) and processed only while `pending`,
 * its effects commit with its status. An event whose processor throws rolls back only its savepoint; its
 * failure is recorded in the same transaction, and its entry in the returned list rejects, so graphile-worker
 * retries a job holding just the failed entries (0.17 batch jobs: `replacementPayload`).
 */
export async function processWebhookBatch(
  deps: Deps,
  processors: Processors,
  items: { eventId: number }[],
  helpers: Pick<JobHelpers, "job">,
): Promise<Promise<void>[]> {
  const ids = [...new Set(items.map((i) => i.eventId))];
  const lastAttempt = helpers.job.attempts >= helpers.job.max_attempts;
  const failures = new Map<number, Error>();
  const done: { event: WebhookEvent; outcome: Outcome }[] = [];
  try {
    await processInOneTransaction();
  } catch (error) {
    // The batch failed as a whole on its last attempt: its events end `failed` (replayable), never `pending`
    // with no job left to run them.
    if (lastAttempt) {
      const reason = storableText(error instanceof Error ? error.message : String(error), 2000);
      await deps.db.update(webhookEvents).set({ status: "failed", lastError: reason })
        .where(and(inArray(webhookEvents.id, ids), eq(webhookEvents.status, "pending")))
        .catch((markError) => deps.log.error("could not mark a failed batch's events", { ids, error: markError }));
    }
    throw error;
  }
  for (const { event, outcome } of done) reported(deps, event, outcome);
  return items.map((item) => {
    const failure = failures.get(item.eventId);
    if (!failure) return Promise.resolve();
    const rejected = Promise.reject(failure);
    rejected.catch(() => {}); // graphile-worker reads it with allSettled; not an unhandled rejection meanwhile
    return rejected;
  });

  async function processInOneTransaction() {
    await deps.db.transaction(async (tx) => {
      // Locked in id order, so two jobs sharing events (a replay) cannot deadlock on these rows.
      const events = await tx.select().from(webhookEvents).where(inArray(webhookEvents.id, ids))
        .orderBy(asc(webhookEvents.id)).for("update");
      for (const event of events) {
        if (event.status !== "pending") continue;
        try {
          done.push(
            { event, outcome: await tx.transaction((savepoint) => runProcessor(deps, processors, savepoint, event)) },
          );
        } catch (error) {
          // A lost connection fails the whole transaction: the job is retried as a whole, nothing was committed.
          if (isConnectionError(error)) throw error;
          failures.set(event.id, await recordFailure(deps, tx, event.id, error, lastAttempt));
        }
      }
    });
  }
}
