import { afterAll, beforeAll, expect, test } from "bun:test";
import { getSms } from "../../src/console/queries/people";
import { queueSmsSet, SEND_BATCH, type SmsInput } from "../../src/effects/sms";
import { type FakeTwilio, startFakeTwilio } from "../support/fake-twilio";
import {
  createHarness, type Harness, seedAppointment, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN,
} from "../support/harness";
import { uniquePhone } from "../support/twilio";

// A set of payments queues its confirmation SMS in one statement, with ONE send job holding them all
// (`[{smsId}, ...]`). Each entry must be sent as a job of its own would send it: once, looked up when it may be on
// Twilio, and retried alone when it failed, without sending the others again.
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

/** `n` confirmations for patients of different clinics, queued as one set; their rows by patient phone. */
async function queueSet(n: number, optedOut = new Set<number>()) {
  const list: SmsInput[] = [];
  for (let i = 0; i < n; i++) {
    const { clinic, patient, appointment } = await seedAppointment(h, { phone: uniquePhone() });
    list.push({
      dedupeKey: `batch-test:${appointment.id}`, kind: "confirmation", clinic,
      patient: { ...patient, optedOut: optedOut.has(i) }, appointmentId: appointment.id,
      body: `Your appointment is confirmed (${i}).`,
    });
  }
  await queueSmsSet(h.deps.db, list);
  const phones = list.map((sms) => sms.patient.phone);
  const sms = await rows`select id, "to", status, twilio_sid, attempts from sms_messages
    where "to" = any(${phones}::text[]) order by body`;
  return { phones, sms };
}
// graphile-worker's public `jobs` view leaves the payload out.
const jobsFor = (ids: string[]) => rows`select j.id::text, j.payload, j.attempts, j.run_at
  from graphile_worker._private_jobs j
  join graphile_worker._private_tasks t on t.id = j.task_id
  where t.identifier = 'send-sms' and json_typeof(j.payload) = 'array' and exists (
    select 1 from json_array_elements(j.payload) e where e->>'smsId' = any(${ids}::text[]))`;

test("one job sends every SMS of the set once; an opted-out patient's gets no entry", async () => {
  const { phones, sms } = await queueSet(4, new Set([2]));
  const jobs = await jobsFor(sms.map((s) => s.id));
  expect(jobs).toHaveLength(1);
  const pending = sms.filter((s) => s.status === "pending").map((s) => s.id).sort();
  expect(jobs[0]!.payload.map((e: { smsId: string }) => e.smsId).sort()).toEqual(pending);
  expect(pending).toHaveLength(3);

  await h.drain();
  for (const [i, phone] of phones.entries()) expect(sentTo(phone)).toHaveLength(i === 2 ? 0 : 1);
  const after = await rows`select "to", status, twilio_sid from sms_messages where id = any(${sms.map((s) => s.id)})`;
  for (const row of after) {
    if (row.to === phones[2]) expect(row).toMatchObject({ status: "skipped_opted_out", twilio_sid: null });
    else expect(row).toMatchObject({ status: "queued", twilio_sid: sentTo(row.to)[0]!.sid });
  }
  expect(await jobsFor(sms.map((s) => s.id))).toEqual([]);
});

test("entries that fail are retried alone, in the same job after its backoff: none is sent twice", async () => {
  const { phones, sms } = await queueSet(3);
  const serverError = { status: 500, code: 20500, message: "Internal Server Error" };
  const tooMany = { status: 429, code: 20429, message: "Too Many Requests" };
  // Two of the three creates fail: one after Twilio took the message (it may be out), one refused with 429.
  fake.failAfterCreate(serverError);
  fake.fail(tooMany);
  await h.drain();

  const after = await rows`select id, "to", status, twilio_sid, error_code from sms_messages
    where id = any(${sms.map((s) => s.id)}) order by status`;
  expect(after.map((r) => [r.status, r.error_code])).toEqual(
    [["pending", "20429"], ["queued", null], ["unknown", "20500"]]);
  const failed = after.filter((r) => r.status !== "queued");
  const jobs = await jobsFor(sms.map((s) => s.id));
  expect(jobs).toHaveLength(1);
  expect(jobs[0]!.attempts).toBe(1);
  expect(new Date(jobs[0]!.run_at).getTime()).toBeGreaterThan(Date.now());
  expect(jobs[0]!.payload.map((e: { smsId: string }) => e.smsId).sort()).toEqual(failed.map((r) => r.id).sort());
  // The console's SMS page shows the batch job's next attempt for each waiting SMS, and none for the one sent.
  for (const row of after) {
    const job = (await getSms(h.deps.db, row.id))!.job;
    if (row.status === "queued") expect(job).toBeUndefined();
    else expect(job).toMatchObject({ attempts: 1, last_error: null });
  }

  await h.retryNow("send-sms");
  await h.drain();
  for (const phone of phones) expect(sentTo(phone)).toHaveLength(1);
  const final = await rows`select "to", status, twilio_sid from sms_messages where id = any(${sms.map((s) => s.id)})`;
  for (const row of final) expect(row).toMatchObject({ status: "queued", twilio_sid: sentTo(row.to)[0]!.sid });
  expect(await jobsFor(sms.map((s) => s.id))).toEqual([]);
});

