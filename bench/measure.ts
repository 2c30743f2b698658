import type postgres from "postgres";

export interface Cell {
  id: string;
  provider: "stripe" | "twilio-status";
  connections: number;
  target: "a" | "b" | "c";
}

export interface Result extends Cell {
  acceptedPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  sent: number;
  acked: number;
  lost: number;
  duplicated: number;
  processedPerSec?: number;
  lagP50?: number;
  lagP99?: number;
  ratioToPlain?: number;
  ratioToNaive?: number;
  backlog?: number[];
  drained?: boolean;
  rate?: number;
  exhausted?: boolean;
  /** CPU seconds per 1000 acknowledged webhooks: server process, Postgres, load generator. */
  cpu?: { server: number; postgres: number; loadgen: number; worker?: number };
}

/**
 * Every 2xx must have its row exactly once and (for b and c) exactly one job: still queued, or run once
 * (attempts = 1, no longer pending) when a worker processed it. Lost: a 2xx without a row, or a pending row
 * without a job. Duplicated: a key acknowledged twice, a row with two jobs, or processed more than once.
 */
export async function verify(sql: postgres.Sql, target: Cell["target"], acked: string[]) {
  const unique = [...new Set(acked)];
  let found = 0;
  let withoutJob = 0;
  let duplicated = acked.length - unique.length;
  for (let i = 0; i < unique.length; i += 20_000) {
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
        where e.idempotency_key = any(${unique.slice(i, i + 20_000)})
      )
      select count(*)::int as found,
        count(*) filter (where ${target !== "a"} and status = 'pending' and jobs = 0)::int as without_job,
        count(*) filter (where ${target !== "a"} and (jobs > 1 or attempts > 1))::int as duplicated
      from e`;
    found += row!.found;
    withoutJob += row!.without_job;
    duplicated += row!.duplicated;
  }
  return { lost: unique.length - found + withoutJob, duplicated };
}

/** Events processed per second over the cell and received_at → processed_at percentiles (ms). */
export async function processing(sql: postgres.Sql) {
  const [row] = await sql`
    select count(*)::int as n,
      extract(epoch from max(processed_at) - min(received_at)) as span,
      percentile_cont(0.5) within group (order by extract(epoch from processed_at - received_at) * 1000) as p50,
      percentile_cont(0.99) within group (order by extract(epoch from processed_at - received_at) * 1000) as p99
    from webhook_events where processed_at is not null`;
  return { perSec: row!.n / Number(row!.span || 1), p50: Number(row!.p50), p99: Number(row!.p99) };
}

/** Samples the pending backlog once a second until stopped. */
export function backlog(sql: postgres.Sql) {
  const samples: number[] = [];
  let on = true;
  void (async () => {
    while (on) {
      await Bun.sleep(1000);
      if (!on) break;
      const [row] = await sql`select count(*)::int as n from webhook_events where status =
        'pending'`.catch(() => [{ n: -1 }]);
      samples.push(row!.n);
    }
  })();
  return { stop: () => { on = false; return samples; } };
}

export function summarize(
  cell: Cell,
  summary: any,
  checked: { lost: number; duplicated: number },
  processed: { perSec: number; p50: number; p99: number } | undefined,
  extra: { backlog?: number[]; drained?: boolean; rate?: number; cpu?: Result["cpu"] },
): Result {
  return {
    ...cell,
    acceptedPerSec: summary.acked / summary.duration,
    p50: summary.latency.p50,
    p99: summary.latency.p99,
    errors: summary.errors + summary.timeouts + summary.non2xx,
    sent: summary.sent,
    acked: summary.acked,
    exhausted: summary.exhausted,
    ...checked,
    ...(processed ? { processedPerSec: processed.perSec, lagP50: processed.p50, lagP99: processed.p99 } : {}),
    ...(extra.backlog ? { backlog: extra.backlog, drained: extra.drained } : {}),
    ...(extra.rate ? { rate: extra.rate } : {}),
    cpu: extra.cpu,
  };
}
