import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Runner } from "graphile-worker";
import { runRetention } from "../../src/jobs/retention";
import { taskList } from "../../src/jobs";
import { type FakeTwilio, startFakeTwilio } from "../support/fake-twilio";
import {
  createHarness,
  type Harness,
  seedAppointment,
  TWILIO_ACCOUNT_SID,
  TWILIO_AUTH_TOKEN,
} from "../support/harness";
import { startWorker } from "../support/receiver";
import { signedStripeRequest, stripeEvent } from "../support/stripe";
import { inboundParams, postSms, uniquePhone } from "../support/twilio";
import { waitFor } from "../support/wait";

let h: Harness;
let fake: FakeTwilio;
beforeAll(async () => {
  fake = await startFakeTwilio({ accountSid: TWILIO_ACCOUNT_SID, authToken: TWILIO_AUTH_TOKEN });
  // Batches of 2, so every table takes several short statements.
  h = await createHarness(
    { TWILIO_API_URL: fake.url, RETENTION_DAYS: "30", RETENTION_BATCH_SIZE: "2" },
    { sleep: async () => {} },
  );
});
afterAll(async () => {
  await h.close();
  fake.close();
});

const rows = (q: TemplateStringsArray, ...v: any[]) => h.deps.sql(q, ...v) as Promise<any[]>;
const OLD = "31 days";
const YOUNG = "29 days";
const STRIPE_PATH = "/api/v1/webhooks/stripe/payment-events";

describe("webhook events", () => {
  test("old finished events lose body and headers, keep key, answer, outcome; young, pending stay", async () => {
    const { clinic, patient } = await seedAppointment(h, { phone: uniquePhone() });
    const oldSms = inboundParams(patient.phone, clinic.phone, "HELP");
    const youngSms = inboundParams(patient.phone, clinic.phone, "HELP");
    const first = await postSms(h, oldSms);
    expect((await postSms(h, youngSms)).status).toBe(200);
    const stripe = stripeEvent("customer.created", { id: "cus_retention" });
    const stripeRequest = await signedStripeRequest(stripe);
    expect((await h.request(STRIPE_PATH, stripeRequest)).status).toBe(200);
    await h.drain();
    // An event no job has processed yet (its job lost, say) is kept whatever its age.
    await rows`insert into webhook_events (provider, idempotency_key, headers, raw_body, response_status, response_body,
      response_content_type, status, received_at)
      values ('stripe', 'evt_still_pending', '{"content-type":"application/json"}', '{"id":"evt_still_pending"}', 200,
      '{"received":true}', 'application/json', 'pending', now() - ${OLD}::interval)`;
    await rows`update webhook_events set received_at = now() - ${OLD}::interval
      where idempotency_key in (${oldSms.MessageSid!}, ${stripe.id})`;
    await rows`update webhook_events set received_at = now() - ${YOUNG}::interval
      where idempotency_key = ${youngSms.MessageSid!}`;
    const messagesBefore = await rows`select id from messages`;

    // What the daily cron does: one retention job, run by the worker.
    await rows`select graphile_worker.add_job('retention', '{}'::json)`;
    await h.drain();

    const events =
      await rows`select idempotency_key, raw_body, headers, status, response_status, response_body, purged_at
      from webhook_events order by id`;
    const byKey = new Map(events.map((e) => [e.idempotency_key, e]));
    for (const key of [oldSms.MessageSid!, stripe.id]) {
      expect(byKey.get(key)).toMatchObject({
        raw_body: "",
        headers: {},
        status: key === stripe.id ? "ignored" : "processed",
      });
      expect(byKey.get(key).purged_at).not.toBeNull();
    }
    expect(byKey.get(oldSms.MessageSid!).response_body).toBe(first.twiml);
    expect(byKey.get(youngSms.MessageSid!).raw_body).toContain("Body=HELP");
    expect(byKey.get(youngSms.MessageSid!).purged_at).toBeNull();
    expect(byKey.get("evt_still_pending")).toMatchObject({ raw_body: '{"id":"evt_still_pending"}', purged_at: null });

    // Twilio and Stripe retry for days: a duplicate after retention is still recognised and gets the first answer.
    const again = await postSms(h, oldSms);
    expect({ status: again.status, twiml: again.twiml }).toEqual({ status: 200, twiml: first.twiml });
    const stripeAgain = await h.request(STRIPE_PATH, await signedStripeRequest(stripe));
    expect(stripeAgain.status).toBe(200);
    expect(await stripeAgain.json()).toEqual({ received: true });
    await h.drain();
    expect(
      await rows`select id from webhook_events where idempotency_key in (${oldSms.MessageSid!}, ${stripe.id})`,
    ).toHaveLength(2);
    expect(await rows`select id from messages`).toHaveLength(messagesBefore.length);

    const [purged] = await rows`select id from webhook_events where idempotency_key = ${stripe.id}`;
    const shown = (await (await h.api("GET", `/v1/webhook-events/${purged.id}`)).json()) as any;
    expect(shown).toMatchObject({ raw_body: "", headers: {}, status: "ignored" });
    expect(shown.purged_at).toEqual(expect.any(String));
    const replay = await h.api("POST", `/v1/webhook-events/${purged.id}/replay`);
    expect(replay.status).toBe(409);
    expect(((await replay.json()) as any).error.code).toBe("purged");
  });
});

