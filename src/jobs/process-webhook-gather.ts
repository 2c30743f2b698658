import type { JobHelpers } from "graphile-worker";
import { isConnectionError } from "../db";
import type { Deps } from "../deps";
import { createGroupCommit } from "../ingest/group-commit";
import {
  BACKLOG_AFTER_MS, type BatchProcessors, entries, processEvents, processWebhookBatch, reportRun, type Run, waited,
} from "./process-webhook-batch";

/** A first attempt's events, handed to the gathering transaction, and how long its job waited for a worker. */
interface Share { ids: number[]; waitedMs: number }

/** Most jobs whose events one gathered transaction processes (each holds up to INGEST_JOB_BATCH events). */
export const GATHER_JOBS = 16;
/** Gathered transactions running at once; jobs that start meanwhile gather into the next one. */
export const GATHER_IN_FLIGHT = 2;
/**
 * A first attempt that waited longer than this for a worker is part of a backlog (an outage, a storm): it runs
 * alone, taking up to TOP_UP_TO waiting events with it, side by side with WORKER_CONCURRENCY others. Draining a
 * backlog so went about twice as fast as in gathered transactions, two at a time (`npm run bench`, the drain after
 * a Stripe cell at 32 connections: 9,600-10,900 against 5,200-5,900 events a second). Steady traffic that a worker
 * keeps up with waits far less: about a second at most (top-ups take jobs older than a second,
 * process-webhook-batch.ts).
 */
export const ALONE_AFTER_MS = 2000;

/**
 * The batch jobs' task, with the first attempts that run at the same time gathered into one transaction: a group
 * commit on the worker's side (src/ingest/group-commit.ts). A group commit at a few hundred webhooks a second queues
 * jobs of one to three events, and the worker runs up to WORKER_CONCURRENCY of them side by side, each a
 * transaction with its own commit and statements, and too few events for a set (two at least): per event, it cost
 * ten times what a drain of large batches costs. Gathered, the jobs that start while GATHER_IN_FLIGHT transactions
 * run share the next one, so the set grows with the load, and without load a job runs at once, alone.
 *
 * Each job still settles on its own: its entries reject for its own events that failed (their failures recorded
 * in the shared transaction, as in a job's own). A gathered transaction that throws as a whole is run again, job by
 * job, each alone (a lost connection fails them all: graphile-worker retries each job). Retries and last attempts
 * never gather: they run alone, as processWebhookBatch, keeping their own backoff and their `failed` ending; so do
 * first attempts that waited past ALONE_AFTER_MS.
 */
export function batchTask(deps: Deps, procs: BatchProcessors) {
  const gathered = createGroupCommit<Share, Run>(
    async (shares) => {
      const ids = [...new Set(shares.flatMap((share) => share.ids))];
      const mayTakeOthers = shares.some((share) => share.waitedMs > BACKLOG_AFTER_MS);
      const run = await processEvents(deps, procs, ids, { mayTake: mayTakeOthers, lastAttempt: false });
      // Committed: a report that throws must not fail the write (its jobs would run again at once, alone).
      try {
        reportRun(deps, run, shares.length);
      } catch (error) {
        deps.log.error("processed events could not be reported", { error });
      }
      return shares.map(() => ({ ok: true as const, value: run }));
    },
    {
      maxBatch: GATHER_JOBS, maxWaitMs: 0, maxInFlight: GATHER_IN_FLIGHT,
      splitOnError: (error) => !isConnectionError(error),
    },
  );
  return async (items: { eventId: number }[], helpers: Pick<JobHelpers, "job">): Promise<Promise<void>[]> => {
    const { attempts, max_attempts: maxAttempts } = helpers.job;
    const waitedMs = waited(deps, helpers);
    if (attempts > 1 || attempts >= maxAttempts || waitedMs > ALONE_AFTER_MS) {
      return processWebhookBatch(deps, procs, items, helpers);
    }
    const ids = [...new Set(items.map((i) => i.eventId))];
    const run = await gathered.submit({ ids, waitedMs });
    return entries(items, run.failures);
  };
}
