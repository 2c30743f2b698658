/** An outcome as a value: what a promise, or one item of a group commit, came to. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** A promise's outcome as a value, so that a caller can branch on it without try/catch and `let`. */
export function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
}

/**
 * A graphile-worker batch job's entries, one promise each: rejected with the item's failure, if it has one.
 * graphile-worker reads them with allSettled once the task returns, so a rejection is not left unhandled meanwhile.
 */
export function entryOutcomes<T>(items: readonly T[], failureOf: (item: T) => Error | undefined): Promise<void>[] {
  return items.map((item) => {
    const failure = failureOf(item);
    if (!failure) return Promise.resolve();
    const rejected = Promise.reject(failure);
    rejected.catch(() => {});
    return rejected;
  });
}
