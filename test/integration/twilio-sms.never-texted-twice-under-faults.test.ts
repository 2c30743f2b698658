import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { run } from "graphile-worker";
import { quietLogger } from "../../src/db";
import { queueSms } from "../../src/effects/sms";
import { sendSmsTask } from "../../src/jobs/send-sms";
import { enqueue } from "../../src/queue";
import { type FakeTwilio, startFakeTwilio } from "../support/fake-twilio";
import {
  createHarness, type Harness, seedAppointment, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN,
} from "../support/harness";
import { inboundParams, postSms, uniquePhone } from "../support/twilio";
import { waitFor } from "../support/wait";

// Each scenario is a way production fails between us and Twilio. Whatever the faults, one SMS row is at most one
// message on Twilio; a row that may be on Twilio is looked up, never sent blind, and never reported as failed.
let h: Harness;
let fake: FakeTwilio;
beforeAll(async () => {
  fake = await startFakeTwilio({ accountSid: TWILIO_ACCOUNT_SID, authToken: TWILIO_AUTH_TOKEN });
  h = await createHarness({ TWILIO_API_URL: fake.url, TWILIO_TIMEOUT_MS: "400" }, { sleep: async () => {} });
});
afterAll(async () => {
  await h.close();
  fake.close();
});

const rows = (q: TemplateStringsArray, ...v: any[]) => h.deps.sql(q, ...v) as Promise<any[]>;
const sentTo = (phone: string) => fake.messages.filter((m) => m.to === phone);
const smsRow = async (id: string) => (await rows`select * from sms_messages where id = ${id}`)[0];
const jobOf = async (id: string) =>
  (await rows`select attempts, max_attempts from graphile_worker.jobs where key = ${`sms:${id}`}`)[0];
const optOut = (patientId: string) =>
  rows`update patients set opted_out = true, opted_out_at = now(), opt_out_type = 'STOP' where id = ${patientId}`;
const unavailable = { status: 503, code: 20503, message: "Service Unavailable" };
const tooMany = { status: 429, code: 20429, message: "Too Many Requests" };
const serverError = { status: 500, code: 20500, message: "Internal Server Error" };

async function queue() {
  const seeded = await seedAppointment(h, { phone: uniquePhone() });
  const { clinic, patient } = seeded;
  const id = await queueSms(h.deps.db, {
    dedupeKey: `faults:${patient.id}`, kind: "reminder", clinic, patient: { ...patient, optedOut: false },
    body: "Reminder: your appointment is tomorrow at 10:00 AM.",
  });
  return { ...seeded, id: id! };
}

/** The next attempt of every waiting send-sms job, now. */
async function nextAttempt() {
  await h.retryNow("send-sms");
  await h.drain();
}

describe("an attempt that may have reached Twilio", () => {
  test("issue's scenario: timeout after Twilio took the reply, look-ups failing 503 then 429: one text", async () => {
    const { clinic, patient } = await seedAppointment(h, { phone: uniquePhone() });
    fake.delay(1500);
    fake.failList(unavailable);
    fake.failList(tooMany);
    const { sid } = await postSms(h, inboundParams(patient.phone, clinic.phone, "CONFIRM"));
    await h.drain();
    const [{ id }] = await rows`select id from sms_messages where dedupe_key = ${`reply:${sid}`}`;
    expect((await smsRow(id)).status).toBe("unknown");
    const lookUps = fake.lists;
    await nextAttempt();
    expect((await smsRow(id)).status).toBe("unknown");
    await nextAttempt();
    expect((await smsRow(id)).status).toBe("unknown");
    await nextAttempt();
    const sent = sentTo(patient.phone);
    expect(sent).toHaveLength(1);
    expect(await smsRow(id)).toMatchObject({ status: "queued", twilio_sid: sent[0]!.sid, attempts: 4 });
    // Attempts 2 to 4 each looked up; none sent.
    expect(fake.lists - lookUps).toBe(3);
    expect(fake.creates.filter((p) => p.To === patient.phone)).toHaveLength(1);
  });

  test("Twilio answers 500 after creating the message: the retry finds it instead of sending again", async () => {
    const { id, patient } = await queue();
    fake.failAfterCreate(serverError);
    await h.drain();
    expect(await smsRow(id)).toMatchObject({ status: "unknown", error_code: "20500", twilio_sid: null });
    fake.failList(serverError);
    await nextAttempt();
    expect((await smsRow(id)).status).toBe("unknown");
    await nextAttempt();
    const sent = sentTo(patient.phone);
    expect(sent).toHaveLength(1);
    expect(await smsRow(id)).toMatchObject({ status: "queued", twilio_sid: sent[0]!.sid, error_code: null });
  });

  test("a look-up that finds nothing sends, once", async () => {
    const { id, patient } = await queue();
    fake.fail(serverError);
    await h.drain();
    expect((await smsRow(id)).status).toBe("unknown");
    await nextAttempt();
    expect(sentTo(patient.phone)).toHaveLength(1);
    expect(fake.creates.filter((p) => p.To === patient.phone)).toHaveLength(2);
    expect((await smsRow(id)).status).toBe("queued");
  });

  test("the patient opts out meanwhile: the SMS is still looked up, and recorded as sent, not as skipped", async () => {
    const { id, patient } = await queue();
    fake.delay(1500);
    await h.drain();
    await optOut(patient.id);
    await nextAttempt();
    const sent = sentTo(patient.phone);
    expect(sent).toHaveLength(1);
    expect(await smsRow(id)).toMatchObject({ status: "queued", twilio_sid: sent[0]!.sid });
  });

  test("the patient opts out meanwhile and the look-up finds nothing: not sent, recorded as skipped", async () => {
    const { id, patient } = await queue();
    fake.fail(serverError);
    await h.drain();
    await optOut(patient.id);
    await nextAttempt();
    expect(sentTo(patient.phone)).toHaveLength(0);
    expect((await smsRow(id)).status).toBe("skipped_opted_out");
    expect(await jobOf(id)).toBeUndefined();
  });
});

