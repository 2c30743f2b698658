import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import type { Tx } from "../../src/db";
import { StorageError } from "../../src/errors";
import { ingest, type IngestInput, writeIngestBatch } from "../../src/ingest/ingest";
import { createHarness, type Harness, seedAppointment } from "../support/harness";
import { signedStripeRequest, stripeEvent } from "../support/stripe";
import { inboundParams, messageSid, postSms, signedTwilioRequest, uniquePhone } from "../support/twilio";

// A batch is written when BATCH requests wait (or after a long wait nobody reaches): every test sends
// exactly BATCH at once, so that they share one commit without depending on timing.
const BATCH = 8;
const STRIPE = "/api/v1/webhooks/stripe/payment-events";
const STATUS = "/api/v1/webhooks/twilio/sms-status";
let h: Harness;

beforeAll(async () => {
  h = await createHarness(
    { INGEST_BATCH_MAX: String(BATCH), INGEST_BATCH_WAIT_MS: "1000", INGEST_BATCH_IN_FLIGHT: "1" },
  );
  // Two failures a real database can produce: a row refused by a check (here a trigger on one body), and a
  // transaction refused at COMMIT (a deferred constraint trigger, switched on by a row in test_fail_commits).
  await h.deps.sql.unsafe(`
    create function test_refuse_poison() returns trigger language plpgsql as $$
    begin if new.raw_body like '%poison%' then raise exception 'poisoned row'; end if; return new; end $$;
    create trigger test_refuse_poison before insert on webhook_events for each row
      execute function test_refuse_poison();
    create table test_fail_commits (on_ boolean);
    create function test_fail_commit() returns trigger language plpgsql as $$
    begin if exists (select 1 from test_fail_commits) then raise exception 'commit refused'; end if; return null;
      end $$;
    create constraint trigger test_fail_commit after insert on webhook_events deferrable initially deferred
      for each row execute function test_fail_commit();
  `);
});
afterAll(() => h.close());

const input = (key: string, extra: Partial<IngestInput> = {}): IngestInput => ({
  provider: "stripe", key, headers: new Headers({ "stripe-signature": "t=1,v1=x" }),
  rawBody: JSON.stringify({ id: key }),
  answer: { status: 200, body: '{"received":true}', contentType: "application/json" }, receivedAt: performance.now(),
  ...extra,
});
/** Whether job `j` processes event `e`: a `{eventId}` job or a batch job listing it. */
const holds = (j: string, e: string) => `(${j}.payload->>'eventId' = ${e}.id::text
  or ${j}.payload::jsonb @> jsonb_build_array(jsonb_build_object('eventId', ${e}.id)))`;
/** The transaction (xmin) that wrote each event, and the one that wrote its job. */
const writers = async (keys: string[]) => h.deps.sql`
  select e.idempotency_key as key, e.xmin::text as event_tx, j.xmin::text as job_tx, (select count(*)::int
    from graphile_worker._private_jobs j2
    where ${h.deps.sql.unsafe(holds("j2", "e"))}) as jobs
  from webhook_events e left join graphile_worker._private_jobs j on ${h.deps.sql.unsafe(holds("j", "e"))}
  where e.idempotency_key = any(${keys})`;
const statusCallback = (sid: string, body = "") => ({
  MessageSid: sid, MessageStatus: "delivered", AccountSid: `AC${"0".repeat(32)}`, From: "+15551230000",
  To: "+15557654321", Body: body,
});

