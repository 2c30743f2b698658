import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { API_KEY } from "../support/harness";
import { consoleClient } from "../support/console";
import { type DeliveryWorld, startDeliveryWorld } from "../support/delivery";
import { paymentIntent, signedStripeRequest, stripeEvent } from "../support/stripe";
import { inboundParams, postSms } from "../support/twilio";

let w: DeliveryWorld;
let c: ReturnType<typeof consoleClient>;
beforeAll(async () => {
  w = await startDeliveryWorld();
  c = consoleClient(w.h);
  expect((await c.signIn(API_KEY)).status).toBe(303);
});
afterAll(() => w.close());

const page = async (path: string) => {
  const res = await c.get(path);
  expect({ path, status: res.status }).toEqual({ path, status: 200 });
  return res.text();
};
const eventIdOf = async (provider: string, key: string) =>
  Number(
    (await w.rows`select id from webhook_events where provider = ${provider} and idempotency_key = ${key}`)[0]!.id,
  );

describe("webhook events in the console", () => {
  test("an empty list names the exact URLs to give Twilio and Stripe, from PUBLIC_URL", async () => {
    const html = await page("/console/events");
    expect(html).toContain("No webhooks yet");
    expect(html).toContain("https://switchboard.example.test/v1/clinic/webhooks/twilio/sms");
    expect(html).toContain("https://switchboard.example.test/api/v1/webhooks/stripe/payment-events");
  });

  test("a signed Stripe event is listed; its detail shows the body, "
    + "answer and the trail of what it caused", async () => {
    const seeded = await w.queueAbout();
    const event = stripeEvent("payment_intent.succeeded", paymentIntent(seeded.appointment.id));
    expect((await w.h.request("/api/v1/webhooks/stripe/payment-events", await signedStripeRequest(event))).status).toBe(
      200,
    );
    const list = await page("/console/events?provider=stripe");
    expect(list).toContain("payment_intent.succeeded");
    expect(list).toContain(event.id);
    await w.h.drain();
    const id = await eventIdOf("stripe", event.id);
    const detail = await page(`/console/events/${id}`);
    expect(detail).toContain("HTTP 200");
    expect(detail).toContain("[redacted]"); // the Stripe-Signature header
    expect(detail).toContain(`appointment pending → confirmed`);
    expect(detail).toContain(`/console/appointments/${seeded.appointment.id}`);
    expect(detail).toContain("deposit 6000 usd");
    expect(detail).toMatch(/confirmation SMS to \+1556/);
    const sms = (
      await w.rows`select id from sms_messages where dedupe_key = ${`deposit-confirmation:${event.data.object.id}`}`
    )[0]!;
    expect(detail).toContain(`/console/sms/${sms.id}`);
  });

  test("Replay asks for confirmation, "
    + "then processes the event again through the API's replay, audited as console", async () => {
    const seeded = await w.queueAbout();
    const event = stripeEvent("payment_intent.succeeded", paymentIntent(seeded.appointment.id));
    await w.h.request("/api/v1/webhooks/stripe/payment-events", await signedStripeRequest(event));
    await w.h.drain();
    const id = await eventIdOf("stripe", event.id);
    const confirm = await page(`/console/events/${id}/replay`);
    expect(confirm).toContain("Replay now");
    const replay = await c.post(`/console/events/${id}/replay`, { _csrf: c.csrfOf(confirm) });
    expect(replay.status).toBe(303);
    expect(replay.headers.get("location")).toBe(`/console/events/${id}?done=replayed`);
    expect((await w.rows`select status from webhook_events where id = ${id}`)[0]!.status).toBe("pending");
    expect(await page(`/console/events/${id}?done=replayed`)).toContain("Replay queued");
    await w.h.drain();
    expect((await w.rows`select status, attempts from webhook_events where id = ${id}`)[0]).toMatchObject({
      status: "processed",
      attempts: 2,
    });
    // Its effects are keyed: the replay booked nothing twice.
    expect((await w.rows`select count(*)::int as n from transactions where webhook_event_id = ${id}`)[0]!.n).toBe(1);
    const audit = await w.rows`select cause, action, subject_type, subject_id from audit_log where action = 'replay'`;
    expect(audit).toContainEqual({
      cause: "console",
      action: "replay",
      subject_type: "webhook_event",
      subject_id: String(id),
    });
  });

  test("a failed SMS's status callback shows the fallback email, "
    + "the support alert and the clinic's webhook", async () => {
    const sent = await w.sent();
    await w.callback(sent.sid, "undelivered", { ErrorCode: "30003", To: sent.patient.phone });
    await w.h.drain();
    const id = await eventIdOf("twilio-status", `${sent.sid}:undelivered`);
    const detail = await page(`/console/events/${id}`);
    expect(detail).toContain("status undelivered recorded");
    expect(detail).toContain("error 30003");
    expect(detail).toContain("sms_fallback email to");
    expect(detail).toContain("sms_failed_alert email to");
    expect(detail).toContain("sms.failed");
    expect(detail).toContain("/console/deliveries/");
    // Found by the patient's phone, masked in the list and whole on the SMS page.
    const list = await page(`/console/events?phone=${encodeURIComponent(sent.patient.phone)}`);
    expect(list).toContain(`${sent.sid}:undelivered`);
    const table = list.slice(list.indexOf("<table"));
    expect(table).not.toContain(sent.patient.phone);
    expect(table).toContain(`${sent.patient.phone.slice(0, 5)}***${sent.patient.phone.slice(-4)}`);
    const sms = await page(`/console/sms/${sent.smsId}`);
    expect(sms).toContain(sent.patient.phone);
    expect(sms).toContain("30003");
    const appointment = await page(`/console/appointments/${sent.appointment.id}`);
    expect(appointment).toContain("undelivered");
    expect(appointment).toContain(sent.patient.email!);
  });

  test("what a stranger texts is shown as text, never as markup", async () => {
    const seeded = await w.queueAbout();
    const params = inboundParams(
      seeded.patient.phone,
      seeded.clinic.phone,
      `<script>alert(1)</script><img src=x onerror=alert(2)>`,
    );
    expect((await postSms(w.h, params)).status).toBe(200);
    const id = await eventIdOf("twilio-sms", params.MessageSid!);
    for (const html of [await page("/console/events?provider=twilio-sms"), await page(`/console/events/${id}`)]) {
      expect(html).not.toContain("<script>alert(1)");
      expect(html).not.toContain("<img src=x");
      expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    }
  });

  test("lists page with a keyset cursor, newest first, and filter by idempotency key", async () => {
    const before = Number((await w.rows`select count(*)::int as n from webhook_events`)[0]!.n);
    const seeded = await w.queueAbout();
    for (let i = 0; i < 55 - before; i++) {
      const event = stripeEvent("customer.created", {
        id: `cus_${i}`,
        object: "customer",
        metadata: { booking_id: seeded.appointment.id },
      });
      await w.h.request("/api/v1/webhooks/stripe/payment-events", await signedStripeRequest(event));
    }
    const ids = (await w.rows`select id from webhook_events order by received_at desc, id desc`).map((r) =>
      String(r.id),
    );
    const first = await page("/console/events");
    const next = /href="\/console\/events\?before=([^"]+)"/.exec(first)![1]!;
    const second = await page(`/console/events?before=${next}`);
    const shown = (html: string) => [...html.matchAll(/<td><a href="\/console\/events\/(\d+)">/g)].map((m) => m[1]);
    expect([...shown(first), ...shown(second)]).toEqual(ids);
    expect(shown(await page(`/console/events?key=${ids.length}`))).toEqual([]);
  });
});
