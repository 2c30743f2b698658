import {
  type CronItem, Logger as GraphileLogger, parseCronItems, type Runner, run, type TaskList, type WorkerEvents,
} from "graphile-worker";
import pg from "pg";
import type { Deps } from "../deps";
import { deliverClinicEventTask, deliverMessageTask, sendDeliveryTask, sweepDeliveriesTask } from "./deliver";
import { EVALUATE_ALERTS, evaluateAlertsTask } from "./evaluate-alerts";
import { expireHoldTask, sweepHoldsTask } from "./expire-hold";
import type { Processors, SetProcessors } from "./event-processor";
import { processWebhookTask } from "./process-webhook";
import { retentionTask } from "./retention";
import { RECONCILE_TASKS, reconcileCron, reconcileTask } from "./reconcile";
import { sendEmailTask } from "./send-email";
import { sendRemindersTask } from "./send-reminders";
import { sendSmsTask } from "./send-sms";
import { processStripeEvent } from "./stripe-event";
import { processStripeSet } from "./stripe-event-set";
import { processTwilioDebugger } from "./twilio-debugger-event";
import { processTwilioSms } from "./twilio-sms-event";
import { processTwilioStatus } from "./twilio-status-event";
import { processTwilioStatusSet } from "./twilio-status-set";

/** Every task the worker runs, by identifier. */
export function taskList(deps: Deps): TaskList {
  return { ...processingTasks(deps), ...outboundTasks(deps) };
}

/** Each provider's processor, and the set form of those that have one (process-webhook-batch.ts). */
export const PROCESSORS: Processors = {
  stripe: processStripeEvent, "twilio-sms": processTwilioSms, "twilio-status": processTwilioStatus,
  "twilio-debugger": processTwilioDebugger,
};
export const SET_PROCESSORS: SetProcessors = { stripe: processStripeSet, "twilio-status": processTwilioStatusSet };

/** Tasks that only touch our database, Twilio and SMTP: webhooks, SMS, emails, holds, reminders. */
function processingTasks(deps: Deps): TaskList {
  return {
    "process-webhook": processWebhookTask(deps, PROCESSORS, SET_PROCESSORS),
    "expire-hold": expireHoldTask(deps),
    "sweep-holds": sweepHoldsTask(deps),
    "send-email": sendEmailTask(deps),
    "send-sms": sendSmsTask(deps),
    "deliver-message": deliverMessageTask(deps),
    "deliver-clinic-event": deliverClinicEventTask(deps),
    "sweep-deliveries": sweepDeliveriesTask(deps),
    "send-reminders": sendRemindersTask(deps),
    retention: retentionTask(deps, () => Object.keys(taskList(deps))),
    [EVALUATE_ALERTS.task]: evaluateAlertsTask(deps),
    ...Object.fromEntries(Object.entries(RECONCILE_TASKS).map(([task, pass]) => [task, reconcileTask(deps, pass)])),
  };
}

/** HTTP to customers' endpoints, which may take the whole OUTBOUND_TIMEOUT_MS: a runner of its own. */
function outboundTasks(deps: Deps): TaskList {
  return { "send-delivery": sendDeliveryTask(deps) };
}

/**
 * The crontab. Sweeps and reminders run every SWEEP_INTERVAL_MINUTES (5); graphile-worker's cron adds one job per
 * tick however many worker processes run it.
 */
export const cron = (config: Pick<Deps["config"], "SWEEP_INTERVAL_MINUTES">): CronItem[] => {
  const every = `*/${config.SWEEP_INTERVAL_MINUTES} * * * *`;
  return [
    { task: "sweep-holds", match: every, identifier: "sweep-holds" },
    { task: "sweep-deliveries", match: every, identifier: "sweep-deliveries" },
    // Reminders go out within a few minutes of REMINDER_HOURS before the appointment.
    { task: "send-reminders", match: every, identifier: "send-reminders" },
    // Alert rules every minute; cron fires once per tick across every worker process.
    {
      task: EVALUATE_ALERTS.task, match: "* * * * *", identifier: "evaluate-alerts",
      options: { ...EVALUATE_ALERTS.options },
    },
    // Daily, at a quiet hour (UTC): old bodies emptied, spent rows removed (retention.ts).
    { task: "retention", match: "17 3 * * *", identifier: "retention" },
  ];
};

/** The cron items a processing runner schedules: the fixed ones, and reconciliation at its configured interval. */
export const cronItems = (config: Deps["config"]): CronItem[] => [...cron(config), ...reconcileCron(config)];

