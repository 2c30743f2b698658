/**
 * Group commit: work items that arrive together are written by one call of `write` (one transaction), and
 * each caller is answered only once that call has returned, with its own outcome. A commit (its WAL flush and
 * round trips) is the expensive part of an ingest; sharing it is what lets the ingest rate pass the rate of
 * single-row inserts. State lives in the returned object (one per Deps), never in the module.
 */

import type { Settled } from "../settled";

export interface GroupCommitOptions {
  /** At most this many items in one write. */
  maxBatch: number;
  /** How long the first item of a batch may wait for company before it is written anyway (0: the next turn). */
  maxWaitMs: number;
  /** Writes running at once; items arriving meanwhile gather into the next batch. */
  maxInFlight: number;
  /**
   * Whether a batch whose write threw should be written again item by item, so that one bad item does not
   * fail the rest. A database that is away fails every item anyway: no need to try each.
   */
  splitOnError?: (error: unknown) => boolean;
  /**
   * A write that has not answered after this long (a database that hangs without closing the connection) is
   * given up on: its items are rejected, so their callers answer 5xx and the provider retries (idempotent),
   * and its slot is freed for the next batch. Nothing is answered as stored that was not committed.
   */
  writeTimeoutMs?: number;
}

export interface GroupCommitStats {
  batches: number;
  items: number;
  /** Items written again one by one after their batch failed. */
  split: number;
  largest: number;
  /** Writes given up on after writeTimeoutMs. */
  timedOut: number;
}

export interface GroupCommit<I, O> {
  submit(item: I): Promise<O>;
  /** Writes what waits (without waiting for company), lets running writes finish, and refuses new items. */
  stop(): Promise<void>;
  readonly stats: GroupCommitStats;
}

interface Member<I, O> {
  item: I;
  at: number;
  resolve(value: O): void;
  reject(error: unknown): void;
}

export class GroupCommitTimeout extends Error {
  constructor(ms: number) {
    super(`the database did not answer within ${ms} ms`);
    this.name = "GroupCommitTimeout";
  }
}

export class GroupCommitStopped extends Error {
  constructor() {
    super("ingest is shutting down");
    this.name = "GroupCommitStopped";
  }
}

/** `write` returns one Settled per item, in order; a throw means the whole batch failed (nothing committed). */
export function createGroupCommit<I, O>(
  write: (items: I[]) => Promise<Settled<O>[]>,
  opts: GroupCommitOptions,
): GroupCommit<I, O> {
  const waiting: Member<I, O>[] = [];
  const idle: (() => void)[] = [];
  const stats: GroupCommitStats = { batches: 0, items: 0, split: 0, largest: 0, timedOut: 0 };
  let inFlight = 0;
  let stopped = false;
  let nextTurn = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const settle = (member: Member<I, O>, outcome: Settled<O> | undefined) => {
    if (!outcome) member.reject(new Error("group commit: write returned no outcome for an item"));
    else if (outcome.ok) member.resolve(outcome.value);
    else member.reject(outcome.error);
  };

  /** `write`, bounded by writeTimeoutMs when set. */
  function bounded(items: I[]): Promise<Settled<O>[]> {
    const ms = opts.writeTimeoutMs;
    if (!ms) return write(items);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => { stats.timedOut++; reject(new GroupCommitTimeout(ms)); }, ms);
    });
    return Promise.race([write(items), deadline]).finally(() => clearTimeout(timer));
  }

  async function run(batch: Member<I, O>[]): Promise<void> {
    stats.batches++;
    stats.items += batch.length;
    stats.largest = Math.max(stats.largest, batch.length);
    let outcomes: Settled<O>[];
    try {
      outcomes = await bounded(batch.map((m) => m.item));
    } catch (error) {
      if (batch.length > 1 && !(error instanceof GroupCommitTimeout) && (opts.splitOnError?.(error) ?? true)) {
        stats.split += batch.length;
        await Promise.all(batch.map((m) => bounded([m.item]).then(([o]) => settle(m, o), (e) => m.reject(e))));
      } else {
        for (const m of batch) m.reject(error);
      }
      return;
    }
    batch.forEach((m, i) => settle(m, outcomes[i]));
  }

  function pump(): void {
    while (inFlight < opts.maxInFlight && waiting.length > 0) {
      const age = performance.now() - waiting[0]!.at;
      if (!stopped && waiting.length < opts.maxBatch && age < opts.maxWaitMs) {
        timer ??= setTimeout(() => { timer = undefined; pump(); }, opts.maxWaitMs - age);
        return;
      }
      const batch = waiting.splice(0, opts.maxBatch);
      inFlight++;
      void run(batch).finally(() => {
        inFlight--;
        pump();
        if (inFlight === 0 && waiting.length === 0) for (const done of idle.splice(0)) done();
      });
    }
  }

  return {
    stats,
    submit(item) {
      if (stopped) return Promise.reject(new GroupCommitStopped());
      return new Promise<O>((resolve, reject) => {
        waiting.push({ item, at: performance.now(), resolve, reject });
        // Not at once: the requests that arrived in this same event-loop turn join the batch first.
        if (!nextTurn) {
          nextTurn = true;
          setImmediate(() => { nextTurn = false; pump(); });
        }
      });
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      pump();
      if (inFlight > 0 || waiting.length > 0) await new Promise<void>((done) => idle.push(done));
    },
  };
}
