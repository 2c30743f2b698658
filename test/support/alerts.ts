import { evaluateAlerts, type RuleOutcome } from "../../src/alerts/evaluate";
import type { Rule } from "../../src/alerts/rule";
import type { Config } from "../../src/config";
import type { Harness } from "./harness";

type Rows = (q: TemplateStringsArray, ...v: any[]) => Promise<any[]>;
export const rowsOf = (h: Harness): Rows => (q, ...v) => h.deps.sql(q, ...v) as unknown as Promise<any[]>;

let seq = 0;

/** Webhook events as ingest stores them, received `ageSeconds` ago (database clock). Returns their ids. */
export async function insertEvents(h: Harness, opts: {
  provider?: string; count: number; status?: string; ageSeconds?: number; responseMs?: number;
  lastError?: string | null;
}): Promise<number[]> {
  const rows = await rowsOf(h)`
    insert into webhook_events (provider, idempotency_key, headers, raw_body, response_status, response_body,
      response_content_type, response_ms, status, last_error, received_at)
    select ${opts.provider ?? "stripe"}, ${`alert-test-${process.pid}-${++seq}-`} || g, '{}'::jsonb, '', 200, '',
      'application/json', ${opts.responseMs ?? 4}, ${opts.status ?? "processed"}, ${opts.lastError ?? null},
      now() - make_interval(secs => ${opts.ageSeconds ?? 30})
    from generate_series(1, ${opts.count}::int) g
    returning id`;
  return rows.map((r) => Number(r.id));
}

/** Evaluates the given rules (all by default), optionally with other thresholds than the harness's config. */
export function evaluate(h: Harness, rules?: Rule<any>[], config: Partial<Config> = {}): Promise<RuleOutcome[]> {
  return evaluateAlerts({ ...h.deps, config: { ...h.deps.config, ...config } }, rules);
}

export const incidentsOf = (h: Harness, rule: string) =>
  rowsOf(h)`select * from incidents where rule = ${rule} order by opened_at, id`;

/** The alert emails queued for one incident, by event (`opened`, `resolved`, `reminder:1`, ...). */
export async function alertEmails(h: Harness, incidentId: string): Promise<string[]> {
  const rows = await rowsOf(h)`select dedupe_key from email_outbox where kind = 'alert'
    and dedupe_key like ${`alert:${incidentId}:%`} order by created_at, dedupe_key`;
  return rows.map((r) => String(r.dedupe_key).slice(`alert:${incidentId}:`.length));
}

/** The events of one rule's evaluation, as `event key` strings. */
export const changesOf = (outcomes: RuleOutcome[]) =>
  outcomes.flatMap((o) => o.changes.map((c) => `${o.rule} ${c.event} ${c.key}`));
