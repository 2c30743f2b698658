import { and, asc, eq, inArray } from "drizzle-orm";
import type { JobHelpers } from "graphile-worker";
import { webhookEvents } from "../../db/schema";
import { isConnectionError, type Tx } from "../db";
import type { Deps } from "../deps";
import { storableText } from "../domain/text";
import {
  type Outcome,
  type Processors,
  recordFailure,
  recordOutcomes,
  reported,
  reportedRun,
  runProcessor,
  type SetProcessors,
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
 *
 * First, a provider's SetProcessor takes the events it can apply as a set (a handful of statements for the whole
 * batch), in a savepoint of its own: if it throws, that savepoint is rolled back and its events run one by one
 * like the rest, so a set never fails an event the one-by-one path would have processed.
 */
export async function processWebhookBatch(
  deps: Deps,
  { processors, together }: { processors: Processors; together: SetProcessors },
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
  reportedRun(deps, done, failures.size);
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
      const pending = events.filter((event) => event.status === "pending");
      const handled = await processSets(tx, pending);
      for (const event of pending) {
        if (handled.has(event.id)) continue;
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

  /** Each provider's SetProcessor on its events, outcomes recorded with them; the ids it handled. */
  async function processSets(tx: Tx, pending: WebhookEvent[]): Promise<Set<number>> {
    const handled = new Set<number>();
    for (const [provider, setProcessor] of Object.entries(together)) {
      const events = pending.filter((event) => event.provider === provider);
      if (!setProcessor || events.length < 2) continue;
      try {
        const outcomes = await tx.transaction(async (savepoint) => {
          const byId = await setProcessor(deps, savepoint, events);
          const applied = events.flatMap((event) => {
            const outcome = byId.get(event.id);
            return outcome ? [{ event, outcome }] : [];
          });
          await recordOutcomes(deps, savepoint, applied);
          return applied;
        });
        for (const item of outcomes) {
          done.push(item);
          handled.add(item.event.id);
        }
      } catch (error) {
        if (isConnectionError(error)) throw error;
        deps.log.warn("set processing failed; its events run one by one", { provider, error });
      }
    }
    return handled;
  }
}
