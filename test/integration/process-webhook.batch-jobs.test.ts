import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Job } from "graphile-worker";
import { type IngestInput, replayEvent, writeIngestBatch } from "../../src/ingest/ingest";
import { PROCESSORS, SET_PROCESSORS } from "../../src/jobs";
import { processWebhookBatch } from "../../src/jobs/process-webhook-batch";
import { ALONE_AFTER_MS, batchTask } from "../../src/jobs/process-webhook-gather";
import { createHarness, type Harness, seedAppointment } from "../support/harness";
import { paymentIntent, stripeEvent } from "../support/stripe";

let h: Harness;

beforeAll(async () => {
  h = await createHarness({ INGEST_JOB_BATCH: "2" });
  // Which top-level transaction wrote each event row (txid_current() inside a savepoint is still the
  // top-level one), and every change of status: one commit per batch, one `processed` per event.
  await h.deps.sql.unsafe(`
    create table test_event_writes (event_id bigint, txid bigint, status text);
    create function test_event_write() returns trigger language plpgsql as $$
    begin insert into test_event_writes values (new.id, txid_current(), new.status); return null; end $$;
    create trigger test_event_write after update on webhook_events for each row execute function test_event_write();
  `);
});
afterAll(() => h.close());

/** A payment event for a fresh appointment, stored and queued the way group commit does it. */
async function paidEvents(n: number) {
  const inputs: IngestInput[] = [];
  const appointments: string[] = [];
  for (let i = 0; i < n; i++) {
    const { appointment } = await seedAppointment(h);
    appointments.push(appointment.id);
    const event = stripeEvent("payment_intent.succeeded", paymentIntent(appointment.id));
    inputs.push({
      provider: "stripe", key: event.id, headers: new Headers(), rawBody: JSON.stringify(event),
      answer: { status: 200, body: '{"received":true}', contentType: "application/json" },
      receivedAt: performance.now(),
    });
  }
  const results = await writeIngestBatch(h.deps, inputs);
  const ids = results.map((r) => (r.ok ? r.value.eventId : Number.NaN));
  return { ids, appointments };
}
const retiredEvent = async (key: string) => {
  const [row] = await h.deps.sql`
    insert into webhook_events (provider, idempotency_key, headers, raw_body, response_status, response_body,
      response_content_type)
    values ('retired-provider', ${key}, '{}', '{}', 200, '{}', 'application/json') returning id`;
  return Number(row!.id);
};
const addBatchJob = (ids: number[], maxAttempts = 25) =>
  h.deps.sql`select graphile_worker.add_job('process-webhook',
    ${JSON.stringify(ids.map((eventId) => ({ eventId })))}::json,
    max_attempts := ${maxAttempts}::int)`;
const events = (ids: number[]) =>
  h.deps.sql`select id::int, status, attempts, last_error from webhook_events where id = any(${ids}) order by id`;
const ledger = async (appointments: string[]) =>
  Number(
    (await h.deps.sql`select count(*)::int as n from transactions where appointment_id = any(${appointments})`)[0]!.n,
  );
const writes = (ids: number[]) =>
  h.deps.sql`select event_id::int, txid::text, status from test_event_writes where event_id = any(${ids}) order by
    event_id`;
const queuedJobs = () => h.deps.sql`select j.payload, j.attempts from graphile_worker._private_jobs j
  join graphile_worker._private_tasks t on t.id = j.task_id where t.identifier = 'process-webhook' order by j.id`;
/** Events no longer new enough to be skipped by a batch job that takes others' (their response time is written). */
const aged = (ids: number[]) =>
  h.deps.sql`update webhook_events set received_at = now() - interval '5 seconds' where id = any(${ids})`;
const makeDue = () => h.deps.sql`update graphile_worker._private_jobs set run_at = now()`;

test("group commit queues the new events as batch jobs of INGEST_JOB_BATCH events", async () => {
  const { ids } = await paidEvents(3);
  const jobs = await queuedJobs();
  expect(jobs.map((j) => j.payload)).toEqual([[{ eventId: ids[0] }, { eventId: ids[1] }], [{ eventId: ids[2] }]]);
  await h.drain();
  expect((await events(ids)).map((e) => e.status)).toEqual(["processed", "processed", "processed"]);
});

