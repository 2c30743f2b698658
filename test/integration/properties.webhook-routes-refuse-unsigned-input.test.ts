// Random requests at every inbound webhook route that /docs/json lists (fast-check, bounded runs).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import Stripe from "stripe";
import { type FakeTwilio, startFakeTwilio } from "../support/fake-twilio";
import { body, contentTypeFor, type DocRoute, headers, query, routesOf } from "../support/fuzz";
import {
  API_KEY,
  createHarness,
  type Harness,
  PUBLIC_URL,
  seedAppointment,
  STRIPE_SECRET,
  TWILIO_ACCOUNT_SID,
  TWILIO_AUTH_TOKEN,
} from "../support/harness";
import { inboundParams, messageSid, signedTwilioRequest } from "../support/twilio";

let h: Harness;
let fake: FakeTwilio;
let webhookRoutes: DocRoute[];
beforeAll(async () => {
  fake = await startFakeTwilio({ accountSid: TWILIO_ACCOUNT_SID, authToken: TWILIO_AUTH_TOKEN });
  h = await createHarness({ TWILIO_API_URL: fake.url }, { sleep: async () => {} });
  webhookRoutes = routesOf((await (await h.request("/docs/json")).json()) as any).filter((r) =>
    r.path.includes("/webhooks/"),
  );
});
afterAll(async () => {
  await h.close();
  fake.close();
});

const count = async (table: string) =>
  (await h.deps.sql.unsafe(`select count(*)::int as n from ${table}`))[0]!.n as number;
const STATUS_PATH = "/api/v1/webhooks/twilio/sms-status";

describe("without a valid signature", () => {
  test("the docs list the providers' routes, the fallback and the Twilio Debugger", () => {
    expect(webhookRoutes.map((r) => `${r.method} ${r.path} ${r.contentTypes}`).sort()).toEqual([
      "POST /api/v1/webhooks/stripe/payment-events application/json",
      "POST /api/v1/webhooks/twilio/debugger application/x-www-form-urlencoded",
      "POST /api/v1/webhooks/twilio/sms-status application/x-www-form-urlencoded",
      "POST /v1/clinic/webhooks/twilio/sms application/x-www-form-urlencoded",
      "POST /v1/clinic/webhooks/twilio/sms/fallback application/x-www-form-urlencoded",
    ]);
  });

  test("random bodies, headers, content types and lengths get neither a 2xx nor a 5xx, and store nothing", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...webhookRoutes).chain((r) => fc.tuple(fc.constant(r), contentTypeFor(r))),
        body,
        headers,
        query,
        async ([route, type], payload, extra, search) => {
          const res = await h.request(`${route.path}${search ? `?${search}` : ""}`, {
            method: route.method,
            headers: { ...extra, "content-type": type },
            body: payload,
          });
          await res.arrayBuffer();
          expect(res.status).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
        },
      ),
      { numRuns: 250 },
    );
    expect(await count("webhook_events")).toBe(0);
    expect(await count("graphile_worker.jobs")).toBe(0);
  }, 60_000);

  test("a body signed for another body, URL or secret is refused the same way", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ maxLength: 40 }), { maxKeys: 8 }),
        fc.constantFrom("url", "secret", "body"),
        async (params, wrong) => {
          const path = "/v1/clinic/webhooks/twilio/sms";
          const signed = { ...inboundParams("+15550001111", "+15550002222", "HELP"), ...params };
          const init = signedTwilioRequest(path, signed, {
            signUrl: wrong === "url" ? `${PUBLIC_URL}/elsewhere` : undefined,
            token: wrong === "secret" ? "not_the_token_123" : undefined,
          });
          const sent =
            wrong === "body" ? { ...init, body: new URLSearchParams({ ...signed, Body: "STOP" }).toString() } : init;
          const res = await h.request(path, sent);
          // Unless the change happened to leave the signed parameters as they were.
          if (wrong === "body" && signed.Body === "STOP") return;
          expect(res.status).toBe(403);
          expect(await res.text()).toBe("<Response><Message>Invalid request signature</Message></Response>");
        },
      ),
      { numRuns: 60 },
    );
    await fc.assert(
      fc.asyncProperty(fc.json(), fc.integer({ min: 301, max: 10 ** 6 }), async (json, age) => {
        // A Stripe signature that is right but too old (beyond the 300 s tolerance), or made with another secret.
        for (const opts of [
          { secret: STRIPE_SECRET, timestamp: Math.floor(Date.now() / 1000) - age },
          { secret: "whsec_other" },
        ]) {
          const header = await Stripe.webhooks.generateTestHeaderStringAsync({ payload: json, ...opts });
          const res = await h.request("/api/v1/webhooks/stripe/payment-events", {
            method: "POST",
            headers: { "content-type": "application/json", "stripe-signature": header },
            body: json,
          });
          expect(res.status).toBe(400);
        }
      }),
      { numRuns: 40 },
    );
    expect(await count("webhook_events")).toBe(0);
  }, 60_000);
});