test(`a larger set is split into send jobs of at most ${SEND_BATCH}, each SMS in exactly one`, async () => {
  const { clinic, patient } = await seedAppointment(h, { phone: uniquePhone() });
  const count = SEND_BATCH * 2 + 1;
  const list: SmsInput[] = Array.from({ length: count }, (_, i) => ({
    dedupeKey: `batch-split:${patient.id}:${i}`, kind: "reminder", clinic, patient: { ...patient, optedOut: false },
    body: `Reminder ${i}`,
  }));
  await queueSmsSet(h.deps.db, list);
  const ids = (await rows`select id from sms_messages where dedupe_key like ${`batch-split:${patient.id}:%`}`)
    .map((r) => r.id as string);
  expect(ids).toHaveLength(count);
  const jobs = await jobsFor(ids);
  expect(jobs.map((j) => j.payload.length).sort((a, b) => a - b)).toEqual([1, SEND_BATCH, SEND_BATCH]);
  expect(jobs.flatMap((j) => j.payload.map((e: { smsId: string }) => e.smsId)).sort()).toEqual([...ids].sort());
});

/** Which top-level transaction wrote each status of these SMS (a trigger, as in process-webhook.batch-jobs). */
async function recordingWrites(run: () => Promise<void>) {
  await h.deps.sql.unsafe(`
    create table if not exists test_sms_writes (sms_id uuid, txid bigint, status text);
    create or replace function test_sms_write() returns trigger language plpgsql as $$
    begin insert into test_sms_writes values (new.id, txid_current(), new.status); return null; end $$;
    create or replace trigger test_sms_write after update on sms_messages
      for each row execute function test_sms_write();
    truncate test_sms_writes;
  `);
  try {
    await run();
  } finally {
    await h.deps.sql.unsafe("drop trigger test_sms_write on sms_messages");
  }
  return rows`select sms_id::text, txid::text, status from test_sms_writes`;
}

/** Runs `body` with no Twilio client configured (a development install, the benchmark), then puts it back. */
async function withoutTwilio(body: () => Promise<void>) {
  const deps = h.deps as { twilio?: unknown };
  const client = deps.twilio;
  deps.twilio = undefined;
  try {
    await body();
  } finally {
    deps.twilio = client;
  }
}

test("without Twilio, a batch job records its SMS in one transaction: logged, opted out, or left unknown", () =>
  withoutTwilio(async () => {
    const { phones, sms } = await queueSet(6, new Set([1]));
    // The patient opts out after the set was queued: the claim sees it. An SMS an earlier run with Twilio may have
    // sent (`unknown`) cannot be looked up: it stays as it is. One is claimed by another job still running.
    await rows`update patients set opted_out = true where phone = ${phones[3]!}`;
    await rows`update sms_messages set status = 'unknown' where "to" = ${phones[4]!}`;
    const [other] = await rows`select (graphile_worker.add_job('send-sms', '{}'::json)).id`;
    await rows`update graphile_worker._private_jobs set locked_at = now(), locked_by = 'test' where id = ${other!.id}`;
    const busy = sms.find((row) => row.to === phones[5])!.id as string;
    await rows`update sms_messages set claimed_by = ${String(other!.id)} where id = ${busy}`;
    const ours = new Set(sms.map((s) => s.id));
    const writes = (await recordingWrites(() => h.drain())).filter((w) => ours.has(w.sms_id));
    for (const phone of phones) expect(sentTo(phone)).toHaveLength(0);
    const after = await rows`select "to", status, error_message from sms_messages
      where id = any(${sms.map((s) => s.id)}) order by body`;
    expect(after.map((r) => r.status))
      .toEqual(["logged", "skipped_opted_out", "logged", "skipped_opted_out", "unknown", "pending"]);
    // The claimed one's entry alone is retried, after the job's backoff.
    const retry = await jobsFor([busy]);
    expect(retry.map((j) => j.payload)).toEqual([[{ smsId: busy }]]);
    expect(retry[0]!.attempts).toBe(1);
    await rows`delete from graphile_worker._private_jobs where id = ${other!.id}`;
    expect(after[0]!.error_message).toContain("Twilio is not configured");
    expect(h.logs.some((l) => l.includes("Twilio is not configured to look it up"))).toBe(true);
    // One transaction wrote the three SMS it decided (the opted-out one at queueing had no job).
    expect(writes).toHaveLength(3);
    expect(new Set(writes.map((w) => w.txid)).size).toBe(1);
  }));

test("without Twilio, a batch job reports its SMS in one info line, each SMS at debug", () =>
  withoutTwilio(async () => {
    const { phones, sms } = await queueSet(3);
    await rows`update patients set opted_out = true where phone = ${phones[1]!}`;
    const ids = new Set(sms.map((s) => s.id as string));
    const [job] = await jobsFor([...ids]);
    const from = h.logs.length;
    await h.drain();
    const lines = h.logs.slice(from).map((l) => JSON.parse(l));
    // A line per SMS at info would be thousands a second in a storm: one line for the job, the SMS at debug.
    const summary = lines.filter((l) => l.msg === "send job: sms not sent" && l.jobId === job!.id);
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatchObject({ level: "info", sms: 3, logged: 2, skippedOptedOut: 1 });
    expect(summary[0].loggedReason).toContain("Twilio is not configured");
    const each = lines.filter((l) => l.msg === "sms not sent" && ids.has(l.smsId));
    expect(each.map((l) => l.level)).toEqual(["debug", "debug", "debug"]);
    expect(new Set(each.map((l) => l.smsId))).toEqual(ids);
  }));
