import type { Task } from "graphile-worker";
import { evaluateAlerts } from "../alerts/evaluate";
import type { Deps } from "../deps";

/**
 * The cron item and job options of the evaluation. One waiting job at a time (the key), never retried (the next
 * minute evaluates anyway), and ahead of other jobs (priority), so a backlog of webhooks does not delay the alert
 * that reports it.
 */
export const EVALUATE_ALERTS = {
  task: "evaluate-alerts",
  options: { jobKey: "evaluate-alerts", maxAttempts: 1, priority: -10 },
} as const;

/** `evaluate-alerts`: every rule against the database; see src/alerts/evaluate.ts. */
export function evaluateAlertsTask(deps: Deps): Task {
  return async () => {
    await evaluateAlerts(deps);
  };
}
