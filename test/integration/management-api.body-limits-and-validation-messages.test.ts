import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { API_KEY, createHarness, type Harness } from "../support/harness";

let h: Harness;
let conversationId: string;
beforeAll(async () => {
  h = await createHarness({ OUTBOUND_ALLOW_PRIVATE: "true" });
  const res = await h.api("POST", "/v1/conversations", {
    channel: "API",
    usecase: "limits",
    config: { callback_url: "http://127.0.0.1:9/h" },
  });
  conversationId = ((await res.json()) as any).id;
});
afterAll(() => h.close());

const auth = { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" };
const count = async () => Number((await h.deps.sql`select count(*)::int as n from messages`)[0]!.n);

describe("body limits", () => {
  test("a body over 256 KiB is a JSON 413 and stores nothing", async () => {
    const before = await count();
    const metadata = { blob: "x".repeat(5 * 1024 * 1024) };
    const res = await h.request(`/v1/conversations/${conversationId}/messages`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ content: "big", content_type: "TEXT", type: "BOT", metadata }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).error).toMatchObject({ code: "payload_too_large" });
    expect(await count()).toBe(before);
  });

  test("a streamed body without Content-Length is cut off at the limit too", async () => {
    const chunk = new TextEncoder().encode(`{"content":"${"y".repeat(64 * 1024)}`);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await h.request(`/v1/conversations/${conversationId}/messages`, {
      method: "POST",
      headers: auth,
      body,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
  });

  test("metadata over 16 KiB is a 400 naming metadata; within it, the message is stored", async () => {
    const send = (metadata: unknown) =>
      h.api("POST", `/v1/conversations/${conversationId}/messages`, {
        content: "m",
        content_type: "TEXT",
        type: "BOT",
        metadata,
      });
    const big = await send({ note: "z".repeat(17 * 1024) });
    expect(big.status).toBe(400);
    const error = ((await big.json()) as any).error;
    expect(error.message).toStartWith("metadata: must be at most 16384 bytes as JSON");
    expect(error.details[0].field).toBe("metadata");
    expect((await send({ note: "z".repeat(15 * 1024) })).status).toBe(201);
  });

  test("a body that is not JSON is 415; malformed JSON is 400", async () => {
    const path = `/v1/conversations/${conversationId}/messages`;
    const form = await h.request(path, {
      method: "POST",
      headers: { ...auth, "content-type": "application/x-www-form-urlencoded" },
      body: "content=hi",
    });
    expect(form.status).toBe(415);
    expect((await h.request(path, { method: "POST", headers: auth, body: "{nope" })).status).toBe(400);
  });
});

describe("validation messages name the field and what it allows", () => {
  const error = async (method: string, path: string, body?: unknown) => {
    const res = await h.api(method, path, body);
    expect(res.status).toBe(400);
    return ((await res.json()) as any).error;
  };

  test("an enumeration lists its values", async () => {
    const e = await error("GET", "/v1/appointments?status=bogus");
    expect(e.message).toBe(
      "status: must be one of pending, confirmed, payment_pending, cancellation_requested, " +
        "reschedule_requested, cancelled, completed",
    );
    expect(e.details[0]).toMatchObject({
      field: "status",
      allowed: [
        "pending",
        "confirmed",
        "payment_pending",
        "cancellation_requested",
        "reschedule_requested",
        "cancelled",
        "completed",
      ],
    });
    expect((await error("GET", "/v1/webhook-events?provider=paypal")).message).toBe(
      "provider: must be one of stripe, twilio-sms, twilio-status, twilio-debugger",
    );
  });

  test("a number out of range names the parameter and its range", async () => {
    expect((await error("GET", "/v1/webhook-events?limit=100000")).message).toBe(
      "limit: must be an integer from 1 to 200",
    );
    expect((await error("GET", "/v1/clinics?limit=0")).message).toBe("limit: must be an integer from 1 to 200");
    expect((await error("GET", "/v1/webhook-events/abc")).message).toStartWith("id: must be an integer");
  });

  test("body fields are named with their path, each once", async () => {
    const e = await error("POST", "/v1/conversations", { channel: "FAX", usecase: "", config: { callback_url: 3 } });
    expect(e.message).toBe("channel: must be one of API, WHATSAPP, SMS");
    expect(e.details.map((d: any) => d.field)).toEqual(["channel", "usecase", "config.callback_url"]);
    expect((await error("POST", "/v1/clinics", { name: "X", phone: "+15550009999" })).message).toStartWith(
      "timezone: is required",
    );
    expect((await error("GET", "/v1/clinics/nope")).message).toBe("id: must be a UUID");
  });
});