describe("concurrent webhooks share one commit", () => {
  test("new, duplicate in the batch and duplicate of an earlier delivery each get their own outcome", async () => {
    const [earlier] = await writeIngestBatch(h.deps, [input("evt_gc_earlier")]);
    expect(earlier).toMatchObject({ ok: true, value: { duplicate: false } });
    const before = { ...h.deps.ingestBatcher.stats };
    const keys = [
      "evt_gc_1", "evt_gc_2", "evt_gc_3", "evt_gc_4", "evt_gc_5", "evt_gc_twice", "evt_gc_twice", "evt_gc_earlier",
    ];
    const results = await Promise.all(keys.map((key) => ingest(h.deps, input(key))));

    expect(h.deps.ingestBatcher.stats.batches).toBe(before.batches + 1);
    expect(results.map((r) => r.duplicate)).toEqual([false, false, false, false, false, false, true, true]);
    expect(results[6]!.eventId).toBe(results[5]!.eventId);
    expect(results[7]!.eventId).toBe((earlier as { value: { eventId: number } }).value.eventId);
    expect(new Set(results.slice(0, 6).map((r) => r.eventId)).size).toBe(6);

    const rows = await writers(keys);
    expect(rows).toHaveLength(7);
    const fresh = rows.filter((r) => r.key !== "evt_gc_earlier");
    // One transaction wrote the six new events and their six jobs; each event has exactly one job.
    expect(new Set(fresh.flatMap((r) => [r.event_tx, r.job_tx])).size).toBe(1);
    expect(rows.every((r) => r.jobs === 1)).toBe(true);
    expect(rows.find((r) => r.key === "evt_gc_earlier")!.event_tx).not.toBe(fresh[0]!.event_tx);
  });

  test("signed Stripe requests sent together are stored in one transaction and all answered received", async () => {
    const events = Array.from({ length: BATCH }, (_, i) => stripeEvent("customer.updated", { id: `cus_${i}` }));
    const responses = await Promise.all(events.map(async (e) => h.request(STRIPE, await signedStripeRequest(e))));
    expect(responses.map((r) => r.status)).toEqual(Array(BATCH).fill(200));
    expect(await Promise.all(responses.map((r) => r.json()))).toEqual(Array(BATCH).fill({ received: true }));
    const rows = await writers(events.map((e) => e.id));
    expect(rows).toHaveLength(BATCH);
    expect(new Set(rows.map((r) => r.event_tx)).size).toBe(1);
  });
});

