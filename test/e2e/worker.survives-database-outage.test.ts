import { afterAll, beforeAll, expect, test } from "bun:test";
import { createTestDatabase } from "../support/db";
import { API_KEY } from "../support/harness";
import { freePort, type Started, startSwitchboard } from "../support/process";
import { startReceiver } from "../support/receiver";
import { startTcpProxy } from "../support/tcp-proxy";
import { waitFor } from "../support/wait";

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
let receiver: ReturnType<typeof startReceiver>;
let app: Started;

beforeAll(async () => {
  database = await createTestDatabase();
  const url = new URL(database.url);
  proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
  url.hostname = "127.0.0.1";
  url.port = String(proxy.port);
  receiver = startReceiver([{ status: 200, delayMs: 1_500 }]);
  app = startSwitchboard({ DATABASE_URL: url.toString(), API_KEY, OUTBOUND_ALLOW_PRIVATE: "true",
    // An attempt whose outcome was lost holds its slot for timeout + 10 s: keep that short here.
    OUTBOUND_TIMEOUT_MS: "3000", PORT: String(await freePort()) });
  await waitFor(
    async () => (await fetch(`http://127.0.0.1:${app.port}/readyz`)).status === 200, "switchboard ready", 60_000,
  );
});
afterAll(async () => {
  app.proc.kill("SIGTERM");
  await app.exited;
  if (process.env.DEBUG_E2E) console.log(app.output());
  await receiver.close();
  await proxy.close();
  await database.drop();
}, 30_000);

const api = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`http://127.0.0.1:${app.port}${path}`, {
    method, headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() as any };
};

test("Postgres going away while a job runs does not kill the process, "
  + "and the worker carries on afterwards", async () => {
  const conversation = await api("POST", "/v1/conversations", {
    channel: "API", usecase: "outage", config: { callback_url: `${receiver.url}/hooks` },
  });
  expect(conversation.status).toBe(201);
  await api("POST", `/v1/conversations/${conversation.body.id}/messages`, {
    content: "first", content_type: "TEXT", type: "BOT",
  });
  // The receiver holds the first delivery 1.5 s; the database disappears while that job runs.
  await waitFor(() => receiver.received.length >= 1, "first delivery in flight");
  await proxy.cut();
  await Bun.sleep(2_500);
  await proxy.restore();

  await waitFor(
    async () => (await api("GET", "/healthz")).status === 200, "web still serving after the outage", 20_000,
  );
  await waitFor(async () => (await api(
    "POST", `/v1/conversations/${conversation.body.id}/messages`,
    { content: "second", content_type: "TEXT", type: "BOT" },
  )).status === 201, "message accepted after the outage", 20_000);
  await waitFor(
    () => receiver.received.some((r) => JSON.parse(r.body).data.content === "second"), "second message delivered",
    45_000,
  );
  const deliveries = await api("GET", `/v1/deliveries?conversation_id=${conversation.body.id}`);
  expect(deliveries.status).toBe(200);
  expect(app.proc.exitCode).toBeNull();
}, 90_000);