test("a batch job processes its events in one transaction, each with its effects", async () => {
  const { ids, appointments } = await paidEvents(4);
  await h.deps.sql`delete from graphile_worker._private_jobs`;
  await addBatchJob(ids);
  await h.drain();
  expect((await events(ids)).map((e) => [e.status, e.attempts])).toEqual(ids.map(() => ["processed", 1]));
  expect(await ledger(appointments)).toBe(4);
  const rows = await writes(ids);
  expect(rows.map((r) => r.event_id)).toEqual(ids);
  expect(new Set(rows.map((r) => r.txid)).size).toBe(1);
  expect(await queuedJobs()).toHaveLength(0);
});

test("an event that throws in a batch: the others commit, it alone is retried, "
  + "and ends failed on the last attempt", async () => {
  const { ids, appointments } = await paidEvents(2);
  const bad = await retiredEvent("k-batch-bad");
  await h.deps.sql`delete from graphile_worker._private_jobs`;
  await addBatchJob([ids[0]!, bad, ids[1]!], 2);
  await h.drain();
  expect((await events([...ids, bad])).map((e) => [e.id, e.status, e.attempts])).toEqual(
    [[ids[0], "processed", 1], [ids[1], "processed", 1], [bad, "pending", 1]]);
  expect(await ledger(appointments)).toBe(2);
  // graphile-worker kept only the failed entry for the retry.
  const [retry] = await queuedJobs();
  expect(retry).toMatchObject({ payload: [{ eventId: bad }], attempts: 1 });

  await makeDue();
  await h.drain();
  const [failed] = await events([bad]);
  expect(failed)
    .toMatchObject({ status: "failed", attempts: 2, last_error: "no processor for provider retired-provider" });
  // The good events were not touched again by the retry.
  expect((await events(ids)).map((e) => e.attempts)).toEqual([1, 1]);
  expect(await ledger(appointments)).toBe(2);
  await h.deps.sql`delete from graphile_worker._private_jobs`;
});

test("an event listed twice, queued again, or replayed alongside a batch is processed once each time", async () => {
  const { ids, appointments } = await paidEvents(2);
  await h.deps.sql`delete from graphile_worker._private_jobs`;
  await addBatchJob([ids[0]!, ids[0]!, ids[1]!]);
  await addBatchJob([ids[1]!, ids[0]!]);
  await h.drain();
  expect((await events(ids)).map((e) => [e.status, e.attempts])).toEqual([["processed", 1], ["processed", 1]]);
  expect((await writes(ids)).filter((w) => w.status === "processed")).toHaveLength(2);
  expect(await ledger(appointments)).toBe(2);

  // A replay (its own {eventId} job) and a stale batch job naming the same event: one more run, not two.
  expect(await replayEvent(h.deps, ids[0]!)).toBe(true);
  await addBatchJob([ids[0]!]);
  await h.drain();
  const [replayed] = await events([ids[0]!]);
  expect(replayed).toMatchObject({ status: "processed", attempts: 2 });
  expect(await ledger(appointments)).toBe(2);
  expect(await queuedJobs()).toHaveLength(0);
});

test("a malformed batch payload is dropped, not retried forever", async () => {
  await h.deps.sql`select graphile_worker.add_job('process-webhook', '[{"eventId": "x"}]'::json)`;
  await h.drain();
  expect(await queuedJobs()).toHaveLength(0);
});

/** Runs one batch job the way graphile-worker would: its row locked (it is running), `waitedMs` after it was due. */
async function runJob(eventIds: number[], opts: { waitedMs: number; attempts?: number }) {
  const [job] = await h.deps.sql`select j.id from graphile_worker._private_jobs j
    where j.payload::jsonb = ${JSON.stringify(eventIds.map((eventId) => ({ eventId })))}::jsonb`;
  await h.deps.sql`update graphile_worker._private_jobs set locked_at = now(), locked_by = 'test',
    attempts = ${opts.attempts ?? 1} where id = ${job!.id}`;
  await processWebhookBatch(
    h.deps, { processors: PROCESSORS, together: SET_PROCESSORS }, eventIds.map((eventId) => ({ eventId })),
    { job: { id: String(job!.id), run_at: new Date(Date.now() - opts.waitedMs), attempts: opts.attempts ?? 1,
      max_attempts: 25 } as Job },
  );
  await h.deps.sql`delete from graphile_worker._private_jobs where id = ${job!.id}`;
}
/** Runs `run` while another transaction holds the event's row (`for update`). */
async function whileHeld(eventId: number, run: () => Promise<void>) {
  const holder = await h.deps.sql.reserve();
  await holder`begin`;
  await holder`select id from webhook_events where id = ${eventId} for update`;
  try {
    await run();
  } finally {
    await holder`rollback`;
    holder.release();
  }
}
/** Queues a batch job for `ids` as ingest does, made old enough to be taken by another job's top-up. */
const waitingJob = async (ids: number[]) => {
  await addBatchJob(ids);
  await aged(ids);
  await h.deps.sql`update graphile_worker._private_jobs set run_at = now() - interval '5 seconds'
    where payload::jsonb = ${JSON.stringify(ids.map((eventId) => ({ eventId })))}::jsonb`;
};

