import type { Logger } from "./log";

/**
 * graphile-worker and pg can reject a promise nobody awaits when the database vanishes mid-operation
 * (recording a job's outcome, re-listening). Such a rejection must not take the web server down with it:
 * it is logged, and the worker supervisor (jobs/supervise.ts) restarts a worker that stopped.
 */
export function logUnhandledRejections(log: Logger): () => void {
  const onRejection = (reason: unknown) => log.error("unhandled promise rejection", { error: reason });
  process.on("unhandledRejection", onRejection);
  return () => process.off("unhandledRejection", onRejection);
}
