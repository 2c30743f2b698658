import { afterAll, beforeAll, expect, test } from "bun:test";
import { Webhook } from "standardwebhooks";
import { changeMessageStatus } from "../../src/effects/messages";
import { createHarness, type Harness } from "../support/harness";
import { startReceiver } from "../support/receiver";

let h: Harness;
let receiver: ReturnType<typeof startReceiver>;
beforeAll(async () => {
  receiver = startReceiver([{ status: 200 }]);
  h = await createHarness({ OUTBOUND_ALLOW_PRIVATE: "true" });
});
afterAll(async () => {
  await h.close();
  await receiver.close();
});

test("a status change made before the worker runs still yields a created webhook with the "
  + "old status, then the new one", async () => {
  const conv = await (await h.api(
    "POST", "/v1/conversations", { channel: "API", usecase: "t", config: { callback_url: `${receiver.url}/late` } },
  )).json() as any;
  const msg = await (
    await h.api("POST", `/v1/conversations/${conv.id}/messages`, { content: "hi", content_type: "TEXT", type: "BOT" })
  ).json() as any;
  await h.deps.db.transaction((tx) => changeMessageStatus(tx, msg.id, "delivered", "twilio"));
  // Only now does any worker run: both deliveries are built after the change.
  await h.drain();
  const got = receiver.received.filter((r) => r.path === "/late")
    .map((r) => new Webhook(conv.webhook_secret).verify(r.body, r.headers) as any);
  expect(got.map((g) => [g.data.status, g.data.updated_by]))
    .toEqual([["received", msg.updated_by], ["delivered", "twilio"]]);
  expect(got.map((g) => g.data.id)).toEqual([msg.id, msg.id]);
});

test("a second job for a delivery whose retry is not yet due does not send early", async () => {
  receiver.script([{ status: 500 }]);
  const conv = await (await h.api(
    "POST", "/v1/conversations", { channel: "API", usecase: "t", config: { callback_url: `${receiver.url}/early` } },
  )).json() as any;
  await h.api("POST", `/v1/conversations/${conv.id}/messages`, { content: "once", content_type: "TEXT", type: "BOT" });
  await h.drain();
  const early = () => receiver.received.filter((r) => r.path === "/early").length;
  expect(early()).toBe(1);
  const [delivery] =
    await h.deps.sql`select id, attempts, next_attempt_at from deliveries where conversation_id = ${conv.id}`;
  expect(delivery!.attempts).toBe(1);
  expect(new Date(delivery!.next_attempt_at).getTime()).toBeGreaterThan(Date.now() + 2_000);
  // What the sweep or a duplicate key can do: a second job for the same delivery, due now.
  await h.deps.sql`select graphile_worker.add_job('send-delivery', json_build_object('deliveryId',
    ${delivery!.id}::text))`;
  await h.drain();
  expect(early()).toBe(1);
  const [after] = await h.deps.sql`select attempts, status from deliveries where id = ${delivery!.id}`;
  expect(after).toEqual({ attempts: 1, status: "pending" });
});
