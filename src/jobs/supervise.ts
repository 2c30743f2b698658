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

  // Checks the running worker for a runner that stopped fetching jobs without stopping (set by start()).
  let restartIfStalled: () => Promise<void> = async () => {};
  const watchdog = setInterval(() => {
    if (!stopping && current) void restartIfStalled();
  }, deps.config.WORKER_HEARTBEAT_INTERVAL_MS);
  watchdog.unref?.();

  const orphan = (ids: Set<string>) => {
    orphaned = [...new Set([...orphaned, ...ids])];
    for (const id of ids) live.delete(id);
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
      const restart = async (why: string, error?: unknown) => {
        if (stopping || current !== worker) return;
        current = undefined;
        deps.log.error(`worker ${why}; restarting`, { error, restartInMs: restartDelayMs });
        // Its jobs are unlocked only once its tasks have really ended (a stopped runner's tasks run on, a Twilio
        // call among them): a job must never run again beside itself. Meanwhile its ids keep their heartbeat.
        await worker.stop().catch(() => undefined);
        await worker.settled(deps.config.OUTBOUND_TIMEOUT_MS + deps.config.TWILIO_TIMEOUT_MS);
        orphan(workerIds);
        schedule();
      };
      void worker.done.then(() => undefined, (error: unknown) => error)
        .then((error) => restart("stopped unexpectedly", error));
      restartIfStalled = async () => {
        const stalled = await worker.stalled(deps.config.WORKER_STALL_AFTER_MS).catch(() => undefined);
        if (stalled) await restart(`runner "${stalled}" stalled (jobs wait, none started)`);
      };
    } catch (error) {
      // A runner that did start was stopped by startWorker; whatever it locked is freed before the next start.
      orphan(workerIds);
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
      clearInterval(watchdog);
      await starting;
      await current?.stop();
      await heartbeats.stop();
    },
  };
}
