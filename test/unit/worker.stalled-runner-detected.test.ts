import { expect, test } from "bun:test";
import { isStalled } from "../../src/jobs";

const base = { sinceLastStartMs: 90_000, running: 0, concurrency: 10, oldestDueMs: 90_000 };

test("a runner with free slots that started nothing while a job waited past the limit is stalled", () => {
  expect(isStalled(base, 60_000)).toBe(true);
});

test("a busy runner, a recent start, or no job waiting long enough is not stalled", () => {
  expect(isStalled({ ...base, running: 10 }, 60_000)).toBe(false);
  expect(isStalled({ ...base, sinceLastStartMs: 5_000 }, 60_000)).toBe(false);
  expect(isStalled({ ...base, oldestDueMs: 30_000 }, 60_000)).toBe(false);
  expect(isStalled({ ...base, oldestDueMs: null }, 60_000)).toBe(false);
});
