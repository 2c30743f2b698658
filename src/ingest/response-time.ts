import type { Sql } from "../db";
import type { Logger } from "../log";
import { createGroupCommit } from "./group-commit";

/**
 * `response_ms` of a stored webhook as the provider saw it: from receipt until the answer left, after the commit.
 * The row is written (with the time so far) before the commit it waits for, so the real figure is written after,
 * for many events in one statement; losing one (a stop, an outage) leaves the earlier, lower figure.
 */
export interface ResponseTimes {
  record(eventId: number, ms: number): void;
  /** Writes what waits; called by closeDeps before the pool closes. */
  stop(): Promise<void>;
}

export function createResponseTimes(deps: { sql: Sql; log: Logger }): ResponseTimes {
  const batcher = createGroupCommit<{ id: number; ms: number }, void>(
    async (items) => {
      await deps.sql`
      update webhook_events e set response_ms = v.ms
      from unnest(${items.map((i) => i.id)}::bigint[], ${items.map((i) => i.ms)}::int[]) as v(id, ms)
      where e.id = v.id`;
      return items.map(() => ({ ok: true as const, value: undefined }));
    },
    { maxBatch: 1000, maxWaitMs: 20, maxInFlight: 1, splitOnError: () => false, writeTimeoutMs: 10_000 },
  );
  return {
    record(id, ms) {
      batcher
        .submit({ id, ms: Math.round(ms) })
        .catch((error) => deps.log.debug("response time not recorded", { eventId: id, error }));
    },
    stop: () => batcher.stop(),
  };
}