describe("signed by the provider but odd", () => {
  test("any signed Twilio parameters get no 5xx, and no stored event stays pending", async () => {
    const { clinic, patient } = await seedAppointment(h, { phone: "+15557010001", email: "odd@patient.test" });
    const param = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.constantFrom("", "+15557010001", clinic.phone, "whatsapp:+15557010001"),
    );
    const names = fc.constantFrom(
      "Body",
      "From",
      "To",
      "NumMedia",
      "MediaUrl0",
      "MediaContentType0",
      "OptOutType",
      "MessageStatus",
      "ErrorCode",
      "MessageSid",
      "SmsSid",
      "AccountSid",
      "RawDlrDoneDate",
      "ErrorUrl",
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...webhookRoutes.filter((r) => r.path.includes("twilio"))),
        fc.dictionary(names, param, { maxKeys: 8 }),
        fc.boolean(),
        async (route, odd, withSid) => {
          const base =
            route.path === STATUS_PATH
              ? { MessageSid: messageSid(), MessageStatus: "delivered", AccountSid: TWILIO_ACCOUNT_SID }
              : inboundParams(patient.phone, clinic.phone, "hello");
          const params: Record<string, string> = { ...base, ...odd };
          if (!withSid) delete params.MessageSid;
          const res = await h.request(route.path, signedTwilioRequest(route.path, params));
          await res.arrayBuffer();
          expect(res.status).toBeLessThan(500);
        },
      ),
      { numRuns: 120 },
    );
    await h.drain();
    // Nothing a signed request can say leaves its event pending behind a failing job.
    expect([...(await h.deps.sql`select id, status, last_error from webhook_events where status = 'pending'`)]).toEqual(
      [],
    );
  }, 120_000);

  test("any signed Stripe JSON gets no 5xx, and no stored event stays pending", async () => {
    const type = fc.constantFrom(
      "payment_intent.succeeded",
      "payment_intent.payment_failed",
      "charge.refunded",
      "customer.created",
    );
    const object = fc.oneof(
      fc.json({ maxDepth: 2 }).map((j) => JSON.parse(j)),
      fc.record(
        {
          id: fc.string({ maxLength: 20 }),
          amount: fc.oneof(fc.integer(), fc.string()),
          amount_refunded: fc.oneof(fc.integer(), fc.string()),
          currency: fc.string({ maxLength: 5 }),
          metadata: fc.oneof(fc.constant(null), fc.record({ booking_id: fc.oneof(fc.uuid(), fc.string()) })),
        },
        { requiredKeys: [] },
      ),
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(type, object, fc.boolean(), async (eventType, obj, wellFormed) => {
        const event = wellFormed
          ? { id: `evt_fuzz_${++n}`, object: "event", type: eventType, data: { object: obj } }
          : obj;
        const payload = JSON.stringify(event);
        const header = await Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: STRIPE_SECRET });
        const res = await h.request("/api/v1/webhooks/stripe/payment-events", {
          method: "POST",
          headers: { "content-type": "application/json", "stripe-signature": header },
          body: payload,
        });
        await res.arrayBuffer();
        expect(res.status).toBeLessThan(500);
      }),
      { numRuns: 120 },
    );
    await h.drain();
    expect([...(await h.deps.sql`select id, status, last_error from webhook_events where status = 'pending'`)]).toEqual(
      [],
    );
  }, 120_000);
});

test("no secret, signature, full phone number, email address or message text ever reaches the logs", async () => {
  const word = fc.stringMatching(/^[a-z]{6,10}$/);
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1_000_000, max: 9_999_999 }), word, word, async (digits, local, text) => {
      const phone = `+1555${digits}`;
      const email = `${local}@patient.test`;
      const seeded = await seedAppointment(h, { phone, email });
      const body = `CONFIRM secret words ${text} ${email}`;
      const params = inboundParams(phone, seeded.clinic.phone, body);
      const signed = signedTwilioRequest("/v1/clinic/webhooks/twilio/sms", params);
      expect((await h.request("/v1/clinic/webhooks/twilio/sms", signed)).status).toBe(200);
      await h.drain();
      const [sms] = await h.deps.sql`select twilio_sid from sms_messages where patient_id = ${seeded.patient.id}`;
      if (sms?.twilio_sid) {
        const status = {
          MessageSid: sms.twilio_sid,
          MessageStatus: "undelivered",
          ErrorCode: "30003",
          To: phone,
          AccountSid: TWILIO_ACCOUNT_SID,
        };
        expect((await h.request(STATUS_PATH, signedTwilioRequest(STATUS_PATH, status))).status).toBe(200);
        await h.drain();
      }
      const logs = h.logs.join("\n");
      for (const leak of [
        phone,
        phone.slice(1),
        email,
        text,
        (signed.headers as Record<string, string>)["x-twilio-signature"]!,
      ]) {
        expect(logs).not.toContain(leak);
      }
    }),
    { numRuns: 15 },
  );
  const logs = h.logs.join("\n");
  expect(h.logs.length).toBeGreaterThan(50);
  for (const secret of [API_KEY, TWILIO_AUTH_TOKEN, STRIPE_SECRET]) expect(logs).not.toContain(secret);
}, 120_000);
