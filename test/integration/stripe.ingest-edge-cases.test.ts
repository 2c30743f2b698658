import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Stripe from "stripe";
import { createHarness, type Harness, seedAppointment, STRIPE_SECRET } from "../support/harness";
import { paymentIntent, signedStripeRequest, stripeEvent } from "../support/stripe";

const PATH = "/api/v1/webhooks/stripe/payment-events";
const NEXT_SECRET = "whsec_test_secret_next";
let h: Harness;

beforeAll(async () => {
  h = await createHarness({ STRIPE_WEBHOOK_SECRET: NEXT_SECRET, STRIPE_WEBHOOK_SECRET_PREVIOUS: STRIPE_SECRET });
});
afterAll(() => h.close());

const count = async (key: string) =>
  Number((await h.deps.sql`select count(*)::int as n from webhook_events where idempotency_key = ${key}`)[0]!.n);
const totalEvents = async () => Number((await h.deps.sql`select count(*)::int as n from webhook_events`)[0]!.n);

describe("duplicate delivery", () => {
  test("the same event.id three times in a row: one row, one job, one effect, same answer", async () => {
    const { appointment } = await seedAppointment(h);
    const event = stripeEvent("payment_intent.succeeded", paymentIntent(appointment.id));
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const res = await h.request(PATH, await signedStripeRequest(event));
      answers.push([res.status, await res.text()]);
    }
    expect(answers).toEqual(Array(3).fill([200, '{"received":true}']));
    expect(await count(event.id)).toBe(1);
    const jobs = await h.deps.sql`select count(*)::int as n from graphile_worker.jobs where task_identifier =
      'process-webhook'`;
    expect(jobs[0]!.n).toBe(1);
    await h.drain();
    await h.drain();
    const ledger = await h.deps.sql`select count(*)::int as n from transactions where appointment_id =
      ${appointment.id}`;
    expect(ledger[0]!.n).toBe(1);
    const sms = await h.deps.sql`select count(*)::int as n from sms_messages where appointment_id = ${appointment.id}`;
    expect(sms[0]!.n).toBe(1);
    const history = await h.deps.sql`select count(*)::int as n from appointment_history where appointment_id =
      ${appointment.id}`;
    expect(history[0]!.n).toBe(1);
  });

  test("the same event.id ten times concurrently: one row, every answer 200 received", async () => {
    const { appointment } = await seedAppointment(h);
    const event = stripeEvent("payment_intent.succeeded", paymentIntent(appointment.id));
    const init = await signedStripeRequest(event);
    const responses = await Promise.all(Array.from({ length: 10 }, () => h.request(PATH, { ...init })));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(await Promise.all(responses.map((r) => r.json()))).toEqual(Array(10).fill({ received: true }));
    expect(await count(event.id)).toBe(1);
  });

  test("a replay through the management API does not repeat effects", async () => {
    const { appointment } = await seedAppointment(h);
    const event = stripeEvent("payment_intent.succeeded", paymentIntent(appointment.id));
    await h.request(PATH, await signedStripeRequest(event));
    await h.drain();
    const [row] = await h.deps.sql`select id from webhook_events where idempotency_key = ${event.id}`;
    const replay = await h.api("POST", `/v1/webhook-events/${row!.id}/replay`);
    expect(replay.status).toBe(202);
    await h.drain();
    const [after] = await h.deps.sql`select status, attempts from webhook_events where id = ${row!.id}`;
    expect(after).toEqual({ status: "processed", attempts: 2 });
    const ledger = await h.deps.sql`select count(*)::int as n from transactions where appointment_id =
      ${appointment.id}`;
    expect(ledger[0]!.n).toBe(1);
    expect((await h.api("POST", "/v1/webhook-events/999999/replay")).status).toBe(404);
  });
});

const event = () => stripeEvent("payment_intent.succeeded", paymentIntent("00000000-0000-4000-8000-000000000001"));

