import { afterAll, expect, test } from "bun:test";
import { createOpsApp } from "../../src/http/app";
import { createHarness, type Harness, METRICS_TOKEN } from "../support/harness";

const harnesses: Harness[] = [];
afterAll(() => Promise.all(harnesses.map((h) => h.close())));
const harness = async (env: Record<string, string>) => {
  const h = await createHarness(env);
  harnesses.push(h);
  return h;
};
const scrape = (h: Harness, authorization?: string) =>
  h.request("/metrics", authorization ? { headers: { authorization } } : {});

test("with METRICS_TOKEN, /metrics on the service's port needs it as a bearer token", async () => {
  const h = await harness({});
  const missing = await scrape(h);
  expect(missing.status).toBe(401);
  expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
  expect((await scrape(h, "Bearer wrong-token-0123456789")).status).toBe(401);
  const ok = await scrape(h, `Bearer ${METRICS_TOKEN}`);
  expect(ok.status).toBe(200);
  expect(await ok.text()).toContain("switchboard_webhooks_received_total");
});

test("without METRICS_TOKEN, /metrics is not on the service's port; the internal app serves it openly", async () => {
  const h = await harness({ METRICS_TOKEN: "", METRICS_PORT: "9091" });
  const res = await scrape(h);
  expect(res.status).toBe(404);
  expect(((await res.json()) as any).error.message).toBe("metrics are served on METRICS_PORT");
  const ops = createOpsApp(h.deps);
  const open = await ops.handle(new Request("http://localhost/metrics"));
  expect(open.status).toBe(200);
  expect(await open.text()).toContain("switchboard_events_processed_total");
  expect((await ops.handle(new Request("http://localhost/healthz"))).status).toBe(200);
  expect((await ops.handle(new Request("http://localhost/readyz"))).status).toBe(200);
  expect((await ops.handle(new Request("http://localhost/v1/clinics"))).status).toBe(404);
});