describe("Twilio's own `sending` is not our claim", () => {
  test("a send job run again after the sid was stored, while Twilio reports `sending`, sends nothing", async () => {
    const { id, patient } = await queue();
    fake.answerStatus("sending");
    await h.drain();
    const [first] = sentTo(patient.phone);
    expect(await smsRow(id)).toMatchObject({ status: "sending", twilio_sid: first!.sid });
    // As when the worker died after recording the sid but before graphile-worker recorded the job as done.
    await enqueue(h.deps.db, "send-sms", { smsId: id }, { jobKey: `sms:${id}` });
    await h.drain();
    expect(sentTo(patient.phone)).toHaveLength(1);
    expect(await smsRow(id)).toMatchObject({ status: "sending", twilio_sid: first!.sid, attempts: 1 });
  });
});

describe("two jobs for one SMS", () => {
  test("a second job while the first is still calling Twilio leaves the row alone: one text", async () => {
    const { id, patient } = await queue();
    fake.hangBeforeCreate();
    const runner = await run({
      connectionString: h.deps.databaseUrl, taskList: { "send-sms": sendSmsTask(h.deps) },
      concurrency: 2, noHandleSignals: true, pollInterval: 20, logger: quietLogger,
    });
    const againKey = `sms-again:${id}`;
    try {
      await waitFor(() => fake.hanging === 1, "the first send to reach Twilio");
      // As when the same SMS is queued again (a replay; a job a crashed worker left behind, run twice).
      await enqueue(h.deps.db, "send-sms", { smsId: id }, { jobKey: againKey });
      await waitFor(async () => (await rows`select 1 from graphile_worker.jobs
        where key = ${againKey} and (attempts = 0 or locked_at is not null)`).length === 0, "the second job to run");
      expect(sentTo(patient.phone)).toHaveLength(0);
    } finally {
      fake.release();
      await runner.stop();
    }
    await nextAttempt();
    const sent = sentTo(patient.phone);
    expect(sent).toHaveLength(1);
    expect(await smsRow(id)).toMatchObject({ status: "queued", twilio_sid: sent[0]!.sid, claimed_by: null });
  });
});

describe("the last attempt", () => {
  const emailsAbout = (id: string) =>
    rows`select kind, "to" from email_outbox where dedupe_key like ${`%${id}`} order by kind`;

  test("still unknown: recorded as unconfirmed and support is told; no 'could not text you' email", async () => {
    const { id, patient } = await queue();
    await rows`update graphile_worker._private_jobs set max_attempts = 2 where key = ${`sms:${id}`}`;
    fake.delay(1500);
    await h.drain();
    fake.failList(unavailable);
    await nextAttempt();
    const row = await smsRow(id);
    expect(row.status).toBe("unconfirmed");
    expect(row.fallback_status).toBeNull();
    expect(row.error_message).toContain("Service Unavailable");
    expect(await emailsAbout(id)).toEqual([{ kind: "sms_unconfirmed_alert", to: "support@switchboard.test" }]);
    expect(await rows`select 1 from clinic_events where dedupe_key = ${`sms-failed:${id}`}`).toHaveLength(0);
    expect(await jobOf(id)).toBeUndefined();
    expect(sentTo(patient.phone)).toHaveLength(1);
    const alerted = (l: string) => l.includes("sms may have been sent; Twilio could not confirm it") && l.includes(id);
    expect(h.logs.some(alerted)).toBe(true);
  });

  test("known not sent (429): failed, with the email fallback and the alert", async () => {
    const { id, patient } = await queue();
    await rows`update graphile_worker._private_jobs set max_attempts = 1 where key = ${`sms:${id}`}`;
    fake.fail(tooMany);
    await h.drain();
    expect(await smsRow(id)).toMatchObject({ status: "failed", error_code: "20429", fallback_status: "email_queued" });
    expect(await emailsAbout(id)).toEqual([
      { kind: "sms_failed_alert", to: "support@switchboard.test" }, { kind: "sms_fallback", to: patient.email },
    ]);
  });
});
