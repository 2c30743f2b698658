import { expect, test } from "bun:test";
import { createGroupCommit, GroupCommitStopped } from "../../src/ingest/group-commit";
import type { Settled } from "../../src/settled";

/** A writer that records every batch it is given; items named "bad" fail alone, "throw" fails the whole write. */
function recorder() {
  const batches: string[][] = [];
  const write = async (items: string[]): Promise<Settled<string>[]> => {
    batches.push(items);
    if (items.includes("throw") && items.length > 1) throw new Error("batch refused");
    return items.map(
      (i) => (i === "bad" || i === "throw" ? { ok: false, error: new Error(i) } : { ok: true, value: i.toUpperCase() }),
    );
  };
  return { batches, write };
}

test("items submitted together go in one write, at most maxBatch at a time, "
  + "each answered with its own outcome", async () => {
  const r = recorder();
  const gc = createGroupCommit(r.write, { maxBatch: 3, maxWaitMs: 0, maxInFlight: 1 });
  const settled = await Promise.allSettled(["a", "b", "bad", "c", "d"].map((i) => gc.submit(i)));
  expect(r.batches).toEqual([["a", "b", "bad"], ["c", "d"]]);
  expect(settled.map((s) => (s.status === "fulfilled" ? s.value : "rejected")))
    .toEqual(["A", "B", "rejected", "C", "D"]);
});

test("a write that throws is retried item by item unless splitOnError says the database is away", async () => {
  const r = recorder();
  const gc = createGroupCommit(r.write, { maxBatch: 10, maxWaitMs: 0, maxInFlight: 1 });
  const settled = await Promise.allSettled(["a", "throw", "b"].map((i) => gc.submit(i)));
  expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  expect(r.batches).toEqual([["a", "throw", "b"], ["a"], ["throw"], ["b"]]);
  expect(gc.stats.split).toBe(3);

  const away = recorder();
  const down = createGroupCommit(away.write, { maxBatch: 10, maxWaitMs: 0, maxInFlight: 1, splitOnError: () => false });
  const all = await Promise.allSettled(["a", "throw"].map((i) => down.submit(i)));
  expect(all.map((s) => s.status)).toEqual(["rejected", "rejected"]);
  expect(away.batches).toHaveLength(1);
});

test("stop writes what waits at once (not after maxWaitMs), then refuses new items", async () => {
  const r = recorder();
  const gc = createGroupCommit(r.write, { maxBatch: 100, maxWaitMs: 60_000, maxInFlight: 1 });
  const waiting = ["a", "b"].map((i) => gc.submit(i));
  await new Promise((resolve) => setImmediate(resolve));
  expect(r.batches).toEqual([]); // still waiting for company
  await gc.stop();
  expect(await Promise.all(waiting)).toEqual(["A", "B"]);
  await expect(gc.submit("c")).rejects.toBeInstanceOf(GroupCommitStopped);
});

test("a write the database never answers is given up on after writeTimeoutMs, "
  + "and its slot serves the next batch", async () => {
  let hang = true;
  const batches: string[][] = [];
  const write = async (items: string[]): Promise<Settled<string>[]> => {
    batches.push(items);
    if (hang) return new Promise(() => {});
    return items.map((i) => ({ ok: true, value: i.toUpperCase() }));
  };
  const gc = createGroupCommit(write, { maxBatch: 10, maxWaitMs: 0, maxInFlight: 1, writeTimeoutMs: 50 });
  const stuck = await Promise.allSettled(["a", "b"].map((i) => gc.submit(i)));
  expect(stuck.map((s) => (s.status === "rejected" ? (s.reason as Error).name : "fulfilled")))
    .toEqual(["GroupCommitTimeout", "GroupCommitTimeout"]);
  // Not split item by item: a database that does not answer would not answer those either.
  expect(batches).toEqual([["a", "b"]]);
  expect(gc.stats.timedOut).toBe(1);
  hang = false;
  expect(await gc.submit("c")).toBe("C");
});