describe("signatures", () => {
  test("a wrong secret is 400 Webhook Error and stores nothing", async () => {
    const before = await totalEvents();
    const res = await h.request(PATH, await signedStripeRequest(event(), { secret: "whsec_someone_else" }));
    expect(res.status).toBe(400);
    expect(await res.text()).toStartWith("Webhook Error: No signatures found matching the expected signature");
    expect(await totalEvents()).toBe(before);
  });

  test("a missing header and a garbled header are refused", async () => {
    const init = await signedStripeRequest(event());
    const headers = { "content-type": "application/json" };
    const missing = await h.request(PATH, { ...init, headers });
    expect(missing.status).toBe(400);
    expect(await missing.text()).toBe("Webhook Error: No Stripe-Signature header");
    const garbled = await h.request(PATH, { ...init, headers: { ...headers, "stripe-signature": "nonsense" } });
    expect(garbled.status).toBe(400);
    expect(await garbled.text()).toStartWith("Webhook Error:");
  });

  test("a timestamp older than 300 s is refused even with a valid signature", async () => {
    const before = await totalEvents();
    const stale = Math.floor(Date.now() / 1000) - 301;
    const res = await h.request(PATH, await signedStripeRequest(event(), { secret: NEXT_SECRET, timestamp: stale }));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("Timestamp outside the tolerance zone");
    expect(await totalEvents()).toBe(before);
  });

  test("during rotation a header with two v1 signatures verifies, as does either secret alone", async () => {
    const payload = JSON.stringify(event());
    const t = Math.floor(Date.now() / 1000);
    const sig = async (secret: string) =>
      (await Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret, timestamp: t })).split(",")[1]!;
    const both = `t=${t},${await sig(NEXT_SECRET)},${await sig(STRIPE_SECRET)}`;
    expect((await h.request(PATH, await signedStripeRequest(payload, { header: both }))).status).toBe(200);
    const oldOnly = stripeEvent("charge.refunded", { id: "ch_x", metadata: {} });
    expect((await h.request(PATH, await signedStripeRequest(oldOnly, { secret: STRIPE_SECRET }))).status).toBe(200);
    const newOnly = stripeEvent("charge.refunded", { id: "ch_y", metadata: {} });
    expect((await h.request(PATH, await signedStripeRequest(newOnly, { secret: NEXT_SECRET }))).status).toBe(200);
  });
});

describe("malformed requests store nothing", () => {
  test("malformed JSON with a valid signature is 400", async () => {
    const before = await totalEvents();
    const res = await h.request(PATH, await signedStripeRequest('{"id": "evt_1", "type": '));
    expect(res.status).toBe(400);
    expect(await res.text()).toBe("Webhook Error: Body is not valid JSON");
    expect(await totalEvents()).toBe(before);
  });

  test("JSON without an id or type is 400", async () => {
    const res = await h.request(PATH, await signedStripeRequest({ hello: "world" }));
    expect(res.status).toBe(400);
    expect(await res.text()).toBe("Webhook Error: Event has no id or type");
  });

  test("a body over 64 KiB is 413, declared or streamed", async () => {
    const before = await totalEvents();
    const big = stripeEvent("payment_intent.succeeded", { ...paymentIntent("x"), padding: "x".repeat(70_000) });
    const res = await h.request(PATH, await signedStripeRequest(big));
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe("payload_too_large");
    const init = await signedStripeRequest(big);
    const stream = new ReadableStream(
      { start(c) { c.enqueue(new TextEncoder().encode(init.body as string)); c.close(); } },
    );
    const chunked = await h.request(PATH, { ...init, body: stream, duplex: "half" } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(await totalEvents()).toBe(before);
  });

  test("a wrong content type is 415", async () => {
    const before = await totalEvents();
    const res = await h.request(PATH, await signedStripeRequest(event(), { contentType: "text/plain" }));
    expect(res.status).toBe(415);
    expect((await res.json()).error.code).toBe("unsupported_media_type");
    expect(await totalEvents()).toBe(before);
  });

  test("the stored event keeps headers with the signature redacted", async () => {
    const e = stripeEvent("customer.updated", { id: "cus_2" });
    await h.request(PATH, await signedStripeRequest(e));
    const [row] = await h.deps.sql`select headers, raw_body, response_status, response_body from webhook_events where
      idempotency_key = ${e.id}`;
    expect(row!.headers["stripe-signature"]).toBe("[redacted]");
    expect(row!.raw_body).toBe(JSON.stringify(e));
    expect([row!.response_status, row!.response_body]).toEqual([200, '{"received":true}']);
  });
});

describe("source allowlist", () => {
  test("INBOUND_ALLOW_CIDRS refuses other addresses before storing", async () => {
    const limited = await createHarness({ INBOUND_ALLOW_CIDRS: "3.18.12.0/24, 2600:1f18::/32", TRUST_PROXY: "fly" });
    try {
      const e = stripeEvent("customer.updated", { id: "cus_3" });
      const init = await signedStripeRequest(e);
      const from = (ip: string) =>
        limited.request(PATH, { ...init, headers: { ...init.headers, "fly-client-ip": ip } });
      expect((await from("8.8.8.8")).status).toBe(403);
      expect((await from("3.18.12.63")).status).toBe(200);
      expect((await from("2600:1f18:0:1::5")).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});
