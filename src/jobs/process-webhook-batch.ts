import { Type as T } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { JobHelpers } from "graphile-worker";
import { webhookEvents } from "../../db/schema";
import { anyOfJson, isConnectionError, type Tx } from "../db";
import type { Deps } from "../deps";
import { storableText } from "../domain/text";
import { entryOutcomes } from "../settled";
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
/** Jobs this recent are not taken: their events' response_ms is still being written (src/ingest/response-time.ts). */
const TAKE_OLDER_THAN_MS = 1000;
/** Most waiting jobs a top-up locks (newest first) to take those whose events fit under TOP_UP_TO. */
const TAKE_JOBS = 64;
const TASK = "process-webhook";

/** A batch job: the events one group commit wrote (see ingest.ts), processed in one transaction. */
export const Batch = T.Array(T.Object({ eventId: T.Integer({ minimum: 1 }) }), { minItems: 1 });
/** Another batch job a top-up holds, and its events (the job's own left out). */
interface TakenJob { id: string; eventIds: number[] }

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
 * A set costs about the same few statements for 3 events as for 500, and a group commit at a few hundred
 * webhooks a second queues jobs of 3 or 4: when a backlog builds, the worker would spend most of its time on
 * statements for tiny sets and never catch up. So a job that waited for a worker (more than BACKLOG_AFTER_MS: there
 * is a backlog; without one, looking costs a query and makes the next jobs wait on the rows it took), on its first
 * attempt, also takes other batch jobs no worker has started, with their events, up to TOP_UP_TO events in all
 * (`skip locked`; first attempts only, so a failing event keeps its retry backoff). Only the sets apply what it
 * took; a taken job whose events all ended processed is completed in the same transaction, and one with an event
 * left (the sets did not take it, or failed with it) stays for a worker to run as usual.
 * Order between events of different jobs was never kept (jobs run side by side); the processors allow for it, as
 * Stripe and Twilio promise no order either.
 */
