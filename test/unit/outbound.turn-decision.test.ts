import { expect, test } from "bun:test";
import { decideTurn, type TurnFacts } from "../../src/domain/webhook-delivery";

const now = new Date("2026-11-23T10:00:00Z");
const facts = (over: Partial<TurnFacts> = {}): TurnFacts => ({
  status: "pending", attemptsRead: 0, attempts: 0, nextAttemptAt: now, inFlight: false, now, attemptTimeoutMs: 30_000,
  ...over,
});

test("only a pending delivery is attempted", () => {
  expect(decideTurn(facts({ status: "succeeded" }))).toEqual({ kind: "skip" });
  expect(decideTurn(facts())).toEqual({ kind: "go" });
});

test("a delivery not yet due, or attempted by another job meanwhile, waits for its own schedule", () => {
  expect(decideTurn(facts({ nextAttemptAt: new Date(now.getTime() + 4000) })))
    .toEqual({ kind: "wait", ms: 4000, hold: false, reason: "not_due" });
  expect(decideTurn(facts({ attemptsRead: 1, attempts: 2 })))
    .toMatchObject({ kind: "wait", hold: false, reason: "not_due" });
  // A few ms early is due: the job's run_at and the row's schedule are written apart.
  expect(decideTurn(facts({ nextAttemptAt: new Date(now.getTime() + 20) }))).toEqual({ kind: "go" });
});

test("an attempt in flight elsewhere is left alone for about the attempt timeout", () => {
  expect(decideTurn(facts({ inFlight: true }), 0))
    .toEqual({ kind: "wait", ms: 30_000, hold: false, reason: "in_flight" });
});

test("the next delivery of a conversation waits, holding its schedule, until the one before is due", () => {
  expect(decideTurn(facts({ earlierDueAt: new Date(now.getTime() + 2000) }), 0))
    .toEqual({ kind: "wait", ms: 2000, hold: true, reason: "order" });
  expect(decideTurn(facts({ earlierDueAt: new Date(now.getTime() - 5000) }), 0))
    .toEqual({ kind: "wait", ms: 100, hold: true, reason: "order" });
});
