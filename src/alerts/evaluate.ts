import { sql } from "drizzle-orm";
import type { Tx } from "../db";
import type { Deps } from "../deps";
import { claimReminder, type Incident, openIncidentsOf, openOrTouch, resolveIncident } from "./incidents";
import type { AlertEvent } from "./message";
import { notifyIncident } from "./notify";
import type { Assessment, Rule } from "./rule";
import { RULES } from "./rules";

export type EvaluateDeps = Pick<Deps, "db" | "config" | "log" | "clock" | "metrics">;

export interface RuleOutcome {
  rule: string;
  changes: { event: AlertEvent; key: string; incidentId: string }[];
  /** Set when the rule could not be evaluated at all (its figures query failed); the other rules still ran. */
  error?: string;
}

/**
 * One evaluation of every rule (the `evaluate-alerts` task, every minute). Each rule runs in its own transaction and
 * each key's change in its own savepoint, so a rule or key that fails is logged and tried again next time while
 * the rest goes on.
 */
export async function evaluateAlerts(deps: EvaluateDeps, rules: Rule<any>[] = RULES): Promise<RuleOutcome[]> {
  const outcomes: RuleOutcome[] = [];
  for (const rule of rules) {
    try {
      outcomes.push(await evaluateRule(deps, rule));
    } catch (error) {
      deps.log.error("alert rule could not be evaluated", { rule: rule.name, error });
      outcomes.push({ rule: rule.name, changes: [], error: error instanceof Error ? error.message : String(error) });
    }
  }
  return outcomes;
}

async function evaluateRule(deps: EvaluateDeps, rule: Rule<any>): Promise<RuleOutcome> {
  const { config } = deps;
  const done: { event: AlertEvent; incident: Incident; channels: string[] }[] = [];
  await deps.db.transaction(async (tx) => {
    // One evaluator per rule at a time (the cron of any process, or an evaluation a debugger event asked for): the
    // second waits, then reads figures that already include the first one's outcome. Opening and resolving stay
    // exactly-once without it (unique open-incident index, conditional updates); this keeps a stale read from
    // reopening what a fresher one just resolved.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('switchboard:alerts'), hashtext(${rule.name}))`);
    const enabled = rule.enabled?.(config) ?? true;
    const assessed: Assessment[] = enabled ? rule.decide(await rule.read(tx, config), config) : [];
    const firing = new Map(assessed.filter((a) => a.firing).map((a) => [a.key, a]));
    const open = await openIncidentsOf(tx, rule.name);

    type Change = { event: AlertEvent; incident: Incident } | undefined;
    const change = async (key: string, fn: (sp: Tx) => Promise<Change>) => {
      try {
        await tx.transaction(async (sp) => {
          const result = await fn(sp);
          if (!result) return;
          const channels = await notifyIncident(deps, sp, result.incident, result.event, rule);
          done.push({ ...result, channels });
        });
      } catch (error) {
        // Rolled back to the savepoint: the incident did not change, so it is noticed again next minute.
        deps.log.error("alert change not recorded; retried at the next evaluation", { rule: rule.name, key, error });
      }
    };
    for (const a of firing.values()) {
      await change(a.key, async (sp) => {
        const { incident, opened } = await openOrTouch(sp, rule.name, a);
        if (opened) return { event: "opened", incident };
        const reminded = await claimReminder(sp, incident.id, config.ALERT_REPEAT_HOURS);
        return reminded ? { event: "reminder", incident: reminded } : undefined;
      });
    }
    for (const incident of open.filter((i) => !firing.has(i.key))) {
      await change(incident.key, async (sp) => {
        const resolved = await resolveIncident(sp, incident.id, assessed.find((a) => a.key === incident.key));
        return resolved ? { event: "resolved", incident: resolved } : undefined;
      });
    }
  });
  for (const { event, incident, channels } of done) {
    deps.metrics.alerts.inc({ rule: rule.name, event });
    const { key, id: incidentId, title } = incident;
    const fields = { rule: rule.name, key, incidentId, title, notified: channels };
    const unsent = "no SUPPORT_EMAIL or ALERT_WEBHOOK_URL: logged only";
    if (channels.length === 0) deps.log.warn(`alert ${event}; ${unsent}`, fields);
    else if (event === "resolved") deps.log.info("alert resolved", fields);
    else deps.log.warn(`alert ${event}`, fields);
  }
  const changes = done.map((d) => ({ event: d.event, key: d.incident.key, incidentId: d.incident.id }));
  return { rule: rule.name, changes };
}
