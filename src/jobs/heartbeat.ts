import { hostname } from "node:os";
import type { Sql } from "../db";
import type { Logger } from "../log";

export interface HeartbeatOptions { intervalMs: number; staleAfterMs: number }

/**
 * graphile-worker keeps the jobs and named queues of a process that died without stopping (kill -9, OOM, a lost
 * host) locked for 4 hours. Each live process refreshes a heartbeat row for its worker ids; any process frees the
 * locks of ids whose heartbeat is older than `staleAfterMs`, at start and on every beat. A lock younger than that
 * is never touched, so a pool that locked a job just before its first heartbeat keeps it.
 */
export function startHeartbeats(deps: { sql: Sql; log: Logger }, ids: () => string[], opts: HeartbeatOptions) {
  const me = `${hostname()}:${process.pid}`;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();

  const beat = async () => {
    try {
      const live = ids();
      if (live.length > 0) {
        await deps.sql`insert into worker_heartbeats (worker_id, process)
          select id, ${me} from unnest(${live}::text[]) as id
          on conflict (worker_id) do update set last_seen_at = now()`;
      }
      await recoverStaleWorkers(deps, opts.staleAfterMs);
    } catch (error) {
      deps.log.warn("worker heartbeat failed", { error });
    }
  };
  const loop = () => {
    if (stopped) return;
    timer = setTimeout(() => { running = beat().then(loop); }, opts.intervalMs);
  };
  running = beat().then(loop);
  return {
    /** Stops beating and removes this process's rows: its jobs are unlocked by graphile-worker's own stop. */
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      const live = ids();
      if (live.length > 0) {
        await deps.sql`delete from worker_heartbeats where worker_id = any(${live}::text[])`.catch(() => undefined);
      }
    },
  };
}

/** Unlocks the jobs and queues of workers without a fresh heartbeat; returns their ids. */
export async function recoverStaleWorkers(deps: { sql: Sql; log: Logger }, staleAfterMs: number): Promise<string[]> {
  const stale = `${staleAfterMs} milliseconds`;
  const rows = await deps.sql<{ id: string }[]>`
    with locked as (
      select locked_by as id from graphile_worker._private_jobs
        where locked_by is not null and locked_at < now() - ${stale}::interval
      union
      select locked_by from graphile_worker._private_job_queues
        where locked_by is not null and locked_at < now() - ${stale}::interval
    )
    select id from locked where id not in (
      select worker_id from worker_heartbeats where last_seen_at > now() - ${stale}::interval)`;
  const ids = rows.map((r) => r.id);
  if (ids.length > 0) {
    await deps.sql`select graphile_worker.force_unlock_workers(${ids}::text[])`;
    deps.log.warn("unlocked the jobs of workers that stopped without a goodbye", { workers: ids });
  }
  await deps.sql`delete from worker_heartbeats where last_seen_at < now() - ${stale}::interval * 10`;
  return ids;
}