export async function processWebhookBatch(
  deps: Deps,
  procs: BatchProcessors,
  items: { eventId: number }[],
  helpers: Pick<JobHelpers, "job">,
): Promise<Promise<void>[]> {
  const ids = [...new Set(items.map((i) => i.eventId))];
  const lastAttempt = helpers.job.attempts >= helpers.job.max_attempts;
  let run: Run;
  try {
    run = await processEvents(deps, procs, ids, { mayTake: mayTake(deps, helpers), lastAttempt });
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
  reportRun(deps, run, 1);
  return entries(items, run.failures);
}

export interface BatchProcessors { processors: Processors; together: SetProcessors }
/** What one transaction came to: the events it processed (committed), and those that failed, with their errors. */
export interface Run { done: { event: WebhookEvent; outcome: Outcome }[]; failures: Map<number, Error> }
/** Each entry's promise: rejected with its event's failure, if it failed. */
export const entries = (items: { eventId: number }[], failures: Map<number, Error>): Promise<void>[] =>
  entryOutcomes(items, (item) => failures.get(item.eventId));

/** After the commit: metrics and a line per event that needs one, and one info line for the run. */
export function reportRun(deps: Deps, run: Run, jobs: number) {
  for (const { event, outcome } of run.done) reported(deps, event, outcome);
  reportedRun(deps, run.done, run.failures.size, jobs);
}

export const waited = (deps: Pick<Deps, "clock">, helpers: Pick<JobHelpers, "job">) =>
  deps.clock.now().getTime() - new Date(helpers.job.run_at).getTime();

/** A first attempt that waited for a worker (a retry would take the same events again, past their backoff). */
function mayTake(deps: Deps, helpers: Pick<JobHelpers, "job">): boolean {
  return helpers.job.attempts <= 1 && waited(deps, helpers) > BACKLOG_AFTER_MS;
}

/**
 * These events, and with `mayTake` others that wait (topUp), processed in ONE transaction: each pending event
 * locked, set processors first, then one by one in savepoints; failures recorded in the same transaction.
 */
export async function processEvents(
  deps: Deps,
  { processors, together }: BatchProcessors,
  ids: number[],
  { mayTake, lastAttempt }: { mayTake: boolean; lastAttempt: boolean },
): Promise<Run> {
  const failures = new Map<number, Error>();
  const done: Run["done"] = [];
  await deps.db.transaction(async (tx) => {
    // Locked in id order, so two jobs sharing events (a replay) cannot deadlock on these rows.
    const events = await tx.select(PROCESSED_COLUMNS).from(webhookEvents).where(inArray(webhookEvents.id, ids))
      .orderBy(asc(webhookEvents.id)).for("update");
    const own = events.filter((event) => event.status === "pending");
    const ownIds = new Set(own.map((event) => event.id));
    const { taken, jobs } = mayTake ? await topUp(tx, ownIds) : { taken: [], jobs: [] };
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
    await completeTaken(tx, jobs, new Set(done.map(({ event }) => event.id)));
  });
  return { done, failures };

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
   * Other batch jobs of process-webhook that no worker has started (first attempts, queued over TAKE_OLDER_THAN_MS
   * ago), newest first, and their pending events, up to TOP_UP_TO events with the job's own; both locked with
   * `skip locked`, so nothing waits: graphile-worker's fetch skips a job held here, and an event another
   * transaction holds is left. Newest first, so the jobs running now rarely want what a top-up holds. The cost is
   * that of the waiting jobs, not of the events already processed (an index of events by status, read newest
   * first, walked past every event earlier top-ups had taken once its statistics said most were pending).
   */
  async function topUp(tx: Tx, ownIds: Set<number>): Promise<{ taken: WebhookEvent[]; jobs: TakenJob[] }> {
    const room = TOP_UP_TO - ownIds.size;
    if (room <= 0) return { taken: [], jobs: [] };
    // The newest waiting jobs no one holds, read backwards through graphile-worker's own index of available jobs
    // (priority, run_at). They are locked as they are read (`skip locked`): concurrent top-ups then take different
    // jobs. Choosing first and locking after made every top-up choose the same jobs, and all but one took nothing.
    // Those read past what fits under TOP_UP_TO stay locked, unused, until this transaction ends.
    const candidates = await tx.execute<{ id: string; payload: unknown }>(sql`
      select j.id, j.payload from graphile_worker._private_jobs j
      where j.task_id = (select id from graphile_worker._private_tasks where identifier = ${TASK})
        and j.is_available and j.priority = 0 and j.attempts = 0 and j.key is null
        and json_typeof(j.payload) = 'array' and j.run_at < now() - ${`${TAKE_OLDER_THAN_MS} milliseconds`}::interval
      order by j.run_at desc, j.id desc limit ${TAKE_JOBS} for update skip locked`);
    const jobs: TakenJob[] = [];
    let count = 0;
    for (const candidate of candidates) {
      if (!Value.Check(Batch, candidate.payload)) continue;
      const eventIds = candidate.payload.map((item) => item.eventId).filter((id) => !ownIds.has(id));
      if (count + eventIds.length > room) break;
      count += eventIds.length;
      jobs.push({ id: candidate.id, eventIds });
    }
    const wanted = [...new Set(jobs.flatMap((job) => job.eventIds))];
    const withSets = Object.keys(together).filter((provider) => together[provider as Provider]);
    if (wanted.length === 0 || withSets.length === 0) return { taken: [], jobs };
    const found = new Map((await tx.select(PROCESSED_COLUMNS).from(webhookEvents)
      .where(and(
        sql`${webhookEvents.id} = ${anyOfJson(wanted, "bigint")}`, inArray(webhookEvents.provider, withSets),
      ))
      .orderBy(asc(webhookEvents.id)).for("update", { skipLocked: true })).map((event) => [event.id, event]));
    // Each job's events in id order, up to the first one not found here (held elsewhere, or of a provider
    // without a set, which its job runs): a set never runs ahead of an earlier event of the same job.
    // An event listed twice (by one job or two) is taken once.
    const seen = new Set<number>();
    const taken = jobs.flatMap((job) => {
      const prefix: WebhookEvent[] = [];
      for (const id of [...job.eventIds].sort((a, b) => a - b)) {
        const event = found.get(id);
        if (!event || (event.status === "pending" && event.attempts > 0)) break;
        if (event.status === "pending" && !seen.has(id)) prefix.push(event);
        seen.add(id);
      }
      return prefix;
    });
    return { taken, jobs };
  }

  /**
   * The taken jobs whose events are all processed now (by this transaction or before) are completed with it:
   * graphile-worker deletes a finished job the same way. A job with an event left (the set did not apply it, or
   * another transaction held it) stays, unlocked at the commit, and runs as usual.
   */
  async function completeTaken(tx: Tx, jobs: TakenJob[], processedNow: Set<number>) {
    const waiting = jobs.flatMap((job) => job.eventIds.filter((id) => !processedNow.has(id)));
    const stillPending = new Set(waiting.length === 0 ? [] : (await tx.select({ id: webhookEvents.id })
      .from(webhookEvents)
      .where(and(sql`${webhookEvents.id} = ${anyOfJson(waiting, "bigint")}`, eq(webhookEvents.status, "pending"))))
      .map((row) => row.id));
    const finished = jobs.filter((job) => job.eventIds.every((id) => !stillPending.has(id))).map((job) => job.id);
    if (finished.length === 0) return;
    await tx.execute(sql`delete from graphile_worker._private_jobs where id = ${anyOfJson(finished, "bigint")}`);
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
