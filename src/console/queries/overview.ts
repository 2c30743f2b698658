import { sql } from "drizzle-orm";
import type { Db } from "../../db";

export interface Window {
  provider: string;
  status: string;
  hour: number;
  day: number;
}
export interface Overview {
  received: Window[];
  answerMs: { hour: [number | null, number | null]; day: [number | null, number | null] };
  pending: number;
  failed: number;
  oldestJobSeconds: number | null;
  deliveries: { hour: Record<string, number>; day: Record<string, number> };
  sms: Record<string, number>;
  emailsWaiting: number;
  emailsFailed: number;
}

const counts = (rows: { status: string; n: number }[]) => Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));

/** The overview's figures; each query reads an index range (the last day), a status index or the job queue. */
export async function overview(db: Db): Promise<Overview> {
  // One pass over the last day's events gives both the counts (grouping sets: per provider and status) and the
  // answer-time percentiles (the empty grouping set: all of them).
  const [day, backlog, job, outbound, sms, emails] = await Promise.all([
    db.execute<{
      provider: string | null;
      status: string | null;
      hour: number;
      day: number;
      h50: number | null;
      h99: number | null;
      d50: number | null;
      d99: number | null;
    }>(sql`
      select provider, status,
        count(*) filter (where received_at >= now() - interval '1 hour')::int as hour, count(*)::int as day,
        percentile_cont(0.5) within group (order by response_ms)
          filter (where received_at >= now() - interval '1 hour') as h50,
        percentile_cont(0.99) within group (order by response_ms)
          filter (where received_at >= now() - interval '1 hour') as h99,
        percentile_cont(0.5) within group (order by response_ms) as d50,
        percentile_cont(0.99) within group (order by response_ms) as d99
      from webhook_events where received_at >= now() - interval '1 day'
      group by grouping sets ((provider, status), ())`),
    db.execute<{ status: string; n: number }>(sql`
      select status, count(*)::int as n from webhook_events where status in ('pending', 'failed') group by status`),
    db.execute<{ age: number | null }>(sql`
      select extract(epoch from now() - min(run_at))::float8 as age from graphile_worker.jobs
      where locked_at is null and run_at <= now() and attempts < max_attempts`),
    db.execute<{ status: string; hour: number; day: number }>(sql`
      select status, count(*) filter (where created_at >= now() - interval '1 hour')::int as hour, count(*)::int as day
      from deliveries where created_at >= now() - interval '1 day' group by status`),
    db.execute<{ status: string; n: number }>(sql`
      select status, count(*)::int as n from sms_messages
      where created_at >= now() - interval '1 day' group by status`),
    db.execute<{ status: string; n: number }>(sql`
      select status, count(*)::int as n from email_outbox where status in ('pending', 'failed') group by status`),
  ]);
  const a = [...day].find((r) => r.provider === null);
  const received = [...day].filter((r) => r.provider !== null) as {
    provider: string;
    status: string;
    hour: number;
    day: number;
  }[];
  const num = (v: unknown) => (v === null || v === undefined ? null : Math.round(Number(v)));
  const b = counts([...backlog]);
  const e = counts([...emails]);
  return {
    received: received.map((r) => ({
      provider: r.provider,
      status: r.status,
      hour: Number(r.hour),
      day: Number(r.day),
    })),
    answerMs: { hour: [num(a?.h50), num(a?.h99)], day: [num(a?.d50), num(a?.d99)] },
    pending: b.pending ?? 0,
    failed: b.failed ?? 0,
    oldestJobSeconds: job[0]?.age === null || job[0]?.age === undefined ? null : Number(job[0].age),
    deliveries: {
      hour: Object.fromEntries([...outbound].map((r) => [r.status, Number(r.hour)])),
      day: Object.fromEntries([...outbound].map((r) => [r.status, Number(r.day)])),
    },
    sms: counts([...sms]),
    emailsWaiting: e.pending ?? 0,
    emailsFailed: e.failed ?? 0,
  };
}
