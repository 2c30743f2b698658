import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHarness, type Harness } from "../support/harness";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const windows = async () =>
  (await h.deps.sql`select key_hash, window_start, count from api_rate_limits order by window_start`).map((r) => ({
    key: String(r.key_hash), old: new Date(r.window_start).getTime() < Date.now() - 120_000, count: Number(r.count),
  }));

test("counting a request removes counters of minutes that have ended, and keeps the current one", async () => {
  await h.deps.sql`insert into api_rate_limits (key_hash, window_start, count)
    select 'spent-' || i, now() - interval '1 hour' - i * interval '1 minute', 7 from generate_series(1, 4) i`;
  expect((await windows()).filter((w) => w.old)).toHaveLength(4);

  expect((await h.api("GET", "/v1/clinics")).status).toBe(200);
  expect((await h.api("GET", "/v1/clinics")).status).toBe(200);

  const left = await windows();
  expect(left.filter((w) => w.old)).toEqual([]);
  // Both requests are counted (in one window, or two if they straddled a minute).
  expect(left.reduce((n, w) => n + w.count, 0)).toBe(2);
});
