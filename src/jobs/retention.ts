import { makeWorkerUtils, type Task } from "graphile-worker";
import { quietLogger, type Sql } from "../db";
import type { Deps } from "../deps";
import { SMS_STATUS_RANK } from "../domain/sms-status";

type RetentionDeps = Pick<Deps, "sql" | "config" | "log" | "metrics" | "clock" | "databaseUrl">;

const DAY_MS = 86_400_000;
/** A management API rate-limit window this old has ended, whatever its length (the API counts per minute). */
const RATE_WINDOW_SPENT_MS = 3_600_000;
const FINISHED_EVENTS = ["processed", "ignored", "failed"];
const FINISHED_EMAILS = ["sent", "logged", "failed"];

interface Limits {
  cutoff: string;
  rateCutoff: string;
  slotWindow: string;
  n: number;
}
/** What one batch changed, by "table action". */
type Changed = Record<string, number>;

/**
 * One batch each: a single statement (its own short transaction) over at most `n` rows, taken in age order with
 * `for update skip locked`, so a row a webhook, job or API call holds is left for the next run and nothing waits.
 */
const STEPS: { name: string; batch(sql: Sql, l: Limits): Promise<Changed> }[] = [
  {
    // The row stays with its key, answer and outcome: a duplicate delivery still finds it and gets the first answer.
    name: "webhook_events",
    batch: async (sql, l) => ({
      "webhook_events cleared": (
        await sql`
        update webhook_events set raw_body = '', headers = '{}'::jsonb, phone = null, purged_at = now()
        where id in (select id from webhook_events
          where purged_at is null and received_at < ${l.cutoff}::timestamptz
            and status = any(${FINISHED_EVENTS}::text[])
          order by received_at limit ${l.n} for update skip locked)`
      ).count,
    }),
  },
  {
    name: "delivery_attempts",
    batch: async (sql, l) => ({
      "delivery_attempts cleared": (
        await sql`
        update delivery_attempts set response_body = null
        where id in (select id from delivery_attempts
          where response_body is not null and started_at < ${l.cutoff}::timestamptz
          order by started_at limit ${l.n} for update skip locked)`
      ).count,
    }),
  },
  {
    // Of an SMS's old history, the row that gave its final status stays (status, error code, times) without
    // Twilio's parameters; the rows it outranked are removed.
    name: "sms_status_events",
    batch: async (sql, l) => {
      const [row] = await sql<{ deleted: number; cleared: number }[]>`
        with batch as (
          select id, twilio_sid from sms_status_events
          where payload is not null and received_at < ${l.cutoff}::timestamptz
          order by received_at limit ${l.n} for update skip locked
        ), ranks as (
          select * from unnest(${Object.keys(SMS_STATUS_RANK)}::text[], ${Object.values(SMS_STATUS_RANK)}::int[])
            as r(status, rank)
        ), final as (
          select distinct on (h.twilio_sid) h.id from sms_status_events h join ranks using (status)
          where h.twilio_sid in (select twilio_sid from batch)
          order by h.twilio_sid, ranks.rank desc, h.id
        ), deleted as (
          delete from sms_status_events where id in (select id from batch) and id not in (select id from final)
          returning 1
        ), cleared as (
          update sms_status_events set payload = null
          where id in (select id from batch) and id in (select id from final)
          returning 1
        )
        select (select count(*) from deleted)::int as deleted, (select count(*) from cleared)::int as cleared`;
      return { "sms_status_events deleted": row!.deleted, "sms_status_events cleared": row!.cleared };
    },
  },
  {
    name: "email_outbox",
    batch: async (sql, l) => ({
      "email_outbox cleared": (
        await sql`
        update email_outbox set body = '', purged_at = now()
        where id in (select id from email_outbox
          where purged_at is null and created_at < ${l.cutoff}::timestamptz and status = any(${FINISHED_EMAILS}::text[])
          order by created_at limit ${l.n} for update skip locked)`
      ).count,
    }),
  },
  {
    name: "api_rate_limits",
    batch: async (sql, l) => ({
      "api_rate_limits deleted": (
        await sql`
        delete from api_rate_limits where (key_hash, window_start) in (
          select key_hash, window_start from api_rate_limits where window_start < ${l.rateCutoff}::timestamptz
          limit ${l.n} for update skip locked)`
      ).count,
    }),
  },
  {
    // Idempotency-Key answers are kept 24 hours (src/api/idempotency.ts); new claims sweep a few, this the rest.
    name: "api_idempotency_keys",
    batch: async (sql, l) => ({
      "api_idempotency_keys deleted": (
        await sql`
        delete from api_idempotency_keys where (key_hash, idempotency_key) in (
          select key_hash, idempotency_key from api_idempotency_keys where created_at < now() - interval '24 hours'
          limit ${l.n} for update skip locked)`
      ).count,
    }),
  },
  {
    // The same rows acquireSlot drops for its own endpoint: neither in flight nor inside the rate window.
    name: "outbound_slots",
    batch: async (sql, l) => ({
      "outbound_slots deleted": (
        await sql`
        delete from outbound_slots where id in (
          select id from outbound_slots where started_at < clock_timestamp() - ${l.slotWindow}::interval
            and (released_at is not null or expires_at < clock_timestamp())
          limit ${l.n} for update skip locked)`
      ).count,
    }),
  },
  {
    // Jobs that used up their attempts stay in graphile-worker's table until removed; the outcome they gave up
    // on is recorded on our own rows (event, email, SMS), so the old ones only take space.
    name: "graphile_worker.jobs",
    batch: async (sql, l) => ({
      "graphile_worker.jobs deleted": (
        await sql`
        delete from graphile_worker._private_jobs where id in (
          select id from graphile_worker._private_jobs
          where attempts >= max_attempts and locked_at is null and updated_at < ${l.cutoff}::timestamptz
          limit ${l.n} for update skip locked)`
      ).count,
    }),
  },
];

