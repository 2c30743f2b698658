import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import type { JobHelpers } from "graphile-worker";
import { webhookEvents } from "../../db/schema";
import { isConnectionError, type Tx } from "../db";
import type { Deps } from "../deps";
import { storableText } from "../domain/text";
import type { Provider } from "../domain/webhooks";
import {
  type Outcome,
  PROCESSED_COLUMNS,
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
 * Most events one batch job processes: its own and others it takes (processWebhookBatch). Measured in the drain of
 * `npm run bench`: 500 costs about a tenth less CPU per event than 200; 1,000 little less again, for twice the rows
 * held locked by one transaction.
 */
export const TOP_UP_TO = 500;
/** A job that started this long after it was due has waited behind others: there is a backlog. */
export const BACKLOG_AFTER_MS = 200;
/** Events this recent are not taken: their response_ms is still being written (src/ingest/response-time.ts). */
const TAKE_OLDER_THAN_MS = 1000;

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
 * like the rest, so a set never fails an event the one-by-one path would have processed. Events go in id order,
 * in segments cut at each event of a provider without a set (an SMS CANCEL, then a payment for the same
 * appointment, stay in that order); within a segment the sets run first, then what they left, one by one.
 *
 * A set costs about the same few statements for 3 events as for 200, and a group commit at a few hundred
 * webhooks a second queues jobs of 3 or 4: when a backlog builds, the worker would spend most of its time on
 * statements for tiny sets and never catch up. So a job that waited for a worker (more than BACKLOG_AFTER_MS: there
 * is a backlog; without one, looking costs a query and makes the next jobs wait on the rows it took), on its first
 * attempt, also takes up to TOP_UP_TO other new events of the same providers that no one holds (`skip locked`;
 * first attempts only, so a failing event keeps its retry backoff). Only the sets apply what it took: an event
 * they leave is left for its own job, as is one that fails with them, and their own jobs find the rest processed.
 * Order between events of different jobs was never kept (jobs run side by side); the processors allow for it, as
 * Stripe and Twilio promise no order either.
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
      const events = await tx.select(PROCESSED_COLUMNS).from(webhookEvents).where(inArray(webhookEvents.id, ids))
        .orderBy(asc(webhookEvents.id)).for("update");
      const own = events.filter((event) => event.status === "pending");
      const ownIds = new Set(own.map((event) => event.id));
      const taken = mayTake() ? await topUp(tx, own) : [];
      for (const segment of segments([...own, ...taken].sort((a, b) => a.id - b.id))) {
        const handled = await processSets(tx, segment);
        for (const event of segment) {
          if (handled.has(event.id) || !ownIds.has(event.id)) continue;
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
      }
    });
  }

  /** A first attempt that waited for a worker (a retry would take the same events again, past their backoff). */
  function mayTake(): boolean {
    const waitedMs = deps.clock.now().getTime() - new Date(helpers.job.run_at).getTime();
    return helpers.job.attempts <= 1 && waitedMs > BACKLOG_AFTER_MS;
  }

  /** Events in id order, cut before and after each event of a provider without a set. */
  function segments(pending: WebhookEvent[]): WebhookEvent[][] {
    const cut: WebhookEvent[][] = [[]];
    for (const event of pending) {
      if (together[event.provider as Provider]) cut[cut.length - 1]!.push(event);
      else cut.push([event], []);
    }
    return cut.filter((segment) => segment.length > 0);
  }

  /**
   * Other first-attempt events that no other transaction holds, of the providers of the job's own that have a
   * SetProcessor, up to TOP_UP_TO in all: one index range per provider (provider, status, id), newest first. The
   * newest are those whose jobs run last, so the jobs running now rarely wait for an event a top-up holds (they
   * lock their own events and wait for them). The job's own events, locked by this transaction, come back too and
   * are left out.
   */
  async function topUp(tx: Tx, own: WebhookEvent[]): Promise<WebhookEvent[]> {
    const taken = new Set(own.map((event) => event.id));
    const extra: WebhookEvent[] = [];
    for (const provider of new Set(own.map((event) => event.provider))) {
      const room = TOP_UP_TO - taken.size;
      if (!together[provider as Provider] || room <= 0) continue;
      const found = await tx.select(PROCESSED_COLUMNS).from(webhookEvents)
        .where(and(
          eq(webhookEvents.provider, provider), eq(webhookEvents.status, "pending"), eq(webhookEvents.attempts, 0),
          sql`${webhookEvents.receivedAt} < now() - ${`${TAKE_OLDER_THAN_MS} milliseconds`}::interval`,
        ))
        .orderBy(desc(webhookEvents.id)).limit(room + own.length).for("update", { skipLocked: true });
      for (const event of found) {
        if (taken.has(event.id) || taken.size >= TOP_UP_TO) continue;
        taken.add(event.id);
        extra.push(event);
      }
    }
    return extra;
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
