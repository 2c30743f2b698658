// The fake Twilio that `npm run dev` runs plays each message's life as Twilio does; the service must take its
// callbacks as real ones (signed for PUBLIC_URL, parameters as Twilio sends them).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { queueSms } from "../../src/effects/sms";
import { startFakeTwilio } from "../support/fake-twilio";
import {
  createHarness, type Harness, PUBLIC_URL, seedAppointment, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN,
} from "../support/harness";
import { uniquePhone } from "../support/twilio";
import { waitFor } from "../support/wait";

let h: Harness;
let fake: ReturnType<typeof startFakeTwilio>;
let server: ReturnType<typeof Bun.serve>;

beforeAll(async () => {
  // PUBLIC_URL is not this machine: the fake signs for it and posts to the app served on loopback, as `npm run dev`
  // does when PUBLIC_URL names a tunnel or a staging host.
  let appUrl = "";
  fake = startFakeTwilio({
    accountSid: TWILIO_ACCOUNT_SID, authToken: TWILIO_AUTH_TOKEN,
    lifecycle: { stepMs: 20, target: (url) => url.replace(PUBLIC_URL, appUrl) },
  });
  h = await createHarness({ TWILIO_API_URL: fake.url }, { sleep: async () => {} });
  server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (request) => h.app.handle(request) });
  appUrl = `http://127.0.0.1:${server.port}`;
});
afterAll(async () => {
  fake.close();
  server.stop(true);
  await h.close();
});

async function send(phone: string) {
  const seeded = await seedAppointment(h, { phone });
  const smsId = (await h.deps.db.transaction((tx) => queueSms(tx, {
    dedupeKey: `fake-lifecycle:${seeded.appointment.id}`, kind: "confirmation", clinic: seeded.clinic,
    patient: { ...seeded.patient, optedOut: false }, appointmentId: seeded.appointment.id,
    body: "Your appointment is confirmed.",
  })))!;
  await h.drain();
  const message = fake.messages.find((m) => m.to === phone)!;
  expect(message.status_callback).toBe(`${PUBLIC_URL}/api/v1/webhooks/twilio/sms-status`);
  // Three callbacks, each answered by the service before the next is posted.
  const answered = () => message.callbacks.length === 3 && message.callbacks.every((c) => c.answer !== 0);
  await waitFor(answered, "three callbacks");
  await h.drain();
  const [sms] = await h.deps.sql`select status, error_code, twilio_sid from sms_messages where id = ${smsId}`;
  const history = await h.deps.sql`
    select status, error_code from sms_status_events where twilio_sid = ${message.sid} order by id`;
  return { message, sms: sms!, history: history.map((r) => ({ ...r })) };
}

test("queued, sent, delivered are posted after the send, signed for PUBLIC_URL; the SMS ends delivered", async () => {
  const { message, sms, history } = await send(uniquePhone());
  expect(message.callbacks.map((c) => [c.status, c.answer]))
    .toEqual([["queued", 200], ["sent", 200], ["delivered", 200]]);
  expect(sms).toMatchObject({ status: "delivered", error_code: null, twilio_sid: message.sid });
  expect(history).toEqual([
    { status: "queued", error_code: null }, { status: "sent", error_code: null },
    { status: "delivered", error_code: null },
  ]);
  const events = await h.deps.sql`
    select status, headers from webhook_events where idempotency_key like ${`${message.sid}:%`}`;
  expect(events.map((e) => e.status)).toEqual(["processed", "processed", "processed"]);
  expect(events[0]!.headers["i-twilio-idempotency-token"]).toBeString();
});

test("a number ending in 0000 ends undelivered with ErrorCode 30003; a fetch from the REST API says so", async () => {
  const phone = `+1557${String(process.pid % 1000).padStart(3, "0")}0000`;
  const { message, sms, history } = await send(phone);
  expect(message.callbacks.map((c) => c.status)).toEqual(["queued", "sent", "undelivered"]);
  expect(sms).toMatchObject({ status: "undelivered", error_code: "30003" });
  expect(history.at(-1)).toEqual({ status: "undelivered", error_code: "30003" });

  const fetched = await h.deps.twilio!.messages(message.sid).fetch();
  expect(fetched)
    .toMatchObject({ sid: message.sid, status: "undelivered", errorCode: 30003, to: phone, numSegments: "1" });
  expect(fetched.dateSent).toBeInstanceOf(Date);
  const unknown = h.deps.twilio!.messages(`SM${"f".repeat(32)}`).fetch();
  await expect(unknown).rejects.toMatchObject({ status: 404, code: 20404 });
});
