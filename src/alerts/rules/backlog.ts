import { sql } from "drizzle-orm";
import type { Executor } from "../../db";
import { type Assessment, type IncidentExample, names, type Rule, rows, WATCHED_PROVIDERS } from "../rule";

interface BacklogRow {
  queue: "webhook_events" | "jobs";
  oldest_seconds: number | null;
  waiting: number;
  examples: IncidentExample[] | null;
}

// Pending events, oldest first per provider (webhook_events_status_idx), and graphile-worker jobs that are due,
// not locked and not out of attempts (its own jobs_main_index): what no worker has picked up yet.
const PENDING_EVENTS = sql`
  select e.id, e.provider, e.received_at, e.attempts, e.last_error
  from unnest(${names(WATCHED_PROVIDERS)}) as p(provider)
  cross join lateral (select id, provider, received_at, attempts, last_error from webhook_events
    where provider = p.provider and status = 'pending' order by id limit 5) e`;
const DUE_JOBS = sql`
  select j.id, t.identifier as task, j.run_at, j.attempts, j.last_error
  from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
  where j.is_available and j.run_at <= now()`;

/**
 * The oldest webhook event still `pending` and the oldest due job nobody has started: both grow when workers are
 * stalled, dead or far behind. (If every worker is gone, nobody evaluates this rule: the Prometheus rule on
 * switchboard_backlog_oldest_seconds, read by the web processes, covers that case.)
 */
export const backlog: Rule<BacklogRow[]> = {
  name: "backlog",
  description: "Work waiting too long: the oldest pending webhook event, or the oldest due job no worker has started",
  hint: "Are workers running (ROLE=worker or all, worker_heartbeats)? Check their logs for a task that keeps "
    + "failing or hanging, the database's health, and whether a webhook storm needs more workers.",
  read: (db) => rows(db, sql`
    with events as (${PENDING_EVENTS}), jobs as (${DUE_JOBS} order by j.run_at limit 5)
    select 'webhook_events' as queue,
      (select extract(epoch from now() - min(received_at))::float8 from events) as oldest_seconds,
      (select count(*)::int from unnest(${names(WATCHED_PROVIDERS)}) as p(provider)
        cross join lateral (select 1 from webhook_events
          where provider = p.provider and status = 'pending') w) as waiting,
      (select array_agg(json_build_object('kind', 'webhook_event', 'id', id::text, 'detail',
        concat_ws('; ', provider, 'received ' || received_at, 'attempts ' || attempts, left(last_error, 160)))
        order by received_at) from events) as examples
    union all
    select 'jobs',
      (select extract(epoch from now() - min(run_at))::float8 from jobs),
      (select count(*)::int from graphile_worker._private_jobs where is_available and run_at <= now()),
      (select array_agg(json_build_object('kind', 'job', 'id', id::text, 'detail',
        concat_ws('; ', task, 'due ' || run_at, 'attempts ' || attempts, left(last_error, 160)))
        order by run_at) from jobs)`),
  decide: (figures, config) => figures.map((f): Assessment => {
    const age = Math.round(f.oldest_seconds ?? 0);
    const what = f.queue === "jobs" ? "due jobs" : "pending webhook events";
    return {
      key: f.queue,
      firing: age > config.ALERT_BACKLOG_SECONDS,
      title: `${f.waiting} ${what}; the oldest has waited ${age} s`,
      figures: {
        queue: f.queue, oldest_seconds: age, waiting: f.waiting, threshold_seconds: config.ALERT_BACKLOG_SECONDS,
      },
      examples: f.examples ?? [],
    };
  }),
};

/** Age in seconds of the oldest waiting item per queue, for the metrics gauge read at scrape time. */
export async function backlogAges(db: Executor): Promise<Record<string, number>> {
  const [row] = await rows<{ events: number | null; jobs: number | null; emails: number | null }>(db, sql`
    select (select extract(epoch from now() - min(received_at))::float8 from (${PENDING_EVENTS}) e) as events,
      (select extract(epoch from now() - min(run_at))::float8 from (${DUE_JOBS}) j) as jobs,
      (select extract(epoch from now() - min(created_at))::float8 from email_outbox
        where status in ('pending', 'sending')) as emails`);
  return { webhook_events: row?.events ?? 0, jobs: row?.jobs ?? 0, email_outbox: row?.emails ?? 0 };
}
