import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { queueSms } from "../../src/effects/sms";
import { type FakeTwilio, startFakeTwilio } from "../support/fake-twilio";
import {
  createHarness, type Harness, seedAppointment, testClock, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN,
} from "../support/harness";
import { paymentIntent, signedStripeRequest, stripeEvent } from "../support/stripe";
import { uniquePhone } from "../support/twilio";

let h: Harness;
let fake: FakeTwilio;
const waits: number[] = [];
// Pacing reads the clock: held still, the slots each send waits for are exact.
const clock = testClock();
beforeAll(async () => {
  fake = await startFakeTwilio({ accountSid: TWILIO_ACCOUNT_SID, authToken: TWILIO_AUTH_TOKEN });
  h = await createHarness(
    { TWILIO_API_URL: fake.url, TWILIO_TIMEOUT_MS: "400" }, { clock, sleep: async (ms) => { waits.push(ms); } },
  );
});
afterAll(async () => {
  await h.close();
  fake.close();
});

const rows = (q: TemplateStringsArray, ...v: any[]) => h.deps.sql(q, ...v) as Promise<any[]>;
const sentTo = (phone: string) => fake.messages.filter((m) => m.to === phone);
const triesTo = (phone: string) => fake.creates.filter((p) => p.To === phone);
const smsRow = async (id: string) => (await rows`select * from sms_messages where id = ${id}`)[0];
const pendingJobs = (id: string) => rows`select attempts from graphile_worker.jobs where key = ${`sms:${id}`}`;

async function queue(harness: Harness = h, body = "Reminder: your appointment is tomorrow at 10:00 AM.") {
  const seeded = await seedAppointment(harness, { phone: uniquePhone() });
  const { clinic, patient } = seeded;
  const id = await harness.deps.db.transaction((tx) => queueSms(tx, {
    dedupeKey: `test:${patient.id}:${body}`, kind: "reminder", clinic, patient: { ...patient, optedOut: false }, body,
  }));
  return { ...seeded, id: id! };
}

describe("sending", () => {
  test("the Stripe confirmation SMS goes out from the clinic's number with the status "
    + "callback, and its sid is stored", async () => {
    const { clinic, patient, appointment } = await seedAppointment(h, { phone: uniquePhone() });
    const path = "/api/v1/webhooks/stripe/payment-events";
    expect((await h.request(
      path, await signedStripeRequest(stripeEvent("payment_intent.succeeded", paymentIntent(appointment.id))),
    )).status).toBe(200);
    await h.drain();
    const [sent] = sentTo(patient.phone);
    expect(sent!.from).toBe(clinic.phone);
    expect(sent!.body).toContain("Deposit of $60.00 received");
    expect(sent!.status_callback).toBe("https://switchboard.example.test/api/v1/webhooks/twilio/sms-status");
    const [row] = await rows`select status, twilio_sid, sent_at, attempts from sms_messages where appointment_id =
      ${appointment.id}`;
    expect(row).toMatchObject({ status: "queued", twilio_sid: sent!.sid, attempts: 1 });
    expect(row.sent_at).not.toBeNull();
  });

  test("sends from one number are paced at its sms_per_second", async () => {
    const { clinic, patient } = await seedAppointment(h, { phone: uniquePhone() });
    await h.deps.sql`update clinics set sms_per_second = 4 where id = ${clinic.id}`;
    waits.length = 0;
    await h.deps.db.transaction(async (tx) => {
      for (let i = 0; i < 3; i++) {
        await queueSms(tx, {
          dedupeKey: `pace:${clinic.id}:${i}`, kind: "reminder", clinic, patient: { ...patient, optedOut: false },
          body: `Message ${i}`,
        });
      }
    });
    await h.drain();
    expect(sentTo(patient.phone).map((m) => m.body).sort()).toEqual(["Message 0", "Message 1", "Message 2"]);
    // The first goes at once; each later one waits for its slot, 250 ms after the one before.
    expect(waits).toEqual([250, 500]);
    clock.advance(60_000);
    await queueSms(h.deps.db, {
      dedupeKey: `pace:${clinic.id}:later`, kind: "reminder", clinic, patient: { ...patient, optedOut: false },
      body: "Later",
    });
    await h.drain();
    expect(waits).toEqual([250, 500]);
    expect(sentTo(patient.phone)).toHaveLength(4);
  });
});