export interface RetentionOptions {
  /** Every task identifier this deployment runs: graphile-worker's cleanup must keep them (workers cache their ids). */
  taskIdentifiers: string[];
  signal?: AbortSignal;
}

/**
 * Empties or removes what is older than RETENTION_DAYS (or spent), batch after batch until a batch comes back
 * short; then lets graphile-worker's `cleanup` drop job queues and task identifiers no job refers to.
 * Returns the rows changed by "table action", also counted in switchboard_retention_rows_total.
 */
export async function runRetention(deps: RetentionDeps, opts: RetentionOptions): Promise<Changed> {
  const now = deps.clock.now().getTime();
  const limits: Limits = {
    cutoff: new Date(now - deps.config.RETENTION_DAYS * DAY_MS).toISOString(),
    rateCutoff: new Date(now - RATE_WINDOW_SPENT_MS).toISOString(),
    slotWindow: `${deps.config.OUTBOUND_WINDOW_MS} milliseconds`,
    n: deps.config.RETENTION_BATCH_SIZE,
  };
  const total: Changed = {};
  const add = (changed: Changed) => {
    for (const [key, count] of Object.entries(changed)) {
      total[key] = (total[key] ?? 0) + count;
      const [table, action] = key.split(" ") as [string, string];
      if (count > 0) deps.metrics.retentionRows.inc({ table, action }, count);
    }
  };
  for (const step of STEPS) {
    for (;;) {
      if (opts.signal?.aborted) {
        deps.log.info("retention stopped early (shutdown); the next run continues", { done: total });
        return total;
      }
      const changed = await step.batch(deps.sql, limits);
      add(changed);
      if (Object.values(changed).reduce((a, b) => a + b, 0) < limits.n) break;
    }
  }
  add(await collectGraphileGarbage(deps, opts.taskIdentifiers));
  deps.log.info("retention done", { retentionDays: deps.config.RETENTION_DAYS, changed: total });
  return total;
}

/** graphile-worker's own cleanup utility; it reports nothing, so the rows removed are counted around it. */
async function collectGraphileGarbage(deps: RetentionDeps, keep: string[]): Promise<Changed> {
  const count = async () =>
    (
      await deps.sql<{ queues: number; tasks: number }[]>`
    select (select count(*) from graphile_worker._private_job_queues)::int as queues,
           (select count(*) from graphile_worker._private_tasks)::int as tasks`
    )[0]!;
  const before = await count();
  const utils = await makeWorkerUtils({ connectionString: deps.databaseUrl, logger: quietLogger });
  try {
    await utils.cleanup({ tasks: ["GC_JOB_QUEUES", "GC_TASK_IDENTIFIERS"], taskIdentifiersToKeep: keep });
  } finally {
    await utils.release();
  }
  const after = await count();
  // Queues and tasks added meanwhile make this an undercount, never an overcount.
  return {
    "graphile_worker.job_queues deleted": Math.max(0, before.queues - after.queues),
    "graphile_worker.tasks deleted": Math.max(0, before.tasks - after.tasks),
  };
}

/** The daily cron task (src/jobs/index.ts). */
export function retentionTask(deps: RetentionDeps, taskIdentifiers: () => string[]): Task {
  return async (_payload, helpers) => {
    await runRetention(deps, { taskIdentifiers: taskIdentifiers(), signal: helpers.abortSignal });
  };
}
