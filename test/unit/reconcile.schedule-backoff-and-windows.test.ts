import { describe, expect, test } from "bun:test";
import { parseCronItems } from "graphile-worker";
import { loadConfig } from "../../src/config";
import {
  backoffUntil, everyMinutes, firstCheckpoint, listingWindow, nextStatusCheck,
} from "../../src/domain/reconcile";
import { cronItems } from "../../src/jobs";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const t0 = new Date("2026-11-20T10:00:00Z");
const at = (ms: number) => new Date(t0.getTime() + ms);

describe("status look-ups of an SMS", () => {
  test("wait twice as long each time, at most 12 hours apart, with a last look at 72 hours and none after", () => {
    const gaps: number[] = [];
    let now = at(30 * MINUTE);
    for (let checks = 1; checks < 20; checks++) {
      const next = nextStatusCheck(t0, checks, now, 30);
      if (next.kind === "stop") break;
      gaps.push((next.at.getTime() - now.getTime()) / MINUTE);
      now = next.at;
    }
    expect(gaps.slice(0, 6)).toEqual([30, 60, 120, 240, 480, 720]);
    expect(now).toEqual(at(72 * HOUR));
    expect(nextStatusCheck(t0, 9, at(72 * HOUR), 30)).toEqual({ kind: "stop" });
  });
});

describe("backoff after failed runs", () => {
  test("the first failure is retried by the next tick, then 1, then 3 ticks are skipped, at most an hour", () => {
    const ticksSkipped = (failures: number) => {
      const until = backoffUntil(failures, t0, 10).getTime();
      // Ticks every 10 minutes after the failed one; the pass runs at the first tick at or after `until`.
      let tick = 1;
      while (t0.getTime() + tick * 10 * MINUTE < until) tick++;
      return tick - 1;
    };
    expect([1, 2, 3, 4, 5, 10].map(ticksSkipped)).toEqual([0, 1, 3, 6, 6, 6]);
  });
});

describe("listing windows", () => {
  const settings = { RECONCILE_OVERLAP_MINUTES: 10, RECONCILE_GRACE_MINUTES: 2 };

  test("reach the overlap back from the checkpoint and stop the grace before now", () => {
    const window = listingWindow(at(-10 * MINUTE), t0, settings);
    expect(window).toEqual({ kind: "list", from: at(-20 * MINUTE), until: at(-2 * MINUTE) });
  });

  test("never reach before the clinic was added; a first run starts one interval back", () => {
    const added = at(-15 * MINUTE);
    expect(firstCheckpoint(t0, 10, added)).toEqual(at(-10 * MINUTE));
    expect(firstCheckpoint(t0, 30, added)).toEqual(added);
    expect(listingWindow(at(-10 * MINUTE), t0, settings, added)).toMatchObject({ from: added });
  });

  test("are empty when the grace has not passed since the checkpoint", () => {
    expect(listingWindow(t0, at(MINUTE), { ...settings, RECONCILE_OVERLAP_MINUTES: 0 })).toEqual({ kind: "none" });
  });
});

describe("cron", () => {
  test("every interval from 1 to 60 minutes gives valid graphile-worker cron items on the reconcile queue", () => {
    for (const minutes of [1, 7, 10, 15, 45, 60]) {
      const config = loadConfig({ RECONCILE_INTERVAL_MINUTES: String(minutes) });
      const items = cronItems(config).filter((i) => i.task.startsWith("reconcile-"));
      const tasks = items.map((i) => i.task).sort();
      expect(tasks).toEqual(["reconcile-inbound-sms", "reconcile-sms-status", "reconcile-stripe"]);
      expect(() => parseCronItems(items)).not.toThrow();
      expect(items.every((i) => i.match === everyMinutes(minutes) && i.options?.queueName === "reconcile")).toBe(true);
    }
    expect(everyMinutes(10)).toBe("*/10 * * * *");
    expect(everyMinutes(60)).toBe("0 * * * *");
  });
});

test("a stopping worker ends a pass: no call is started once aborted, and one under way is given up", async () => {
  const { call, callBudget } = await import("../../src/reconcile/calls");
  const stop = new AbortController();
  const budget = callBudget(10, stop.signal);
  const hanging = call(budget, () => new Promise<number>(() => {}));
  stop.abort(new Error("SIGTERM"));
  expect((await hanging).kind).toBe("failed");
  expect(await call(budget, async () => 1)).toEqual({ kind: "exhausted" });
});
