import { sql } from "drizzle-orm";
import type { Executor } from "./db";

export interface JobOptions {
  runAt?: Date;
  /** Replaces a pending job with the same key (graphile-worker job_key semantics). */
  jobKey?: string;
  maxAttempts?: number;
  queueName?: string;
  /** graphile-worker runs numerically smaller priorities first (default 0). */
  priority?: number;
}

/** Attempts of a job enqueued without maxAttempts. */
export const DEFAULT_MAX_ATTEMPTS = 25;

/** Adds a graphile-worker job through the caller's transaction, so it commits with the caller's rows. */
export async function enqueue(tx: Executor, task: string, payload: object, opts: JobOptions = {}): Promise<void> {
  await tx.execute(sql`select graphile_worker.add_job(
    ${task}::text,
    ${JSON.stringify(payload)}::json,
    queue_name := ${opts.queueName ?? null}::text,
    run_at := ${opts.runAt?.toISOString() ?? null}::timestamptz,
    max_attempts := ${opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS}::int,
    job_key := ${opts.jobKey ?? null}::text,
    priority := ${opts.priority ?? null}::int
  )`);
}
