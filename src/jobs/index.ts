import { Logger as GraphileLogger, parseCronItems, type Runner, run, type TaskList } from "graphile-worker";
import type { Deps } from "../deps";
import { deliverClinicEventTask, deliverMessageTask, sendDeliveryTask, sweepDeliveriesTask } from "./deliver";
import { expireHoldTask, sweepHoldsTask } from "./expire-hold";
import { processWebhookTask } from "./process-webhook";
import { sendEmailTask } from "./send-email";
import { processStripeEvent } from "./stripe-event";

/** Every task the worker runs, by identifier. */
export function taskList(deps: Deps): TaskList {
  return {
    "process-webhook": processWebhookTask(deps, { stripe: processStripeEvent }),
    "expire-hold": expireHoldTask(deps),
    "sweep-holds": sweepHoldsTask(deps),
    "send-email": sendEmailTask(deps),
    "deliver-message": deliverMessageTask(deps),
    "deliver-clinic-event": deliverClinicEventTask(deps),
    "send-delivery": sendDeliveryTask(deps),
    "sweep-deliveries": sweepDeliveriesTask(deps),
  };
}

export const CRON = [
  { task: "sweep-holds", match: "*/5 * * * *", identifier: "sweep-holds" },
  { task: "sweep-deliveries", match: "*/5 * * * *", identifier: "sweep-deliveries" },
];

export async function startWorker(deps: Deps): Promise<Runner> {
  return run({
    connectionString: deps.databaseUrl,
    concurrency: deps.config.WORKER_CONCURRENCY,
    noHandleSignals: true,
    pollInterval: 1000,
    taskList: taskList(deps),
    parsedCronItems: parseCronItems(CRON),
    logger: graphileLogger(deps),
  });
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
