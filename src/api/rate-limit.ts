import { sql } from "drizzle-orm";
import type { Db } from "../db";

/** One fixed window per key and minute (SPEC 7: API_RATE_LIMIT requests a minute). */
const WINDOW_MS = 60_000;

export interface RateCount {
  limit: number;
  remaining: number;
  /** Seconds until this window ends and the key's budget is full again. */
  resetSeconds: number;
  exceeded: boolean;
}

/**
 * Counts one request of a key in its current window, in Postgres, so that every web process shares one budget.
 * Each count also removes a few rows of windows that have ended, so the table stays about a minute of keys deep
 * without a sweeper (rows another count is removing are skipped, never waited for).
 */
export async function countRequest(db: Db, keyHash: string, limit: number, now: Date): Promise<RateCount> {
  const ms = now.getTime();
  const windowStart = new Date(ms - (ms % WINDOW_MS)).toISOString();
  const resetSeconds = Math.ceil((ms - (ms % WINDOW_MS) + WINDOW_MS - ms) / 1000);
  const [row] = await db.execute<{ count: number }>(sql`
    with spent as (
      delete from api_rate_limits where ctid in (
        select ctid from api_rate_limits where window_start < ${windowStart} limit 10 for update skip locked)
    )
    insert into api_rate_limits (key_hash, window_start, count) values (${keyHash}, ${windowStart}, 1)
    on conflict (key_hash, window_start) do update set count = api_rate_limits.count + 1
    returning count`);
  const used = Number(row?.count ?? 1);
  return { limit, remaining: Math.max(0, limit - used), resetSeconds, exceeded: used > limit };
}
