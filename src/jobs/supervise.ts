import { EventEmitter } from "node:events";
import type { Deps } from "../deps";
import { startHeartbeats } from "./heartbeat";
import { startWorker, type Worker } from "./index";

export interface SupervisedWorker {
  stop(): Promise<void>;
}

/**
 * Keeps a graphile-worker runner alive. Its pool stops by itself when it cannot record a job's outcome (the
 * database restarted mid-job, for instance); the runner is then started again after `restartDelayMs`, and
 * the jobs the dead runner still held are unlocked at once instead of staying locked for hours.
 */
export async function superviseWorker(deps: Deps, restartDelayMs = 5_000): Promise<SupervisedWorker> {
  let current: Worker | undefined;
  let stopping = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let orphaned: string[] = [];
  let starting: Promise<void> | undefined;
  // Every pool and worker id this process has run with that is still running: their locks are ours.
  const live = new Set<string>();
  const heartbeats = startHeartbeats(deps, () => [...live], {
    intervalMs: deps.config.WORKER_HEARTBEAT_INTERVAL_MS, staleAfterMs: deps.config.WORKER_STALE_AFTER_MS,
  });

  const schedule = () => {
    if (!stopping) timer = setTimeout(() => { starting = start(); }, restartDelayMs);
  };

  const start = async () => {
    const workerIds = new Set<string>();
    const events = new EventEmitter();
    // Jobs are locked by the pool's id (and older versions by each worker's): keep both to unlock after a crash.
    const track = (id: string) => { workerIds.add(id); live.add(id); };
    events.on("pool:create", ({ workerPool }: { workerPool: { id: string } }) => track(workerPool.id));
    events.on("worker:create", ({ worker }: { worker: { workerId: string } }) => track(worker.workerId));
    try {
      if (orphaned.length > 0) {
        await deps.sql`select graphile_worker.force_unlock_workers(${orphaned}::text[])`;
        deps.log.info("unlocked jobs of the stopped worker", { workers: orphaned });
        orphaned = [];
      }
      const worker = await startWorker(deps, events);
      if (stopping) {
        // stop() came while this runner was starting: it must not run on after the process drained.
        await worker.stop();
        return;
      }
      current = worker;
      void worker.done.then(() => undefined, (error: unknown) => error).then((error) => {
        if (stopping || current !== worker) return;
        current = undefined;
        orphaned = [...workerIds];
        for (const id of workerIds) live.delete(id);
        deps.log.error("worker stopped unexpectedly; restarting", { error, restartInMs: restartDelayMs });
        void worker.stop().catch(() => undefined);
        schedule();
      });
    } catch (error) {
      deps.log.error("worker could not start; retrying", { error, restartInMs: restartDelayMs });
      schedule();
    }
  };

  starting = start();
  await starting;
  return {
    async stop() {
      stopping = true;
      clearTimeout(timer);
      await starting;
      await current?.stop();
      await heartbeats.stop();
    },
  };
}
