import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Runner } from "graphile-worker";
import { buildDeps, closeDeps, type Deps } from "../../src/deps";
import { queueClinicEvent } from "../../src/effects/messages";
import { createLogger } from "../../src/log";
import { createHarness, type Harness } from "../support/harness";
import { startReceiver, startWorker, waitFor } from "../support/receiver";

const MAX_IN_FLIGHT = 3;
const MAX_PER_WINDOW = 8;
const WINDOW_MS = 1000;
const EVENTS = 30;

let h: Harness;
let second: Deps;
const secondLogs: string[] = [];
let workers: Runner[] = [];
let receiver: ReturnType<typeof startReceiver>;

beforeAll(async () => {
  h = await createHarness({
    OUTBOUND_ALLOW_PRIVATE: "true", OUTBOUND_MAX_IN_FLIGHT: String(MAX_IN_FLIGHT),
    OUTBOUND_MAX_PER_WINDOW: String(MAX_PER_WINDOW), OUTBOUND_WINDOW_MS: String(WINDOW_MS),
    OUTBOUND_RETRY_DELAYS_MS: "100,100,100",
  });
  // A second worker process in all but name: its own Deps, pool and graphile-worker runner.
  second = buildDeps(h.config, h.deps.databaseUrl, { log: createLogger("debug", {}, (l) => secondLogs.push(l)) });
  receiver = startReceiver([{ status: 200, delayMs: 80 }]);
  workers = [await startWorker(h.deps, 10), await startWorker(second, 10)];
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await receiver.close();
  await closeDeps(second);
  await h.close();
});

test("in-flight and per-window limits hold at the receiver with two workers; "
  + "excess waits without burning attempts", async () => {
  const clinic = await (await h.api("POST", "/v1/clinics", {
    name: "Busy Clinic", phone: "+15550002222", timezone: "UTC", callback_url: `${receiver.url}/clinic`,
  })).json() as any;
  await h.deps.db.transaction(async (tx) => {
    for (let i = 0; i < EVENTS; i++) {
      await queueClinicEvent(
        tx, { clinicId: clinic.id, type: "appointment.cancel_requested", dedupeKey: `burst-${i}`, data: { n: i } },
      );
    }
  });

  // Another endpoint is not held up by the busy one.
  const conv = await (await h.api(
    "POST", "/v1/conversations", { channel: "API", usecase: "t", config: { callback_url: `${receiver.url}/other` } },
  )).json() as any;
  await h.api("POST", `/v1/conversations/${conv.id}/messages`, { content: "quick", content_type: "TEXT", type: "BOT" });
  await waitFor(() => receiver.at("/other").length === 1, "the other endpoint's delivery");
  expect(receiver.at("/clinic").length).toBeLessThan(EVENTS);

  await waitFor(() => receiver.at("/clinic").length >= EVENTS, "every clinic event", 30_000);
  await Bun.sleep(200);
  const hits = receiver.at("/clinic");
  expect(hits).toHaveLength(EVENTS);
  expect(new Set(hits.map((r) => JSON.parse(r.body).data.n)).size).toBe(EVENTS);

  // Never more than the in-flight limit at once (the receiver counts concurrent requests).
  expect(receiver.maxInFlightAt("/clinic")).toBeLessThanOrEqual(MAX_IN_FLIGHT);
  expect(receiver.maxInFlightAt("/clinic")).toBeGreaterThan(1);
  // Never more than the window's maximum started in any window. The sender's clock for "started" is the slot
  // time, a few ms before arrival, so windows are measured 50 ms shorter at the receiver.
  const times = hits.map((r) => r.at).sort((a, b) => a - b);
  for (let i = 0; i < times.length; i++) {
    const inWindow = times.filter((t) => t >= times[i]! && t < times[i]! + WINDOW_MS - 50).length;
    expect(inWindow).toBeLessThanOrEqual(MAX_PER_WINDOW);
  }
  // Waiting never counted as an attempt, and both workers did sends.
  const rows = await h.deps.sql`select attempts, status from deliveries where clinic_event_id is not null`;
  expect(rows.every((r) => r.attempts === 1 && r.status === "succeeded")).toBe(true);
  const delivered = (logs: string[]) => logs.filter((l) => l.includes("webhook delivered")).length;
  expect(delivered(h.logs)).toBeGreaterThan(0);
  expect(delivered(secondLogs)).toBeGreaterThan(0);
});