export interface Worker {
  runners: Runner[];
  /** Settles when any runner stops (a runner stops by itself when it cannot record an outcome). */
  done: Promise<void>;
  /** Waits for running jobs, then closes the workers' own pools. */
  stop(): Promise<void>;
  /** Resolves once no task of this worker is running any more, or after `limitMs`. */
  settled(limitMs: number): Promise<void>;
  /** The name of a runner that has stopped taking jobs although jobs wait for it (see isStalled), if any. */
  stalled(stallAfterMs: number): Promise<string | undefined>;
}

/**
 * Two graphile-worker runners in one process, each fetching only its own tasks: processing (WORKER_CONCURRENCY,
 * with cron) and outbound deliveries (OUTBOUND_CONCURRENCY). A delivery attempt can hang for the whole timeout;
 * in their own runner, hanging attempts never take the capacity webhooks, SMS, holds and reminders need.
 */
export async function startWorker(deps: Deps, events?: WorkerEvents): Promise<Worker> {
  const { config } = deps;
  const runners: RunningPool[] = [];
  const running = new Set<Promise<unknown>>();
  const processing = activity("processing", processingTasks(deps), config.WORKER_CONCURRENCY, running);
  const outbound = activity("outbound", outboundTasks(deps), config.OUTBOUND_CONCURRENCY, running);
  try {
    runners.push(await startRunner(deps, {
      name: "processing", tasks: processing.tasks, concurrency: config.WORKER_CONCURRENCY,
      cron: true, events,
    }));
    runners.push(await startRunner(deps, {
      name: "outbound", tasks: outbound.tasks, concurrency: config.OUTBOUND_CONCURRENCY,
      cron: false, events,
    }));
  } catch (error) {
    await Promise.all(runners.map((r) => r.stop()));
    throw error;
  }
  return {
    runners: runners.map((r) => r.runner),
    done: Promise.race(runners.map((r) => r.runner.promise.then(() => undefined))),
    async stop() {
      const results = await Promise.allSettled(runners.map((r) => r.stop()));
      const failed = results.find((r) => r.status === "rejected");
      if (failed) throw failed.reason;
    },
    async stalled(stallAfterMs) {
      for (const runner of [processing, outbound]) {
        const [due] = await deps.sql<{ age_ms: number | null }[]>`
          select (extract(epoch from now() - min(run_at)) * 1000)::float8 as age_ms from graphile_worker.jobs
          where task_identifier = any(${Object.keys(runner.tasks)}) and locked_at is null and queue_name is null
            and run_at <= now() and attempts < max_attempts`;
        const facts = {
          sinceLastStartMs: Date.now() - runner.lastStart, running: runner.running, concurrency: runner.concurrency,
          oldestDueMs: due?.age_ms ?? null,
        };
        if (isStalled(facts, stallAfterMs)) return runner.name;
      }
      return undefined;
    },
    async settled(limitMs) {
      const limit = new Promise<void>((resolve) => setTimeout(resolve, limitMs).unref?.());
      await Promise.race([Promise.allSettled([...running]).then(() => undefined), limit]);
    },
  };
}

interface Activity { name: string; tasks: TaskList; concurrency: number; lastStart: number; running: number }

/**
 * The runner's tasks, counting how many run and when the last one started (what `stalled` reads), and keeping
 * each run in the worker's `runs` until it settles, a batch job's entries included (`settled` waits for them: a
 * stopped runner does not).
 */
function activity(name: string, tasks: TaskList, concurrency: number, runs: Set<Promise<unknown>>): Activity {
  const state: Activity = { name, tasks: {}, concurrency, lastStart: Date.now(), running: 0 };
  for (const [id, task] of Object.entries(tasks)) {
    if (!task) continue;
    state.tasks[id] = (payload, helpers) => {
      state.lastStart = Date.now();
      state.running++;
      const run = Promise.resolve().then(() => task(payload, helpers));
      // A batch job's task may return its entries' promises before they settle (send-sms's batch form): the job
      // runs until they all have, as graphile-worker counts it.
      const settledRun = run.then((result): unknown => (Array.isArray(result) ? Promise.allSettled(result) : result));
      runs.add(settledRun);
      const done = () => {
        state.running--;
        runs.delete(settledRun);
      };
      settledRun.then(done, done);
      return run;
    };
  }
  return state;
}

/**
 * A runner is stalled when a job it could run has been due for `stallAfterMs`, it has a free slot, and it has
 * started nothing for as long: graphile-worker's runner can stop fetching after a database outage without
 * stopping (so its heartbeat alone would keep its locks alive for ever). The supervisor then restarts it.
 */