test("a batch job that waited also takes other waiting jobs with their events, and completes them", async () => {
  const first = await paidEvents(2);
  const second = await paidEvents(2);
  await h.deps.sql`delete from graphile_worker._private_jobs`;
  await addBatchJob(first.ids);
  await waitingJob(second.ids);
  // The first job, which waited a second for a worker: its own two and the second job's two in one transaction.
  await runJob(first.ids, { waitedMs: 1000 });
  const all = [...first.ids, ...second.ids];
  expect((await events(all)).map((e) => [e.status, e.attempts])).toEqual(all.map(() => ["processed", 1]));
  expect(new Set((await writes(all)).filter((w) => w.status === "processed").map((w) => w.txid)).size).toBe(1);
  expect(await ledger([...first.appointments, ...second.appointments])).toBe(4);
  // The second job was completed with them: nothing is left to run.
  expect(await queuedJobs()).toHaveLength(0);
});

test("a taken job with an event the set cannot apply stays queued; an event held elsewhere is skipped",
  async () => {
    const own = await paidEvents(2);
    const other = await paidEvents(2);
    const held = await paidEvents(2);
    await h.deps.sql`delete from graphile_worker._private_jobs`;
    await addBatchJob(own.ids);
    await waitingJob(other.ids);
    await waitingJob(held.ids);
    // other[0] will fail while its appointment's row is refused an update; held[0] is held by another transaction.
    await h.deps.sql.unsafe(`
      create function test_refuse_appointment() returns trigger language plpgsql as $$
      begin if new.id = '${other.appointments[0]}' then raise exception 'refused by test'; end if; return new; end $$;
      create trigger test_refuse_appointment before update on appointments
        for each row execute function test_refuse_appointment();
    `);
    try {
      await whileHeld(held.ids[0]!, () => runJob(own.ids, { waitedMs: 1000 }));
    } finally {
      await h.deps.sql.unsafe("drop trigger test_refuse_appointment on appointments");
    }
    // The set (own two, other's two: held's job stops at its held first event) failed on other[0]: the job's own
    // ran one by one, other's were left alone, and both taken jobs stay queued with their events.
    expect((await events([...own.ids, ...other.ids, ...held.ids])).map((e) => [e.status, e.attempts])).toEqual(
      [["processed", 1], ["processed", 1], ["pending", 0], ["pending", 0], ["pending", 0], ["pending", 0]]);
    expect(h.logs.some((l) => l.includes("set processing failed; its events run one by one"))).toBe(true);
    expect((await queuedJobs()).map((j) => j.payload.map((e: { eventId: number }) => e.eventId)))
      .toEqual([other.ids, held.ids]);
    // Their own jobs process them, once.
    await h.drain();
    expect((await events([...other.ids, ...held.ids])).map((e) => [e.status, e.attempts]))
      .toEqual([...other.ids, ...held.ids].map(() => ["processed", 1]));
    expect(await ledger([...own.appointments, ...other.appointments, ...held.appointments])).toBe(6);
  });

test("a job that did not wait for a worker, or runs again, takes only its own events", async () => {
  const first = await paidEvents(2);
  const second = await paidEvents(2);
  await h.deps.sql`delete from graphile_worker._private_jobs`;
  await addBatchJob([first.ids[0]!]);
  await addBatchJob([first.ids[1]!]);
  await waitingJob(second.ids);
  await runJob([first.ids[0]!], { waitedMs: 0 }); // due just now: no backlog
  await runJob([first.ids[1]!], { waitedMs: 5000, attempts: 2 }); // waited, but a retry
  expect((await events([...first.ids, ...second.ids])).map((e) => e.status))
    .toEqual(["processed", "processed", "pending", "pending"]);
  expect(await queuedJobs()).toHaveLength(1);
  await h.drain();
  expect((await events([...first.ids, ...second.ids])).map((e) => [e.status, e.attempts]))
    .toEqual([["processed", 1], ["processed", 1], ["processed", 1], ["processed", 1]]);
});

