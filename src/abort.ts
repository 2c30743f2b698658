/**
 * graphile-worker aborts `helpers.abortSignal` when a job must stop (a graceful shutdown that ran out of patience):
 * an outside call still waiting then ends the job at once instead of holding the process for its own timeout.
 * `started` says whether the call had begun, i.e. whether the other side may have acted on it.
 */
export class JobAborted extends Error {
  readonly code = "JOB_ABORTED";
  constructor(readonly started: boolean, reason?: unknown) {
    super(`aborted by the worker (${started ? "during" : "before"} the call): ${describe(reason)}`);
    this.name = "JobAborted";
  }
}

/**
 * Runs `call` unless `signal` has aborted, and gives up waiting for it when `signal` aborts (JobAborted). For an
 * SDK call that takes no signal: it may still run to its end in the background, and its result is then dropped.
 */
export function unlessAborted<T>(signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> {
  if (signal?.aborted) return Promise.reject(new JobAborted(false, signal.reason));
  if (!signal) return call();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new JobAborted(true, signal.reason));
    signal.addEventListener("abort", onAbort, { once: true });
    Promise.resolve().then(call).then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function describe(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason ?? "no reason given");
}
