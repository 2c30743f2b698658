import { sql } from "drizzle-orm";
import type { Db } from "../db";

export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
export type Executor = Db | Tx;

export interface JobOptions {
  runAt?: Date;
  /** Replaces a pending job with the same key (graphile-worker job_key semantics). */
  jobKey?: string;
  maxAttempts?: number;
  queueName?: string;
  /** graphile-worker runs numerically smaller priorities first (default 0). */
  priority?: number;
}

/** Adds a graphile-worker job through the caller's transaction, so it commits with the caller's rows. */
export async function enqueue(tx: Executor, task: string, payload: object, opts: JobOptions = {}): Promise<void> {
  await tx.execute(sql`select graphile_worker.add_job(
    ${task}::text,
    ${JSON.stringify(payload)}::json,
    queue_name := ${opts.queueName ?? null}::text,
    run_at := ${opts.runAt?.toISOString() ?? null}::timestamptz,
    max_attempts := ${opts.maxAttempts ?? 25}::int,
    job_key := ${opts.jobKey ?? null}::text,
    priority := ${opts.priority ?? null}::int
  )`);
}

export interface JobSpec extends JobOptions {
  task: string;
  payload: object;
}

/** Adds many jobs in one `graphile_worker.add_jobs` call through the caller's transaction (group commit). */
export async function enqueueMany(tx: Executor, specs: JobSpec[]): Promise<void> {
  if (specs.length === 0) return;
  const rows = specs.map((s) => ({
    identifier: s.task,
    payload: s.payload,
    queue_name: s.queueName ?? null,
    run_at: s.runAt?.toISOString() ?? null,
    max_attempts: s.maxAttempts ?? 25,
    job_key: s.jobKey ?? null,
  }));
  await tx.execute(sql`select 1 from graphile_worker.add_jobs(
    array(select json_populate_recordset(null::graphile_worker.job_spec, ${JSON.stringify(rows)}::json))
  )`);
}
