import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Webhook } from "standardwebhooks";
import type { Harness } from "../support/harness";
import { startOutboundWorld, startReceiver, waitFor } from "../support/receiver";

let h: Harness;
let receiver: ReturnType<typeof startReceiver>;
let world: Awaited<ReturnType<typeof startOutboundWorld>>;

beforeAll(async () => {
  world = await startOutboundWorld({ OUTBOUND_RETRY_DELAYS_MS: "100,100,100", OUTBOUND_TIMEOUT_MS: "2000" });
  ({ h, receiver } = world);
});
afterAll(() => world.close());

const json = async (res: Response) => ({ status: res.status, body: await res.json() as any });
const createConversation = (callback_url: string) =>
  h.api(
    "POST", "/v1/conversations", { channel: "API", usecase: "booking", config: { workflow_id: "wf-1", callback_url } },
  );

describe("conversations API", () => {
  test("creation returns the whsec_ secret once; reads never show it", async () => {
    const created = await json(await createConversation(`${receiver.url}/hooks/a`));
    expect(created.status).toBe(201);
    expect(created.body.webhook_secret).toMatch(/^whsec_[A-Za-z0-9+/=]{32}$/);
    expect(created.body.config).toEqual({ workflow_id: "wf-1", callback_url: `${receiver.url}/hooks/a` });
    const read = await json(await h.api("GET", `/v1/conversations/${created.body.id}`));
    expect(read.status).toBe(200);
    expect(JSON.stringify(read.body)).not.toContain("whsec_");
    expect(read.body.endpoint_id).toBe(created.body.endpoint_id);
  });

  test("unknown conversation is 404, malformed body is 400", async () => {
    expect((await h.api("GET", "/v1/conversations/00000000-0000-4000-8000-000000000000")).status).toBe(404);
    expect((await h.api("POST", "/v1/conversations", { channel: "FAX", usecase: "x", config: {} })).status).toBe(400);
    const noAuth = await h.request("/v1/deliveries");
    expect(noAuth.status).toBe(401);
  });
});

describe("message delivery", () => {
  test("each message is POSTed with the SPEC payload, verifiable with standardwebhooks, in order", async () => {
    const { body: conv } = await json(await createConversation(`${receiver.url}/hooks/order`));
    const sent: any[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await json(await h.api("POST", `/v1/conversations/${conv.id}/messages`, {
        content: `message ${i}`, content_type: i === 0 ? "DOCUMENT" : "TEXT", type: "USER_INPUT",
        ...(i === 0 ? { filename: "intake.pdf", metadata: { source: "portal" } } : {}),
      }));
      expect(res.status).toBe(201);
      sent.push(res.body);
    }
    const mine = () => receiver.received.filter((r) => r.path === "/hooks/order");
    await waitFor(() => mine().length === 5, "five deliveries");
    const wh = new Webhook(conv.webhook_secret);
    const bodies = mine().map((r) => wh.verify(r.body, r.headers) as any);
    expect(bodies.map((b) => b.data.content))
      .toEqual(["message 0", "message 1", "message 2", "message 3", "message 4"]);
    const first = bodies[0];
    expect(Object.keys(first).sort()).toEqual(["conversation_id", "data", "timestamp"]);
    expect(first.conversation_id).toBe(conv.id);
    expect(first.data).toEqual({
      id: sent[0].id, content: "message 0", content_type: "DOCUMENT", filename: "intake.pdf", type: "USER_INPUT",
      channel: "API", status: "received", metadata: { source: "portal" }, created_by: "api", updated_by: "api",
      created_at: sent[0].created_at, updated_at: sent[0].updated_at,
    });
    expect("filename" in bodies[1].data).toBe(false);
    expect(new Date(first.timestamp).toISOString()).toBe(first.timestamp);
    expect(mine()[0]!.headers["content-type"]).toBe("application/json");
    // A wrong secret does not verify: the signature really is over this body.
    expect(() => new Webhook("whsec_" + Buffer.from("x".repeat(24)).toString("base64")).verify(
      mine()[0]!.body, mine()[0]!.headers,
    )).toThrow();

    const listed = await json(await h.api("GET", `/v1/conversations/${conv.id}/messages`));
    expect(listed.body.data.map((m: any) => m.content)).toEqual(bodies.map((b) => b.data.content));
    // The receiver has the requests before the sender has recorded their answers.
    const recorded = async () => (await json(await h.api("GET", `/v1/deliveries?conversation_id=${conv.id}`))).body.data
      .every((d: any) => d.status !== "pending");
    await waitFor(recorded, "every attempt recorded");
    const deliveries = await json(await h.api("GET", `/v1/deliveries?conversation_id=${conv.id}`));
    expect(deliveries.body.data).toHaveLength(5);
    expect(deliveries.body.data.every((d: any) => d.status === "succeeded" && d.attempts === 1)).toBe(true);
    const one = await json(await h.api("GET", `/v1/deliveries/${deliveries.body.data[0].id}`));
    expect(one.body.attempts_log).toHaveLength(1);
    expect(one.body.attempts_log[0])
      .toMatchObject({ attempt: 1, status_code: 200, error: null, response_body: "ok", address: "127.0.0.1" });
  });

  test("after a rotation both secrets verify for the overlap (two v1 signatures)", async () => {
    const { body: conv } = await json(await createConversation(`${receiver.url}/hooks/rotate`));
    const rotated = await json(await h.api("POST", `/v1/conversations/${conv.id}/rotate-secret`));
    expect(rotated.status).toBe(200);
    expect(rotated.body.webhook_secret).not.toBe(conv.webhook_secret);
    const overlap = new Date(rotated.body.previous_secret_expires_at).getTime() - Date.now();
    expect(overlap).toBeGreaterThan(23 * 3_600_000);
    await h.api(
      "POST", `/v1/conversations/${conv.id}/messages`, { content: "after rotation", content_type: "TEXT", type: "BOT" },
    );
    const got = await waitFor(() => receiver.received.find((r) => r.path === "/hooks/rotate"), "rotated delivery");
    expect(got.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect((new Webhook(rotated.body.webhook_secret).verify(got.body, got.headers) as any).data.content)
      .toBe("after rotation");
    expect((new Webhook(conv.webhook_secret).verify(got.body, got.headers) as any).data.content).toBe("after rotation");
  });

  test("a status change is delivered as its own signed webhook", async () => {
    const { body: conv } = await json(await createConversation(`${receiver.url}/hooks/status`));
    const { body: msg } = await json(await h.api(
      "POST", `/v1/conversations/${conv.id}/messages`, { content: "hi", content_type: "TEXT", type: "BOT" },
    ));
    const { changeMessageStatus } = await import("../../src/effects/messages");
    await h.deps.db.transaction((tx) => changeMessageStatus(tx, msg.id, "delivered", "twilio"));
    await waitFor(() => receiver.received.filter((r) => r.path === "/hooks/status").length === 2, "two deliveries");
    const [a, b] = receiver.received.filter((r) => r.path === "/hooks/status")
      .map((r) => new Webhook(conv.webhook_secret).verify(r.body, r.headers) as any);
    expect([a.data.status, b.data.status]).toEqual(["received", "delivered"]);
    expect(b.data.updated_by).toBe("twilio");
  });
});