describe("the other tables", () => {
  let runner: Runner;
  beforeAll(async () => {
    runner = await startWorker(h.deps);
  });
  afterAll(() => runner.stop());

  test("old attempt bodies, status payloads, email bodies go; spent limit, slot, queue rows are removed", async () => {
    const [endpoint] =
      await rows`insert into webhook_endpoints (url, secret) values ('https://hooks.example.test/a', 'whsec_x')
      returning id`;
    const [delivery] = await rows`insert into deliveries (endpoint_id, event_type, dedupe_key, webhook_id, body)
      values (${endpoint.id}, 'message.created', 'retention-test', 'msg_retention', '{}') returning id`;
    await rows`insert into delivery_attempts (delivery_id, attempt, started_at, duration_ms, status_code, response_body)
      select ${delivery.id}, n, now() - ${OLD}::interval, 5, 500, 'old answer ' || n from generate_series(1, 3) n`;
    await rows`insert into delivery_attempts (delivery_id, attempt, started_at, duration_ms, status_code, response_body)
      values (${delivery.id}, 4, now() - ${YOUNG}::interval, 5, 200, 'young answer')`;

    // SMS A: all callbacks old; B: old `sent`, young `delivered`; C: young only.
    const history = (sid: string, status: string, age: string) => rows`insert into sms_status_events
      (twilio_sid, status, payload, received_at) values (${sid}, ${status},
      ${JSON.stringify({ To: "+15551234567", MessageStatus: status })}::jsonb, now() - ${age}::interval)`;
    for (const status of ["queued", "sent", "delivered", "sent"]) await history("SMa", status, OLD);
    await history("SMb", "sent", OLD);
    await history("SMb", "delivered", YOUNG);
    await history("SMc", "sent", YOUNG);

    const email = (key: string, status: string, age: string) => rows`insert into email_outbox
      (dedupe_key, kind, "to", subject, body, status, created_at) values (${key}, 'test', 'ada@patient.test', 'Hello',
      ${`body of ${key}`}, ${status}, now() - ${age}::interval)`;
    await email("old-sent", "sent", OLD);
    await email("old-logged", "logged", OLD);
    await email("old-failed", "failed", OLD);
    await email("old-pending", "pending", OLD);
    await email("young-sent", "sent", YOUNG);

    await rows`insert into api_rate_limits (key_hash, window_start, count) values
      ('k1', now() - interval '2 hours', 5), ('k1', date_trunc('minute', now()), 1)`;
    await rows`insert into outbound_slots (endpoint_id, delivery_id, started_at, expires_at, released_at) values
      (${endpoint.id}, ${delivery.id}, now() - interval '10 minutes', now() - interval '9 minutes',
        now() - interval '10 minutes'),
      (${endpoint.id}, ${delivery.id}, now() - interval '10 seconds', now() + interval '1 minute', now()),
      (${endpoint.id}, ${delivery.id}, now() - interval '10 minutes', now() + interval '1 minute', null)`;

    // A queue and a task identifier no job refers to any more, and one of our own identifiers without jobs.
    await rows`select graphile_worker.add_job('retired-task', '{}'::json, queue_name := 'retired-queue',
      job_key := 'retired')`;
    await rows`select graphile_worker.remove_job('retired')`;
    await rows`select graphile_worker.add_job('expire-hold', '{}'::json, job_key := 'kept-identifier')`;
    await rows`select graphile_worker.remove_job('kept-identifier')`;
    // Jobs that used up their attempts: an old one and a recent one.
    for (const [key, age] of [
      ["failed-old", OLD],
      ["failed-young", "1 hour"],
    ] as const) {
      await rows`select graphile_worker.add_job('retired-task', '{}'::json, job_key := ${key}, max_attempts := 1,
        run_at := now() + interval '1 day')`;
      await rows`update graphile_worker._private_jobs
        set attempts = 1, key = null, updated_at = now() - ${age}::interval
        where key = ${key}`;
    }

    const changed = await runRetention(h.deps, { taskIdentifiers: Object.keys(taskList(h.deps)) });

    expect(await rows`select attempt, response_body from delivery_attempts order by attempt`).toEqual([
      { attempt: 1, response_body: null },
      { attempt: 2, response_body: null },
      { attempt: 3, response_body: null },
      { attempt: 4, response_body: "young answer" },
    ]);
    const kept =
      await rows`select twilio_sid, status, payload is not null as has_payload from sms_status_events order by id`;
    expect(kept).toEqual([
      { twilio_sid: "SMa", status: "delivered", has_payload: false },
      { twilio_sid: "SMb", status: "delivered", has_payload: true },
      { twilio_sid: "SMc", status: "sent", has_payload: true },
    ]);
    const emails = await rows`select dedupe_key, body, purged_at is not null as purged from email_outbox
      where kind = 'test' order by dedupe_key`;
    expect(emails).toEqual([
      { dedupe_key: "old-failed", body: "", purged: true },
      { dedupe_key: "old-logged", body: "", purged: true },
      { dedupe_key: "old-pending", body: "body of old-pending", purged: false },
      { dedupe_key: "old-sent", body: "", purged: true },
      { dedupe_key: "young-sent", body: "body of young-sent", purged: false },
    ]);
    expect(await rows`select key_hash from api_rate_limits where key_hash = 'k1'`).toHaveLength(1);
    // Only the slot that is both released and out of the rate window is spent; the unreleased one is in flight.
    expect(await rows`select released_at is null as in_flight from outbound_slots order by id`).toEqual([
      { in_flight: false },
      { in_flight: true },
    ]);
    expect(
      await rows`select 1 from graphile_worker._private_job_queues where queue_name = 'retired-queue'`,
    ).toHaveLength(0);
    expect(
      await rows`select identifier from graphile_worker._private_tasks where identifier = 'expire-hold'`,
    ).toHaveLength(1);
    const retired =
      await rows`select j.updated_at > now() - interval '1 day' as young from graphile_worker._private_jobs j
      join graphile_worker._private_tasks t on t.id = j.task_id where t.identifier = 'retired-task'`;
    expect(retired).toEqual([{ young: true }]);

    expect(changed).toMatchObject({
      "delivery_attempts cleared": 3,
      "sms_status_events deleted": 4,
      "sms_status_events cleared": 1,
      "email_outbox cleared": 3,
      "api_rate_limits deleted": 1,
      "outbound_slots deleted": 1,
      "graphile_worker.jobs deleted": 1,
      "graphile_worker.job_queues deleted": 1,
    });
    const metric = await h.deps.metrics.retentionRows.get();
    const value = (table: string, action: string) =>
      metric.values.find((v) => v.labels.table === table && v.labels.action === action)?.value;
    expect(value("email_outbox", "cleared")).toBe(3);
    expect(value("sms_status_events", "deleted")).toBe(4);

    // A worker that was running all along still picks up new work: its cached task identifiers were kept.
    const event = stripeEvent("customer.created", { id: "cus_after_retention" });
    expect((await h.request(STRIPE_PATH, await signedStripeRequest(event))).status).toBe(200);
    await waitFor(
      async () =>
        (await rows`select status from webhook_events where idempotency_key = ${event.id}`)[0]?.status === "ignored",
      "the running worker processed an event after retention",
    );
  });
});
