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

test("without DATABASE_URL it runs an embedded Postgres, drains on SIGTERM, and a second start reuses the data", async () => {
  const env = { DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()), API_KEY, STRIPE_WEBHOOK_SECRET: STRIPE_SECRET };
  const first = startSwitchboard({ ...env, PORT: String(await freePort()) });
  await waitFor(ready(first.port), "first start", 90_000);
  const created = await fetch(`http://127.0.0.1:${first.port}/v1/clinics`, {
    method: "POST", headers: auth, body: JSON.stringify({ name: "Kept Clinic", phone: "+15550104444", timezone: "Europe/Paris" }),
  });
  expect(created.status).toBe(201);
  const event = stripeEvent("customer.created", { id: "cus_e2e" });
  const res = await fetch(`http://127.0.0.1:${first.port}/api/v1/webhooks/stripe/payment-events`, await signedStripeRequest(event));
  expect(res.status).toBe(200);
  // The worker in the same process picks the job up.
  await waitFor(async () => {
    const list = await (await fetch(`http://127.0.0.1:${first.port}/v1/webhook-events`, { headers: auth })).json() as any;
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

test("ROLE=web and ROLE=worker split the work over one database", async () => {
  const database = await createTestDatabase();
  const env = { DATABASE_URL: database.url, API_KEY, STRIPE_WEBHOOK_SECRET: STRIPE_SECRET };
  const web = startSwitchboard({ ...env, ROLE: "web", PORT: String(await freePort()) });
  const workerPort = await freePort();
  const worker = startSwitchboard({ ...env, ROLE: "worker", PORT: String(workerPort) });
  try {
    await waitFor(ready(web.port), "web", 60_000);
    await waitFor(async () => worker.output().includes("switchboard started"), "worker", 60_000);
    // The worker process serves no HTTP.
    expect(await fetch(`http://127.0.0.1:${workerPort}/healthz`).then(() => "open", () => "closed")).toBe("closed");
    const event = stripeEvent("customer.created", { id: "cus_roles" });
    expect((await fetch(`http://127.0.0.1:${web.port}/api/v1/webhooks/stripe/payment-events`, await signedStripeRequest(event))).status).toBe(200);
    await waitFor(async () => {
      const list = await (await fetch(`http://127.0.0.1:${web.port}/v1/webhook-events`, { headers: auth })).json() as any;
      return list.data[0]?.status === "ignored";
    }, "processed by the worker process", 30_000);
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
