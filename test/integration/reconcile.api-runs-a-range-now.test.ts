import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type FakeStripe, startFakeStripe } from "../support/fake-stripe";
import { type FakeTwilio, startFakeTwilio } from "../support/fake-twilio";
import {
  createHarness, type Harness, seedAppointment, testClock, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN,
} from "../support/harness";
import { paymentIntent } from "../support/stripe";
import { uniquePhone } from "../support/twilio";
import { queueSms } from "../../src/effects/sms";

const MINUTE = 60_000;
const SECRET_KEY = "sk_test_reconcileapi0123456789";
let h: Harness;
let twilio: FakeTwilio;
let stripe: FakeStripe;
const clock = testClock();
beforeAll(async () => {
  twilio = await startFakeTwilio({ accountSid: TWILIO_ACCOUNT_SID, authToken: TWILIO_AUTH_TOKEN });
  stripe = startFakeStripe({ secretKey: SECRET_KEY });
  const env = { TWILIO_API_URL: twilio.url, STRIPE_SECRET_KEY: SECRET_KEY, STRIPE_API_URL: stripe.url };
  h = await createHarness(env, { sleep: async () => {}, clock });
});
afterAll(async () => {
  await h.close();
  twilio.close();
  stripe.close();
});

const rows = (q: TemplateStringsArray, ...v: any[]) => h.deps.sql(q, ...v) as Promise<any[]>;
const reconcile = (body: unknown) => h.api("POST", "/v1/reconcile", body);

describe("POST /v1/reconcile", () => {
  test("finds what the providers have that Switchboard missed in the range, stores it once, says what", async () => {
    const { clinic, patient, appointment } = await seedAppointment(h, { phone: uniquePhone() });
    clock.set(new Date(Date.parse(appointment.created_at) + 1000));
    const since = clock.now();
    const smsId = (await h.deps.db.transaction((tx) => queueSms(tx, {
      dedupeKey: `api-test:${appointment.id}`, kind: "reminder", clinic, patient: { ...patient, optedOut: false },
      appointmentId: appointment.id, body: "Reminder: tomorrow at 10.",
    })))!;
    await h.drain();
    const [sent] = await rows`select twilio_sid from sms_messages where id = ${smsId}`;
    twilio.setStatus(sent.twilio_sid, "delivered");
    const inbound = twilio.receive({ from: patient.phone, to: clinic.phone, body: "thanks!", at: clock.now() });
    const paid = stripe.emit("payment_intent.succeeded", paymentIntent(appointment.id), clock.now());
    clock.advance(MINUTE);

    const res = await reconcile({ since: since.toISOString() });
    expect(res.status).toBe(200);
    const body = await res.json() as any;
    expect(body).toMatchObject({ since: since.toISOString(), until: clock.now().toISOString(), complete: true });
    expect(body.found.map((f: any) => [f.kind, f.key]).sort()).toEqual([
      ["event", paid.id], ["inbound_sms", inbound.sid], ["sms_status", `${sent.twilio_sid}:delivered`],
    ].sort());
    const number = body.passes.find((p: any) => p.pass === "twilio-sms" && p.number === clinic.phone);
    expect(number).toMatchObject({ outcome: "complete", found: 1 });
    const ids = body.found.map((f: any) => f.event_id);
    const listed = await (await h.api("GET", "/v1/webhook-events?source=reconcile")).json() as any;
    expect(listed.data.map((e: any) => e.id).sort()).toEqual(ids.sort());
    const marked = (e: any) => e.source === "reconcile" && e.source_note.startsWith("POST /v1/reconcile");
    expect(listed.data.every(marked)).toBe(true);

    await h.drain();
    expect((await rows`select status from sms_messages where id = ${smsId}`)[0].status).toBe("delivered");
    // Asked again: everything is there already. The scheduled checkpoints were not touched.
    const range = { since: since.toISOString(), until: clock.now().toISOString() };
    const again = await (await reconcile(range)).json() as any;
    expect(again.found).toEqual([]);
    expect(await rows`select 1 from reconcile_checkpoints`).toHaveLength(0);
  });

  test("refuses a range that ends before it starts, and callers without the API key", async () => {
    const now = clock.now();
    const bad = await reconcile({ since: now.toISOString(), until: new Date(now.getTime() - MINUTE).toISOString() });
    expect(bad.status).toBe(400);
    expect((await bad.json() as any).error.message).toContain("since must be before until");
    expect((await reconcile({ since: "yesterday" })).status).toBe(400);
    const body = JSON.stringify({ since: now.toISOString() });
    const headers = { "content-type": "application/json" };
    const anonymous = await h.request("/v1/reconcile", { method: "POST", headers, body });
    expect(anonymous.status).toBe(401);
  });

  test("is documented in /docs/json with its schemas", async () => {
    const doc = await (await h.request("/docs/json")).json() as any;
    const op = doc.paths["/v1/reconcile"]?.post;
    expect(op.summary).toBe("Reconcile a time range now");
    expect(op.security).toEqual([{ bearer: [] }]);
    expect(JSON.stringify(op.requestBody)).toContain("since");
    expect(JSON.stringify(op.responses["200"])).toContain("found");
    expect(JSON.stringify(doc.paths["/v1/webhook-events"].get)).toContain("reconcile");
  });
});
