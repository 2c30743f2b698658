// What a cell's database says after its load: loss and duplicates among the requests sent, processing times,
// the backlog over time. The effects of processing are checked in bench/effects.ts.
import type postgres from "postgres";
import { PATHS, type Provider } from "./workload";

/**
 * wrk cannot tell which request a response answers, but requests go out in file order: the keys sent are the
 * first `sent` ones. Of those, `found` have their row. `lost` = 2xx answers beyond the rows found (an
 * acknowledged event that is not stored), plus stored rows still pending without a job to process them.
 * `missing` rows are expected only for requests that got no 2xx (`unanswered`: non-2xx, socket errors and the
 * ones still in flight when the load stopped, which may or may not have been stored).
 * `twoJobs`: a row queued twice; `reprocessed`: a row whose processing ran more than once (attempts > 1).
 */
export interface Delivery {
  sent: number;
  found: number;
  missing: number;
  unanswered: number;
  lost: number;
  twoJobs: number;
  reprocessed: number;
}

export async function delivery(
  sql: postgres.Sql, provider: Provider, keys: string[], ok2xx: number, queued: boolean,
): Promise<Delivery> {
  let found = 0, withoutJob = 0, twoJobs = 0, reprocessed = 0;
  for (let i = 0; i < keys.length; i += 20_000) {
    const [row] = await sql`
      with queued as (
        -- A job holds one event ({eventId}) or a batch of them ([{eventId}, ...]).
        select (coalesce(item.value, j.payload::jsonb) ->> 'eventId')::bigint as id, count(*)::int as jobs
        from graphile_worker._private_jobs j
        join graphile_worker._private_tasks t on t.id = j.task_id and t.identifier = 'process-webhook'
        left join lateral jsonb_array_elements(
          case when jsonb_typeof(j.payload::jsonb) = 'array' then j.payload::jsonb end) item on true
        group by 1
      ), e as (
        select e.status, e.attempts, coalesce(q.jobs, 0) as jobs
        from webhook_events e left join queued q on q.id = e.id
        where e.provider = ${provider} and e.idempotency_key = any(${keys.slice(i, i + 20_000)})
      )
      select count(*)::int as found,
        count(*) filter (where ${queued} and status = 'pending' and jobs = 0)::int as without_job,
        count(*) filter (where ${queued} and jobs > 1)::int as two_jobs,
        count(*) filter (where attempts > 1)::int as reprocessed
      from e`;
    found += row!.found;
    withoutJob += row!.without_job;
    twoJobs += row!.two_jobs;
    reprocessed += row!.reprocessed;
  }
  return {
    sent: keys.length, found, missing: keys.length - found, unanswered: keys.length - ok2xx,
    lost: Math.max(0, ok2xx - found) + withoutJob, twoJobs, reprocessed,
  };
}

export interface Processing {
  /** Events with processed_at in [from, to], per second of that window. */
  perSec: number;
  /** Processed events per second from the first processed_at to the last (a drain's rate). */
  perSecSpan: number;
  processed: number;
  /** received_at → processed_at of every processed event, ms. */
  lagP50: number;
  lagP99: number;
  lagMax: number;
  pending: number;
}

export async function processing(sql: postgres.Sql, provider: Provider, from: Date, to: Date): Promise<Processing> {
  const [row] = await sql`
    select count(*) filter (where processed_at between ${from} and ${to})::int as window,
      count(*) filter (where processed_at is not null)::int as processed,
      count(*) filter (where status = 'pending')::int as pending,
      percentile_cont(0.5) within group (order by extract(epoch from processed_at - received_at) * 1000) as p50,
      percentile_cont(0.99) within group (order by extract(epoch from processed_at - received_at) * 1000) as p99,
      max(extract(epoch from processed_at - received_at) * 1000) as max,
      extract(epoch from max(processed_at) - min(processed_at)) as span
    from webhook_events where provider = ${provider}`;
  const seconds = Math.max(0.001, (to.getTime() - from.getTime()) / 1000);
  return {
    perSec: row!.window / seconds, perSecSpan: row!.processed / Math.max(0.001, Number(row!.span ?? 0)),
    processed: row!.processed, pending: row!.pending,
    lagP50: Number(row!.p50 ?? NaN), lagP99: Number(row!.p99 ?? NaN), lagMax: Number(row!.max ?? NaN),
  };
}

const pendingOf = (provider: Provider) => {
  if (!(provider in PATHS)) throw new Error(`unknown provider ${provider}`);
  return `from webhook_events where provider = '${provider}' and status = 'pending'`;
};

/**
 * Pending events of a provider. Sampled while a step runs, so its cost lands in the Postgres CPU measured: it grows
 * with the count (an index-only scan that still visits the heap for rows updated lately), about 2 µs a row here.
 */
export async function pendingCount(sql: postgres.Sql, provider: Provider): Promise<number> {
  const [row] = await sql.unsafe(`select count(*)::int as n ${pendingOf(provider)}`);
  return row!.n as number;
}

/** Whether any event is pending: stops at the first, so polling a large backlog costs next to nothing. */
export async function anyPending(sql: postgres.Sql, provider: Provider): Promise<boolean> {
  const [row] = await sql.unsafe(`select exists (select 1 ${pendingOf(provider)}) as any`);
  return row!.any as boolean;
}

/** Samples the pending backlog every `everyMs` until stopped: [ms since start, pending]. */
export function backlog(sql: postgres.Sql, provider: Provider, everyMs = 500) {
  const samples: [number, number][] = [];
  const start = Date.now();
  let on = true;
  const loop = (async () => {
    while (on) {
      await Bun.sleep(everyMs);
      if (!on) break;
      samples.push([Date.now() - start, await pendingCount(sql, provider).catch(() => -1)]);
    }
  })();
  return {
    stop: async () => {
      on = false;
      await loop;
      return samples;
    },
  };
}

/** Polls until nothing is pending or `limitMs` passed; true when drained. */
export async function drain(sql: postgres.Sql, provider: Provider, limitMs: number): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (await anyPending(sql, provider)) {
    if (Date.now() > deadline) return false;
    await Bun.sleep(200);
  }
  return true;
}