describe("failures", () => {
  test("one row the database refuses fails alone; the rest of its batch is stored and answered", async () => {
    const sids = Array.from({ length: BATCH }, () => messageSid());
    const responses = await Promise.all(sids.map((sid, i) =>
      h.request(STATUS, signedTwilioRequest(STATUS, statusCallback(sid, i === 3 ? "poison" : "ok")))));
    expect(responses.map((r) => r.status)).toEqual(sids.map((_, i) => (i === 3 ? 500 : 200)));
    expect(await responses[3]!.json()).toEqual({ error: "storage_unavailable" });
    const rows = await writers(sids.map((sid) => `${sid}:delivered`));
    expect(rows.map((r) => r.key).sort())
      .toEqual(sids.filter((_, i) => i !== 3).map((sid) => `${sid}:delivered`).sort());
    expect(rows.every((r) => r.jobs === 1)).toBe(true);
  });

  test("a batch whose commit fails answers 5xx to every member and stores nothing; "
    + "the retries are stored once", async () => {
    const events = Array.from({ length: BATCH }, (_, i) => stripeEvent("customer.updated", { id: `cus_f${i}` }));
    const keys = events.map((e) => e.id);
    const split = h.deps.ingestBatcher.stats.split;
    await h.deps.sql`insert into test_fail_commits values (true)`;
    const refused = await Promise.all(events.map(async (e) => h.request(STRIPE, await signedStripeRequest(e))));
    expect(refused.map((r) => r.status)).toEqual(Array(BATCH).fill(500));
    // Each member was tried again on its own before being refused.
    expect(h.deps.ingestBatcher.stats.split).toBe(split + BATCH);
    expect(await writers(keys)).toHaveLength(0);
    const jobs = await h.deps.sql`select count(*)::int as n from graphile_worker._private_jobs j
      where not exists (select 1 from webhook_events e where ${h.deps.sql.unsafe(holds("j", "e"))})`;
    expect(jobs[0]!.n).toBe(0);

    await h.deps.sql`delete from test_fail_commits`;
    const retried = await Promise.all(events.map(async (e) => h.request(STRIPE, await signedStripeRequest(e))));
    expect(retried.map((r) => r.status)).toEqual(Array(BATCH).fill(200));
    const rows = await writers(keys);
    expect(rows).toHaveLength(BATCH);
    expect(rows.every((r) => r.jobs === 1)).toBe(true);
  });

  test("a deciding answer that throws fails only its own delivery (its writes "
    + "rolled back to a savepoint)", async () => {
    const deciding = (fail: boolean) => async (tx: Tx, eventId: number) => {
      await tx.execute(sql`update webhook_events set last_error = 'decided' where id = ${eventId}`);
      if (fail) throw new Error("decision failed");
      return { status: 200, body: `decided ${eventId}`, contentType: "text/plain" };
    };
    const keys = Array.from({ length: BATCH }, (_, i) => `evt_gc_decide_${i}`);
    const settled = await Promise.allSettled(
      keys.map((key, i) => ingest(h.deps, input(key, { answer: deciding(i === 2) }))),
    );
    expect(settled.map((s) => s.status)).toEqual(keys.map((_, i) => (i === 2 ? "rejected" : "fulfilled")));
    expect((settled[2] as PromiseRejectedResult).reason).toBeInstanceOf(StorageError);
    const rows = await h.deps.sql`select idempotency_key as key, response_body from webhook_events
      where idempotency_key = any(${keys}) order by id`;
    expect(rows.map((r) => r.key)).toEqual(keys.filter((_, i) => i !== 2));
    expect(rows.every((r) => r.response_body.startsWith("decided "))).toBe(true);
    // Rows written in a savepoint carry its subtransaction id; the jobs, added once at the end, show the one commit.
    expect(new Set((await writers(keys)).map((r) => r.job_tx)).size).toBe(1);
  });
});

describe("the SMS endpoint decides its answer inside the shared transaction", () => {
  test("answers are the same as one by one, "
    + "and the loop guard counts the replies decided earlier in the batch", async () => {
    const { clinic } = await seedAppointment(h, { phone: uniquePhone() });
    const chatty = uniquePhone();
    await h.api("POST", "/v1/patients", { clinic_id: clinic.id, name: "Chatty", phone: chatty });
    const stranger = uniquePhone();
    const params = [
      ...Array.from({ length: 6 }, (_, i) => inboundParams(chatty, clinic.phone, i === 0 ? "HELP" : `hello ${i}`)),
      inboundParams(stranger, clinic.phone, "CONFIRM"),
    ];
    params.push({ ...params[1]! }); // Twilio retrying one of them while the first is in the same batch.
    const answers = await Promise.all(params.map((p) => postSms(h, p)));
    const said = (t: string) => `<Response><Message>${t}</Message></Response>`;
    const autoReply = said("Thank you for your message. We will respond shortly.");
    expect(answers.map((a) => a.status)).toEqual(Array(BATCH).fill(200));
    expect(answers[0]!.twiml).toStartWith("<Response><Message>Harbor Dental: for help call");
    expect(answers.slice(1, 5).map((a) => a.twiml)).toEqual(Array(4).fill(autoReply));
    expect(answers[5]!.twiml).toBe("<Response/>"); // the sixth automatic reply in ten minutes is held back
    expect(answers[6]!.twiml).toBe(said("We don't recognize this phone number. Please contact our office directly."));
    expect(answers[7]!.twiml).toBe(answers[1]!.twiml);
    const rows = await writers(params.map((p) => p.MessageSid!));
    expect(rows).toHaveLength(7);
    expect(rows.every((r) => r.jobs === 1)).toBe(true);
    expect(new Set(rows.map((r) => r.job_tx)).size).toBe(1);
  });
});
