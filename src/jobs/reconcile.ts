import type { CronItem, Task } from "graphile-worker";
import type { Deps } from "../deps";
import { everyMinutes } from "../domain/reconcile";
import { type Pass, reconcileDue } from "../reconcile/run";

/** The cron task of each reconciliation pass (SPEC 11), by identifier. */
export const RECONCILE_TASKS: Record<string, Pass> = {
  "reconcile-sms-status": "twilio-status",
  "reconcile-inbound-sms": "twilio-sms",
  "reconcile-stripe": "stripe",
};

/**
 * A scheduled reconciliation pass. It never throws for a provider's trouble (the pass records it and backs off),
 * so graphile-worker does not retry it; the next tick is the retry.
 */
export function reconcileTask(deps: Deps, pass: Pass): Task {
  return async (_payload, helpers) => {
    const reports = await reconcileDue(deps, pass, helpers.abortSignal);
    const found = reports.reduce((n, r) => n + r.found.length, 0);
    const checked = reports.reduce((n, r) => n + r.checked, 0);
    if (found > 0 || reports.some((r) => r.outcome === "failed")) {
      deps.log.info("reconciliation pass ran", {
        pass, found, checked,
        outcomes: reports.map((r) => ({ number: r.number, outcome: r.outcome, found: r.found.length, error: r.error })),
      });
    }
  };
}

/**
 * Every pass runs every RECONCILE_INTERVAL_MINUTES, once across all workers (graphile-worker cron). They share the
 * `reconcile` queue, so at most one runs at a time and takes one worker slot, and run after webhook jobs
 * (priority 10), so reconciliation never holds up webhook processing. A tick that finds the last one still waiting
 * replaces it (job key) instead of queueing a second.
 */
export function reconcileCron(config: Deps["config"]): CronItem[] {
  return Object.keys(RECONCILE_TASKS).map((task) => ({
    task, identifier: task, match: everyMinutes(config.RECONCILE_INTERVAL_MINUTES),
    options: { queueName: "reconcile", priority: 10, maxAttempts: 1, jobKey: task },
  }));
}