test("a taken job is applied only up to an event held elsewhere: none of its later events runs ahead", async () => {
  const own = await paidEvents(2);
  const held = await paidEvents(2);
  await h.deps.sql`delete from graphile_worker._private_jobs`;
  await addBatchJob(own.ids);
  await waitingJob(held.ids);
  await whileHeld(held.ids[0]!, () => runJob(own.ids, { waitedMs: 1000 }));
  expect((await events([...own.ids, ...held.ids])).map((e) => e.status))
    .toEqual(["processed", "processed", "pending", "pending"]);
  expect(await queuedJobs()).toHaveLength(1);
  await h.drain();
  expect((await events(held.ids)).map((e) => [e.status, e.attempts])).toEqual([["processed", 1], ["processed", 1]]);
});

test("a taken job stops at an event of a provider without a set; an event two jobs list is taken once", async () => {
  const own = await paidEvents(1);
  const shared = await paidEvents(2);
  const unset = await retiredEvent(`retired-${crypto.randomUUID()}`);
  const after = await paidEvents(1); // after the unset one in id order, as in its job
  await h.deps.sql`delete from graphile_worker._private_jobs`;
  await addBatchJob(own.ids);
  await waitingJob(shared.ids);
  await waitingJob([shared.ids[1]!]);
  await waitingJob([unset, after.ids[0]!]);
  await runJob(own.ids, { waitedMs: 1000 });
  // Both payments the two jobs share went once, as a set; both those jobs are complete. The job whose first event
  // has no set keeps its payment, which must not run ahead of it.
  expect((await events([...own.ids, ...shared.ids, ...after.ids])).map((e) => [e.status, e.attempts]))
    .toEqual([["processed", 1], ["processed", 1], ["processed", 1], ["pending", 0]]);
  expect(await ledger([...own.appointments, ...shared.appointments, ...after.appointments])).toBe(3);
  expect((await queuedJobs()).map((j) => j.payload.map((e: { eventId: number }) => e.eventId)))
    .toEqual([[unset, after.ids[0]]]);
  await h.deps.sql`delete from graphile_worker._private_jobs`;
});

test("first attempts of batch jobs running at once share one transaction and a set; each job settles alone",
  async () => {
    const { ids, appointments } = await paidEvents(5);
    const bad = await retiredEvent(`retired-${crypto.randomUUID()}`);
    await h.deps.sql`delete from graphile_worker._private_jobs`;
    const run = batchTask(h.deps, { processors: PROCESSORS, together: SET_PROCESSORS });
    const job = (attempts: number, waitedMs = 0) =>
      ({ job: { id: "0", run_at: new Date(Date.now() - waitedMs), attempts, max_attempts: 25 } as Job });
    const settled = (entries: Promise<void>[]) => Promise.allSettled(entries).then((r) => r.map((e) => e.status));
    // Three first attempts of one or two events each, started together as a worker's slots start them, and a retry.
    const outcomes = await Promise.all([
      run([{ eventId: ids[0]! }], job(1)).then(settled),
      run([{ eventId: ids[1]! }, { eventId: bad }], job(1)).then(settled),
      run([{ eventId: ids[2]! }], job(1)).then(settled),
      run([{ eventId: ids[3]! }], job(2)).then(settled),
      run([{ eventId: ids[4]! }], job(1, ALONE_AFTER_MS + 1000)).then(settled), // part of a backlog
    ]);
    // Only the job that listed the failing event sees it fail, and only for that entry.
    expect(outcomes).toEqual([["fulfilled"], ["fulfilled", "rejected"], ["fulfilled"], ["fulfilled"], ["fulfilled"]]);
    expect((await events([...ids, bad])).map((e) => [e.status, e.attempts]))
      .toEqual([...ids.map(() => ["processed", 1]), ["pending", 1]]);
    expect(await ledger(appointments)).toBe(5);
    const txOf = new Map((await writes([...ids, bad])).map((w) => [w.event_id, w.txid]));
    // The three first attempts in one transaction (the failure recorded in it too); the retry, and the job that
    // waited as in a backlog, each alone.
    expect(new Set([ids[0], ids[1], ids[2], bad].map((id) => txOf.get(id!))).size).toBe(1);
    expect(new Set([ids[0], ids[3], ids[4]].map((id) => txOf.get(id!))).size).toBe(3);
    // The gathered payments went as one set: their confirmation SMS in one send-sms batch job, not a job each.
    const sends = await h.deps.sql`select j.payload from graphile_worker._private_jobs j
      join graphile_worker._private_tasks t on t.id = j.task_id where t.identifier = 'send-sms'`;
    expect(sends.map((j) => (Array.isArray(j.payload) ? j.payload.length : "single")).sort())
      .toEqual([3, "single", "single"]);
    await h.deps.sql`delete from graphile_worker._private_jobs`;
  });
