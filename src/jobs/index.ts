import { Logger as GraphileLogger, parseCronItems, type Runner, run, type TaskList, type WorkerEvents } from "graphile-worker";
import pg from "pg";
import type { Deps } from "../deps";
import { deliverClinicEventTask, deliverMessageTask, sendDeliveryTask, sweepDeliveriesTask } from "./deliver";
import { expireHoldTask, sweepHoldsTask } from "./expire-hold";
import { processWebhookTask } from "./process-webhook";
import { sendEmailTask } from "./send-email";
import { sendRemindersTask } from "./send-reminders";
import { sendSmsTask } from "./send-sms";
import { processStripeEvent } from "./stripe-event";
import { processTwilioSms } from "./twilio-sms-event";
import { processTwilioStatus } from "./twilio-status-event";

/** Every task the worker runs, by identifier. */
export function taskList(deps: Deps): TaskList {
  return {
    "process-webhook": processWebhookTask(deps, {
      stripe: processStripeEvent, "twilio-sms": processTwilioSms, "twilio-status": processTwilioStatus,
    }),
    "expire-hold": expireHoldTask(deps),
    "sweep-holds": sweepHoldsTask(deps),
    "send-email": sendEmailTask(deps),
    "send-sms": sendSmsTask(deps),
    "deliver-message": deliverMessageTask(deps),
    "deliver-clinic-event": deliverClinicEventTask(deps),
    "send-delivery": sendDeliveryTask(deps),
    "sweep-deliveries": sweepDeliveriesTask(deps),
    "send-reminders": sendRemindersTask(deps),
  };
}

export const CRON = [
  { task: "sweep-holds", match: "*/5 * * * *", identifier: "sweep-holds" },
  { task: "sweep-deliveries", match: "*/5 * * * *", identifier: "sweep-deliveries" },
  // Reminders go out within a few minutes of REMINDER_HOURS before the appointment.
  { task: "send-reminders", match: "*/5 * * * *", identifier: "send-reminders" },
];

export interface Worker {
  runner: Runner;
  /** Waits for running jobs, then closes the worker's own pool. */
  stop(): Promise<void>;
}

export async function startWorker(deps: Deps, events?: WorkerEvents): Promise<Worker> {
  // Our own pool, so that stopping can wait until every connection is really closed, and so that a
  // connection the database drops (restart, failover) is logged instead of crashing the process.
  const pool = new pg.Pool({ connectionString: deps.databaseUrl, max: deps.config.WORKER_CONCURRENCY + 2 });
  const lost = (error: Error) => deps.log.warn("worker pool connection lost", { error });
  pool.on("error", lost);
  pool.on("connect", (client) => client.on("error", lost));
  const runner = await run({
    pgPool: pool,
    events,
    concurrency: deps.config.WORKER_CONCURRENCY,
    noHandleSignals: true,
    pollInterval: 1000,
    taskList: taskList(deps),
    parsedCronItems: parseCronItems(CRON),
    logger: graphileLogger(deps),
    preset: { worker: workerBatching(deps) },
  });
  return {
    runner,
    async stop() {
      try {
        await runner.stop();
      } finally {
        // Also after an unexpected stop, when runner.stop() says it is already stopped.
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
function workerBatching(deps: Deps): GraphileConfig.WorkerOptions {
  const { WORKER_LOCAL_QUEUE_SIZE: size, WORKER_COMPLETE_BATCH_MS: delay } = deps.config;
  return {
    ...(size > 1 ? { localQueue: { size } } : {}),
    completeJobBatchDelay: delay,
    failJobBatchDelay: delay,
  };
}

/** graphile-worker's own lines, through our JSON logger (its debug chatter dropped). */
function graphileLogger(deps: Deps): GraphileLogger {
  return new GraphileLogger((scope) => (level, message, meta) => {
    const fields = { component: "graphile-worker", ...scope, ...meta };
    if (level === "error") deps.log.error(message, fields);
    else if (level === "warning") deps.log.warn(message, fields);
    else if (level === "info") deps.log.debug(message, fields);
  });
}
