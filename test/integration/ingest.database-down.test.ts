import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHarness, type Harness } from "../support/harness";
import { signedStripeRequest, stripeEvent } from "../support/stripe";
import { startTcpProxy } from "../support/tcp-proxy";

const PATH = "/api/v1/webhooks/stripe/payment-events";
let h: Harness;
let proxy: Awaited<ReturnType<typeof startTcpProxy>>;

beforeAll(async () => {
  const admin = new URL(process.env.SWITCHBOARD_TEST_ADMIN_URL!);
  proxy = await startTcpProxy({ host: admin.hostname, port: Number(admin.port || 5432) });
  h = await createHarness({}, {}, (url) => {
    const via = new URL(url);
    via.hostname = "127.0.0.1";
    via.port = String(proxy.port);
    return via.toString();
  });
});
// Connections whose sockets the proxy cut take postgres.js its full end() timeout (5 s) to give up on.
afterAll(async () => {
  await h.close();
  await proxy.close();
}, 20_000);

test("with the database unreachable every webhook is answered 5xx, and every 2xx is stored exactly once", async () => {
  const acknowledged: string[] = [];
  const refused: string[] = [];
  const post = async (id: string) => {
    const res = await h.request(PATH, await signedStripeRequest(stripeEvent("customer.updated", { id: "cus_1" }, id)));
    (res.status === 200 ? acknowledged : refused).push(id);
    return res;
  };

  await post("evt_before_1");
  await proxy.cut();
  const down = await post("evt_down_1");
  expect(down.status).toBe(500);
  expect(await down.json()).toEqual({ error: "storage_unavailable" });
  // A batch while down, then the database comes back in the middle of a second batch.
  await Promise.all(Array.from({ length: 5 }, (_, i) => post(`evt_down_batch_${i}`)));
  await proxy.restore();
  await Promise.all(Array.from({ length: 5 }, (_, i) => post(`evt_after_${i}`)));
  // Stripe retries what was refused; those now succeed once.
  for (const id of [...refused]) await post(id);

  expect(refused.length).toBeGreaterThanOrEqual(6);
  const stored = await h.deps.sql`select idempotency_key from webhook_events order by idempotency_key`;
  const keys = stored.map((r) => r.idempotency_key as string);
  expect(keys).toEqual([...new Set(acknowledged)].sort());
  // Every stored event is queued exactly once, alone or in a batch job.
  const queued = await h.deps.sql`select coalesce(item.value, j.payload::jsonb) ->> 'eventId' as id
    from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
      and t.identifier = 'process-webhook'
    left join lateral jsonb_array_elements(case when jsonb_typeof(j.payload::jsonb) = 'array' then j.payload::jsonb
      end) item on true`;
  const events = await h.deps.sql`select id::text from webhook_events order by id`;
  expect(queued.map((r) => r.id as string).sort()).toEqual(events.map((r) => r.id as string).sort());
});

test("/readyz says 503 while the database is away and ready once it is back", async () => {
  await proxy.cut();
  const down = await h.request("/readyz");
  expect(down.status).toBe(503);
  await proxy.restore();
  const up = await h.request("/readyz");
  expect(up.status).toBe(200);
  expect(await up.json()).toMatchObject({ status: "ready" });
});
