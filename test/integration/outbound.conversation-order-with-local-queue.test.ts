import { afterAll, beforeAll, expect, test } from "bun:test";
import { Webhook } from "standardwebhooks";
import { startWorker, type Worker } from "../../src/jobs";
import { createHarness, type Harness } from "../support/harness";
import { startReceiver, waitFor } from "../support/receiver";

// The production worker (local queue on, as `npm start` runs it): graphile-worker 0.17's local queue ran jobs of one
// named queue concurrently (graphile/worker#621), so deliveries of one conversation were created out of order.
let h: Harness;
let receiver: ReturnType<typeof startReceiver>;
let worker: Worker;

beforeAll(async () => {
  h = await createHarness({ OUTBOUND_ALLOW_PRIVATE: "true", WORKER_LOCAL_QUEUE_SIZE: "50" });
  receiver = startReceiver([{ status: 200, delayMs: 150 }]);
  worker = await startWorker(h.deps);
});
afterAll(async () => {
  await worker.stop();
  await receiver.close();
  await h.close();
});

test("deliveries of one conversation reach the receiver in message order, with the local queue on", async () => {
  const created = await h.api("POST", "/v1/conversations", {
    channel: "API", usecase: "order", config: { callback_url: `${receiver.url}/hooks/ordered` },
  });
  expect(created.status).toBe(201);
  const conv = await created.json() as { id: string; webhook_secret: string };
  const count = 30;
  for (let i = 0; i < count; i++) {
    const res = await h.api(
      "POST", `/v1/conversations/${conv.id}/messages`, { content: `m${i}`, content_type: "TEXT", type: "BOT" },
    );
    expect(res.status).toBe(201);
  }
  await waitFor(() => receiver.at("/hooks/ordered").length >= count, "every message delivered", 60_000);
  const wh = new Webhook(conv.webhook_secret);
  const contents = receiver.at("/hooks/ordered").map((r) => (wh.verify(r.body, r.headers) as any).data.content);
  expect(contents).toEqual(Array.from({ length: count }, (_, i) => `m${i}`));
}, 90_000);
