// Exactly-once check of a realistic workload's effects (bench/workload.ts), counted from the rows themselves after
// the drain. Per processed event its effects must be there once (`missing`: none; `doubled`: more than one), and
// no effect may be there for an event that is not processed (`stray`). `notProcessed` counts events that ended
// otherwise (ignored, failed) or are still pending, with the most common reasons.
import type postgres from "postgres";
import type { Provider } from "./workload";

export interface Effects {
  processed: number;
  notProcessed: number;
  reasons: { status: string; reason: string | null; n: number }[];
  /** Per effect: rows expected (one per processed event or message), missing, doubled, stray. */
  checks: Record<string, { expected: number; missing: number; doubled: number; stray: number }>;
}

export const effectProblems = (e: Effects) => ({
  missing: Object.values(e.checks).reduce((n, c) => n + c.missing + c.stray, 0),
  doubled: Object.values(e.checks).reduce((n, c) => n + c.doubled, 0),
});

export async function checkEffects(sql: postgres.Sql, provider: Provider): Promise<Effects> {
  const reasons = await sql<{ status: string; reason: string | null; n: number }[]>`
    select status, left(last_error, 160) as reason, count(*)::int as n from webhook_events
    where provider = ${provider} and status <> 'processed' group by 1, 2 order by 3 desc limit 5`;
  const [{ processed }] = await sql`select count(*)::int as processed from webhook_events
    where provider = ${provider} and status = 'processed'`;
  const notProcessed = reasons.reduce((n, r) => n + r.n, 0);
  const checks = provider === "stripe" ? await stripeChecks(sql) : await statusChecks(sql);
  return { processed: Number(processed), notProcessed, reasons: [...reasons], checks };
}

/**
 * payment_intent.succeeded for appointment i (key evt_bench_i): one deposit row, the appointment confirmed with
 * one history row caused by the event, one confirmation SMS queued for the appointment.
 */
async function stripeChecks(sql: postgres.Sql) {
  const [r] = await sql`
    with ev as (
      select e.id, e.status = 'processed' as done,
        md5('bench-appointment:' || substr(e.idempotency_key, length('evt_bench_') + 1))::uuid as appointment_id
      from webhook_events e where e.provider = 'stripe'
    ), per as (
      select ev.done, a.status as appointment_status,
        (select count(*) from transactions t
          where t.appointment_id = ev.appointment_id and t.kind = 'deposit') as deposits,
        (select count(*) from appointment_history h
          where h.cause_type = 'webhook_event' and h.cause_id = ev.id::text) as history,
        (select count(*) from sms_messages m
          where m.appointment_id = ev.appointment_id and m.kind = 'confirmation') as sms
      from ev join appointments a on a.id = ev.appointment_id
    )
    select count(*) filter (where done)::int as expected,
      count(*) filter (where done and deposits = 0)::int as deposit_missing,
      count(*) filter (where deposits > 1)::int as deposit_doubled,
      count(*) filter (where not done and deposits > 0)::int as deposit_stray,
      count(*) filter (where done and appointment_status <> 'confirmed')::int as confirmed_missing,
      count(*) filter (where not done and appointment_status = 'confirmed')::int as confirmed_stray,
      count(*) filter (where done and history = 0)::int as history_missing,
      count(*) filter (where history > 1)::int as history_doubled,
      count(*) filter (where not done and history > 0)::int as history_stray,
      count(*) filter (where done and sms = 0)::int as sms_missing,
      count(*) filter (where sms > 1)::int as sms_doubled,
      count(*) filter (where not done and sms > 0)::int as sms_stray
    from per`;
  const row = r!;
  const check = (name: string, doubled = 0) => ({
    expected: row.expected, missing: row[`${name}_missing`], doubled, stray: row[`${name}_stray`],
  });
  return {
    transactions: check("deposit", row.deposit_doubled),
    "appointments confirmed": check("confirmed"),
    appointment_history: check("history", row.history_doubled),
    "sms_messages (confirmation)": check("sms", row.sms_doubled),
  };
}

/**
 * A status callback (key <sid>:<status>): one sms_status_events row. Per SMS, its status is the highest of its
 * processed callbacks (`delivered` over `sent`; `queued`, as seeded, without any), and its appointment's sms fields
 * say the same (sms_status, sms_delivered, sms_delivered_at set only when delivered).
 */
async function statusChecks(sql: postgres.Sql) {
  const [r] = await sql`
    with ev as (
      select e.id, e.status = 'processed' as done, split_part(e.idempotency_key, ':', 1) as sid,
        split_part(e.idempotency_key, ':', 2) as reported,
        (select count(*) from sms_status_events s where s.webhook_event_id = e.id) as history
      from webhook_events e where e.provider = 'twilio-status'
    ), per_sms as (
      select m.status, a.sms_status, a.sms_delivered, a.sms_delivered_at is not null as delivered_at,
        case when bool_or(ev.done and ev.reported = 'delivered') then 'delivered'
          when bool_or(ev.done) then 'sent' else 'queued' end as expected
      from sms_messages m join appointments a on a.id = m.appointment_id left join ev on ev.sid = m.twilio_sid
      where m.kind = 'confirmation'
      group by m.id, a.id
    )
    select (select count(*) filter (where done) from ev)::int as history_expected,
      (select count(*) filter (where done and history = 0) from ev)::int as history_missing,
      (select count(*) filter (where history > 1) from ev)::int as history_doubled,
      (select count(*) filter (where not done and history > 0) from ev)::int as history_stray,
      (select count(*) filter (where expected <> 'queued') from per_sms)::int as moved,
      (select count(*) filter (where expected <> 'queued' and status <> expected) from per_sms)::int as sms_missing,
      (select count(*) filter (where expected = 'queued' and status <> 'queued') from per_sms)::int as sms_stray,
      (select count(*) filter (where expected <> 'queued' and (sms_status is distinct from expected
        or sms_delivered <> (expected = 'delivered') or delivered_at <> (expected = 'delivered'))) from per_sms)::int
        as appointment_missing,
      (select count(*) filter (where expected = 'queued' and (sms_status is distinct from 'queued' or sms_delivered))
        from per_sms)::int as appointment_stray`;
  const row = r!;
  return {
    sms_status_events: {
      expected: row.history_expected, missing: row.history_missing, doubled: row.history_doubled,
      stray: row.history_stray,
    },
    "sms_messages status": { expected: row.moved, missing: row.sms_missing, doubled: 0, stray: row.sms_stray },
    "appointments sms fields": {
      expected: row.moved, missing: row.appointment_missing, doubled: 0, stray: row.appointment_stray,
    },
  };
}