export function isStalled(
  f: { sinceLastStartMs: number; running: number; concurrency: number; oldestDueMs: number | null },
  stallAfterMs: number,
): boolean {
  return f.oldestDueMs !== null && f.oldestDueMs > stallAfterMs && f.running < f.concurrency
    && f.sinceLastStartMs > stallAfterMs;
}

interface RunningPool { runner: Runner; stop(): Promise<void> }
interface RunnerSpec { name: string; tasks: TaskList; concurrency: number; cron: boolean; events?: WorkerEvents }

async function startRunner(deps: Deps, spec: RunnerSpec): Promise<RunningPool> {
  // Our own pool, so that stopping can wait until every connection is really closed, and so that a
  // connection the database drops (restart, failover) is logged instead of crashing the process.
  const pool = new pg.Pool({ connectionString: deps.databaseUrl, max: spec.concurrency + 2 });
  const lost = (error: Error) => deps.log.warn("worker pool connection lost", { error, runner: spec.name });
  pool.on("error", lost);
  pool.on("connect", (client) => client.on("error", lost));
  let runner: Runner;
  try {
    runner = await run({
      pgPool: pool,
      events: spec.events,
      concurrency: spec.concurrency,
      noHandleSignals: true,
      pollInterval: spec.name === "processing" ? 1000 : OUTBOUND_POLL_MS,
      taskList: spec.tasks,
      parsedCronItems: parseCronItems(spec.cron ? cronItems(deps.config) : []),
      logger: graphileLogger(deps),
      // Deliveries are few and slow: fetching them one at a time leaves the others to other processes.
      preset: { worker: workerBatching(deps, spec.name === "processing") },
    });
  } catch (error) {
    await pool.end();
    throw error;
  }
  return {
    runner,
    async stop() {
      try {
        await runner.stop();
      } catch (error) {
        // Already stopped (after an unexpected stop): the pool still has to close.
        if (!/already/i.test(String(error))) throw error;
      } finally {
        await pool.end();
      }
    },
  };
}

/**
 * Under a webhook storm most jobs take a few ms, so fetching and completing them one query each would cost
 * more than the work: the local queue fetches (and locks) a batch of jobs per query, and completions and
 * failures within a few ms are written together. Our tasks re-read state and are idempotent, so the longer
 * lock a crash leaves behind only delays a job, never doubles its effect. Batched completion is also what
 * makes a failure to record an outcome (database gone) stop the pool cleanly instead of leaving an unhandled
 * rejection and a job locked for hours; the supervisor (supervise.ts) then starts a new runner.
 */
function workerBatching(deps: Deps, processing: boolean): GraphileConfig.WorkerOptions {
  const { WORKER_LOCAL_QUEUE_SIZE: size, WORKER_COMPLETE_BATCH_MS: delay } = deps.config;
  return {
    ...(processing ? (size > 1 ? { localQueue: { size } } : {}) : { localQueue: OUTBOUND_QUEUE }),
    completeJobBatchDelay: delay,
    failJobBatchDelay: delay,
  };
}

/**
 * Every job inserted (a webhook batch, an SMS, an email) notifies every runner, and a runner without a local
 * queue wakes one idle worker per job to look for its own tasks: the outbound runner, with 40 idle workers and
 * only deliveries to find, spent a fruitless fetch per job (most of Postgres's CPU in a webhook storm). Its local
 * queue of one job fetches deliveries one at a time as before (it may hold one while all its workers are busy);
 * after a fetch that found none it waits about OUTBOUND_REFETCH_MS (0.5-1.5x) unless a random share of up to
 * OUTBOUND_ABORT_AFTER notifications comes first. A notification during that wait is not remembered, so the
 * runner also polls every OUTBOUND_POLL_MS: a new delivery starts within about that.
 */
const OUTBOUND_REFETCH_MS = 100;
const OUTBOUND_ABORT_AFTER = 25;
const OUTBOUND_POLL_MS = 200;
const OUTBOUND_QUEUE = {
  size: 1, refetchDelay: { durationMs: OUTBOUND_REFETCH_MS, maxAbortThreshold: OUTBOUND_ABORT_AFTER },
};

/** graphile-worker's own lines, through our JSON logger (its debug chatter dropped). */
function graphileLogger(deps: Deps): GraphileLogger {
  return new GraphileLogger((scope) => (level, message, meta) => {
    const fields = { component: "graphile-worker", ...scope, ...meta };
    // The outbound runner's local queue of one job is smaller than its concurrency on purpose (OUTBOUND_QUEUE).
    if (message.startsWith("Your job batch size")) return;
    if (level === "error") deps.log.error(message, fields);
    else if (level === "warning") deps.log.warn(message, fields);
    else if (level === "info") deps.log.debug(message, fields);
  });
}
