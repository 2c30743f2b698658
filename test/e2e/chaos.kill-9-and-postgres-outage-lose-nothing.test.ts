// Short versions of `npm run chaos` (bench/chaos): real processes under a mixed signed load, one fault each;
// lost and doubled counted from the database and the fakes afterwards.
import { describe, expect, test } from "bun:test";
import { killNine, type Options, postgresOutage, type Row } from "../../bench/chaos/scenarios";
import { createTestDatabase } from "../support/db";

const opts: Options = {
  database: createTestDatabase,
  rate: 10,
  seconds: 12,
  log: process.env.DEBUG_E2E ? console.log : undefined,
};

function expectNothingLostOrDoubled(row: Row) {
  expect(row.acknowledged).toBeGreaterThan(50);
  // Every webhook offered was acknowledged in the end (the load retries as the providers do).
  expect(row.acknowledged).toBe(row.sent);
  expect({ lost: row.lost, doubled: row.doubled }).toEqual({ lost: 0, doubled: 0 });
  expect(row.recoveryMs).not.toBeNull();
}

describe("under load", () => {
  test("kill -9 of the web process: nothing acknowledged is lost, nothing happens twice", async () => {
    const row = await killNine(opts, "web", 1);
    expectNothingLostOrDoubled(row);
    expect(row.details.fivexxOutside).toBe(0);
    // The killed process refused connections until it was back: the load met a closed port and sent again.
    expect(row.details.refusedConnections).toBeGreaterThan(0);
  }, 240_000);

  test("kill -9 of the worker process: its jobs are taken over, nothing lost or doubled", async () => {
    const row = await killNine(opts, "worker", 1);
    expectNothingLostOrDoubled(row);
    expect(row.details.fivexxOutside).toBe(0);
  }, 240_000);

  test("Postgres away for 4 s: 5xx while it is away, /readyz red, recovery without a restart", async () => {
    const row = await postgresOutage({ ...opts, seconds: 14 }, 4);
    expectNothingLostOrDoubled(row);
    expect(row.fivexxDuringFault).toBeGreaterThan(0);
    // Not asserted: a few requests sent seconds after Postgres is back can still wait out INGEST_WRITE_TIMEOUT_MS
    // and get a 5xx (details.fivexxOutside; the providers retry them, nothing is lost). Reported, not yet fixed.
    expect(row.details.readyzChecks).toBeGreaterThan(0);
    expect(row.details.readyzGreen).toBe(0);
    expect(row.details.processesDied).toBe(0);
  }, 240_000);
});
