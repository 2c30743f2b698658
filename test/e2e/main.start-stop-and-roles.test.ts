import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase } from "../support/db";
import { API_KEY, STRIPE_SECRET } from "../support/harness";
import { freePort, type Started, startSwitchboard, waitFor } from "../support/process";
import { signedStripeRequest, stripeEvent } from "../support/stripe";

const dataDir = mkdtempSync(join(tmpdir(), "switchboard-e2e-"));
chmodSync(dataDir, 0o755);
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** SIGTERM, then the exit code; the process's output is printed when it did not stop cleanly. */
async function stopped(started: Started): Promise<number> {
  started.proc.kill("SIGTERM");
  const code = await started.exited;
  if (code !== 0) console.error(started.output());
  return code;
}

const auth = { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" };
const ready = (port: number) => async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;

test("without DATABASE_URL it runs an embedded Postgres, drains on SIGTERM, "
  + "and a second start reuses the data", async () => {
  const env = {
    DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()), API_KEY, STRIPE_WEBHOOK_SECRET: STRIPE_SECRET,
  };
  const first = startSwitchboard({ ...env, PORT: String(await freePort()) });
  await waitFor(ready(first.port), "first start", 90_000);
  const created = await fetch(`http://127.0.0.1:${first.port}/v1/clinics`, {
    method: "POST", headers: auth,
    body: JSON.stringify({ name: "Kept Clinic", phone: "+15550104444", timezone: "Europe/Paris" }),
  });
  expect(created.status).toBe(201);
  const event = stripeEvent("customer.created", { id: "cus_e2e" });
  const res = await fetch(
    `http://127.0.0.1:${first.port}/api/v1/webhooks/stripe/payment-events`, await signedStripeRequest(event),
  );
  expect(res.status).toBe(200);
  // The worker in the same process picks the job up.
  await waitFor(async () => {
    const list = await (await fetch(`http://127.0.0.1:${first.port}/v1/webhook-events`, { headers: auth }))
      .json() as any;
    return list.data[0]?.status === "ignored";
  }, "event processed", 30_000);

  expect(await stopped(first)).toBe(0);
  expect(first.output()).toContain('"msg":"stopped"');

  const second = startSwitchboard({ ...env, PORT: String(await freePort()) });
  await waitFor(ready(second.port), "second start", 90_000);
  const clinics = await (await fetch(`http://127.0.0.1:${second.port}/v1/clinics`, { headers: auth })).json() as any;
  expect(clinics.data.map((c: any) => c.name)).toEqual(["Kept Clinic"]);
  expect(second.output()).toContain('"fresh":false');
  second.proc.kill("SIGTERM");
  expect(await stopped(second)).toBe(0);
}, 180_000);

test("ROLE=web and ROLE=worker split the work over one database; a worker serves health and metrics", async () => {
  const database = await createTestDatabase();
  const env = { DATABASE_URL: database.url, API_KEY, STRIPE_WEBHOOK_SECRET: STRIPE_SECRET };
  const metricsPort = await freePort();
  const webPort = String(await freePort());
  const web = startSwitchboard({ ...env, ROLE: "web", PORT: webPort, METRICS_PORT: String(metricsPort) });
  const workerPort = await freePort();
  const worker = startSwitchboard({ ...env, ROLE: "worker", PORT: String(workerPort) });
  const get = (port: number, path: string) => fetch(`http://127.0.0.1:${port}${path}`);
  try {
    await waitFor(ready(web.port), "web", 60_000);
    await waitFor(ready(workerPort), "worker", 60_000);
    // The worker process serves health and metrics on PORT, and nothing else.
    expect((await get(workerPort, "/healthz")).status).toBe(200);
    expect((await get(workerPort, "/v1/clinics")).status).toBe(404);
    // The web process serves metrics on METRICS_PORT, not on its public port (no METRICS_TOKEN).
    expect((await get(web.port, "/metrics")).status).toBe(404);
    expect((await get(metricsPort, "/metrics")).status).toBe(200);
    expect((await get(metricsPort, "/v1/clinics")).status).toBe(404);
    const event = stripeEvent("customer.created", { id: "cus_roles" });
    expect((await fetch(
      `http://127.0.0.1:${web.port}/api/v1/webhooks/stripe/payment-events`, await signedStripeRequest(event),
    )).status).toBe(200);
    await waitFor(async () => {
      const list = await (await fetch(`http://127.0.0.1:${web.port}/v1/webhook-events`, { headers: auth }))
        .json() as any;
      return list.data[0]?.status === "ignored";
    }, "processed by the worker process", 30_000);
    // The worker's own counters are visible: it processed the event, the web process only received it.
    const workerMetrics = await (await get(workerPort, "/metrics")).text();
    expect(workerMetrics).toContain('switchboard_events_processed_total{provider="stripe",status="ignored"} 1');
    const webMetrics = await (await get(metricsPort, "/metrics")).text();
    expect(webMetrics).toContain('switchboard_webhooks_received_total{provider="stripe",outcome="stored"} 1');
  } finally {
    web.proc.kill("SIGTERM");
    worker.proc.kill("SIGTERM");
    expect(await web.exited).toBe(0);
    expect(await worker.exited).toBe(0);
    await database.drop();
  }
}, 120_000);

test("a bad configuration stops the process with one message naming every bad key", async () => {
  const bad = startSwitchboard({ PORT: "eighty", ROLE: "everything", DATABASE_URL: "mysql://nope" });
  expect(await bad.exited).toBe(1);
  const message = bad.output();
  for (const key of ["PORT", "ROLE", "DATABASE_URL"]) expect(message).toContain(key);
  expect(message.trim().split("\n")).toHaveLength(1);
});