describe("Twilio refuses (4xx): recorded, not retried", () => {
  test("21211 invalid number", async () => {
    const { id, patient } = await queue();
    fake.fail({ status: 400, code: 21211, message: `The 'To' number ${patient.phone} is not a valid phone number.` });
    await h.drain();
    expect(await smsRow(id)).toMatchObject({ status: "failed", error_code: "21211", twilio_sid: null });
    expect((await smsRow(id)).error_message).toContain("is not a valid phone number");
    expect(await pendingJobs(id)).toHaveLength(0);
    expect(triesTo(patient.phone)).toHaveLength(1);
  });

  test("21610 unsubscribed recipient also records the patient's opt-out", async () => {
    const { id, patient } = await queue();
    fake.fail({ status: 400, code: 21610, message: "Attempt to send to unsubscribed recipient" });
    await h.drain();
    expect(await smsRow(id)).toMatchObject({ status: "failed", error_code: "21610" });
    const [p] = await rows`select opted_out, opt_out_type from patients where id = ${patient.id}`;
    expect(p).toEqual({ opted_out: true, opt_out_type: "TWILIO_21610" });
    expect(await pendingJobs(id)).toHaveLength(0);
  });
});

describe("Twilio fails (5xx, timeouts, network): retried, never texted twice", () => {
  test("a 500 is recorded and the job retried until Twilio takes it", async () => {
    const { id, patient } = await queue();
    fake.fail({ status: 500, code: 20500, message: "Internal Server Error" });
    await h.drain();
    // Twilio may have stored the message before failing: unknown until a look-up says otherwise.
    expect(await smsRow(id)).toMatchObject({ status: "unknown", error_code: "20500" });
    expect(await pendingJobs(id)).toEqual([{ attempts: 1 }]);
    expect(await h.retryNow("send-sms")).toBeGreaterThan(0);
    await h.drain();
    expect(await smsRow(id)).toMatchObject({ status: "queued", error_code: null, attempts: 2 });
    expect(triesTo(patient.phone)).toHaveLength(2);
    expect(sentTo(patient.phone)).toHaveLength(1);
  });

  test("a 429 is retried too", async () => {
    const { id } = await queue();
    fake.fail({ status: 429, code: 20429, message: "Too Many Requests" });
    await h.drain();
    expect((await smsRow(id)).status).toBe("pending");
    await h.retryNow("send-sms");
    await h.drain();
    expect((await smsRow(id)).status).toBe("queued");
  });

  test("a timeout after Twilio took the message: the retry finds it on Twilio instead of sending again", async () => {
    const { id, patient } = await queue();
    fake.delay(1500);
    await h.drain();
    const afterTimeout = await smsRow(id);
    expect(afterTimeout.status).toBe("unknown");
    expect(afterTimeout.error_message).toContain("timeout");
    await h.retryNow("send-sms");
    await h.drain();
    const [only] = sentTo(patient.phone);
    expect(await smsRow(id)).toMatchObject({ status: "queued", twilio_sid: only!.sid });
    expect(triesTo(patient.phone)).toHaveLength(1);
  });

  test("a network error (nothing listening) leaves the SMS pending for the retry", async () => {
    const closed = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
    const url = `http://127.0.0.1:${closed.port}`;
    closed.stop(true);
    const offline = await createHarness({ TWILIO_API_URL: url, TWILIO_TIMEOUT_MS: "400" }, { sleep: async () => {} });
    try {
      const { id } = await queue(offline);
      await offline.drain();
      const row = (
        await offline.deps.sql`select status, error_message, attempts from sms_messages where id = ${id}`
      )[0]!;
      expect(row.status).toBe("pending");
      expect(row.attempts).toBe(1);
      expect(await offline.deps.sql`select 1 from graphile_worker.jobs where key = ${`sms:${id}`}`).toHaveLength(1);
    } finally {
      await offline.close();
    }
  });
});

describe("without Twilio credentials", () => {
  test("the SMS stays recorded as logged, and nothing is attempted", async () => {
    const bare = await createHarness({ TWILIO_ACCOUNT_SID: "", TWILIO_AUTH_TOKEN: "" });
    try {
      const { id } = await queue(bare);
      await bare.drain();
      expect((await bare.deps.sql`select status from sms_messages where id = ${id}`)[0]!.status).toBe("logged");
    } finally {
      await bare.close();
    }
  });
});
