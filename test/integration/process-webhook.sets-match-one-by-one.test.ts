import { afterAll, beforeAll, expect, test } from "bun:test";
import { type IngestInput, writeIngestBatch } from "../../src/ingest/ingest";
import { createHarness, type Harness, seedAppointment } from "../support/harness";
import { paymentIntent, stripeEvent } from "../support/stripe";
import { inboundParams, messageSid } from "../support/twilio";

// A batch job applies the Stripe payments and Twilio status callbacks it can as a set (src/jobs/stripe-event-set.ts,
// src/jobs/twilio-status-set.ts) and the rest one by one. Each scenario below runs twice on fresh rows: as one
// batch job, and as one single-event job at a time in event order (the one-by-one processors alone). Everything
// each run leaves behind must be the same, and the batch run must really have used the set statements.

let h: Harness;

beforeAll(async () => {
  h = await createHarness();
  // Statements (not rows) that wrote each table: one per set, one per event one by one.
  await h.deps.sql.unsafe(`
    create table test_statements (tab text, at timestamptz default clock_timestamp());
    create function test_statement() returns trigger language plpgsql as $$
    begin insert into test_statements (tab) values (tg_table_name); return null; end $$;
    create trigger test_statement after insert on transactions for each statement execute function test_statement();
    create trigger test_statement after insert on sms_status_events
      for each statement execute function test_statement();
  `);
});
afterAll(() => h.close());

type Run = "batch" | "one by one";
/** The texts name the appointment's time: the same in both runs. */
const STARTS_AT = new Date("2030-01-15T15:00:00Z");

async function ingest(inputs: IngestInput[], run: Run): Promise<number[]> {
  const results = await writeIngestBatch(h.deps, inputs);
  const ids = results.map((r) => (r.ok ? r.value.eventId : Number.NaN));
  if (run === "one by one") {
    await h.deps.sql`delete from graphile_worker._private_jobs`;
    for (const eventId of ids) {
      await h.deps.sql`select graphile_worker.add_job('process-webhook',
        json_build_object('eventId', ${eventId}::int))`;
      await h.drain();
    }
  } else {
    await h.drain();
  }
  return ids;
}

const input = (provider: "stripe" | "twilio-status", key: string, rawBody: string): IngestInput => ({
  provider, key, headers: new Headers(), rawBody,
  answer: { status: 200, body: "{}", contentType: "application/json" }, receivedAt: performance.now(),
});

const statements = async (tab: string) =>
  Number((await h.deps.sql`select count(*)::int as n from test_statements where tab = ${tab}`)[0]!.n);

/** Runs `scenario` as one batch job, then one by one, and counts each way's statements that wrote `table`. */
async function bothWays<T>(table: string, scenario: (run: Run) => Promise<T>) {
  const before = await statements(table);
  const batch = await scenario("batch");
  const batchStatements = await statements(table) - before;
  const oneByOne = await scenario("one by one");
  const oneByOneStatements = await statements(table) - before - batchStatements;
  return { batch, oneByOne, batchStatements, oneByOneStatements };
}

const outcomes = (ids: number[]) => h.deps.sql`select status, attempts, last_error from webhook_events
  where id = any(${ids}) order by id`;

/** Payments for appointments in every state a payment can meet, with the cases the set form leaves to one by one. */
async function stripeScenario(run: Run) {
  const seeded = [];
  const since = new Date();
  for (let i = 0; i < 7; i++) seeded.push(await seedAppointment(h, { startsAt: STARTS_AT }));
  const [held, fresh, confirmed, cancelled, twice, optedOut, upper] = seeded.map((s) => s.appointment.id as string);
  await h.deps.sql`update appointments set status = 'payment_pending', hold_expires_at = now() + interval '1 hour'
    where id = ${held!}`;
  await h.deps.sql`update appointments set status = 'confirmed' where id = ${confirmed!}`;
  await h.deps.sql`update appointments set status = 'cancelled' where id = ${cancelled!}`;
  await h.deps.sql`update patients set opted_out = true where id = ${seeded[5]!.patient.id}`;
  const pay = (appointmentId: string, extra = {}) => {
    const event = stripeEvent("payment_intent.succeeded", paymentIntent(appointmentId, extra));
    return input("stripe", event.id, JSON.stringify(event));
  };
  const failedEvent = stripeEvent("payment_intent.payment_failed", paymentIntent(twice!));
  const ids = await ingest([
    pay(held!), pay(fresh!), pay(confirmed!), pay(cancelled!), pay(twice!), input("stripe", failedEvent.id,
      JSON.stringify(failedEvent)), pay(optedOut!, { amount_received: 4500, currency: "eur" }),
    pay(upper!.toUpperCase()), pay("00000000-0000-4000-8000-000000000000"), pay("not-a-uuid"),
  ], run);
  const appointments: Record<string, any>[] = [];
  for (const id of [held, fresh, confirmed, cancelled, twice, optedOut, upper]) {
    const [a] = await h.deps.sql`select status, deposit_paid, deposit_paid_at is not null as paid_at,
      hold_expires_at is not null as held, deposit_refund_status from appointments where id = ${id!}`;
    const history = await h.deps.sql`select from_status, to_status, cause_type, note from appointment_history
      where appointment_id = ${id!} order by id`;
    const ledger = await h.deps.sql`select kind, amount, currency from transactions where appointment_id = ${id!}
      order by created_at, id`;
    const sms = await h.deps.sql`select s.kind, s.status, s.body, s.channel, s.dedupe_key like 'deposit-confirmation:%'
        as keyed, (select count(*)::int from graphile_worker._private_jobs j
          join graphile_worker._private_tasks t on t.id = j.task_id where t.identifier = 'send-sms'
          and (j.key = 'sms:' || s.id or json_typeof(j.payload) = 'array'
            and j.payload::jsonb @> jsonb_build_array(jsonb_build_object('smsId', s.id)))) as jobs
      from sms_messages s where appointment_id = ${id!} order by created_at, id`;
    appointments.push({ ...a!, history, ledger, sms });
  }
  const emails = await h.deps.sql`select kind, "to", subject from email_outbox
    where created_at >= ${since.toISOString()}::timestamptz order by kind, subject`;
  return { appointments, emails, events: await outcomes(ids) };
}

test("Stripe payments: a batch leaves exactly what one-by-one processing leaves, with one ledger statement",
  async () => {
    const { batch, oneByOne, batchStatements, oneByOneStatements } = await bothWays("transactions", stripeScenario);

    expect(batch).toEqual(oneByOne);
    // The cases below are what the scenario is about; the equality above is only as strong as they are varied.
    expect(batch.events.map((e) => e.status)).toEqual([
      "processed", "processed", "processed", "processed", "processed", "ignored", "processed", "processed", "failed",
      "failed",
    ]);
    expect(batch.appointments.map((a) => a.status)).toEqual(
      ["confirmed", "confirmed", "confirmed", "cancelled", "confirmed", "confirmed", "confirmed"]);
    expect(batch.appointments[5]!.sms).toMatchObject([{ status: "skipped_opted_out", jobs: 0 }]);
    expect(batch.appointments[0]!.sms).toMatchObject([{ status: "pending", jobs: 1 }]);
    // Held, fresh, confirmed, opted-out and the upper-case id went as one set (one statement); the cancelled
    // appointment and the one named twice one by one, beside it.
    expect(batchStatements).toBe(1 + 2);
    expect(oneByOneStatements).toBe(7);
  });

/** Status callbacks for messages we sent, with the cases the set form leaves to one by one. */
async function statusScenario(run: Run) {
  const seeded = [];
  for (let i = 0; i < 7; i++) seeded.push(await seedAppointment(h, { startsAt: STARTS_AT }));
  const sids = seeded.map(() => messageSid());
  const kinds = ["confirmation", "reminder", "confirmation", "reply", "confirmation", "reminder", "confirmation"];
  for (const [i, { appointment, clinic, patient }] of seeded.entries()) {
    // The last two messages are about one appointment (the reminder is the newer one).
    const appointmentId = i === 5 ? seeded[4]!.appointment.id : appointment.id;
    await h.deps.sql`insert into sms_messages (dedupe_key, kind, clinic_id, patient_id, appointment_id, "to", "from",
        body, status, twilio_sid, sent_at, created_at)
      values (${`${run}:${sids[i]}`}, ${kinds[i]!}, ${clinic.id}, ${patient.id}, ${appointmentId}, ${patient.phone},
        ${clinic.phone}, 'hello', 'queued', ${sids[i]!}, now(), now() + ${`${i} seconds`}::interval)`;
  }
  const callback = (sid: string, status: string, extra: Record<string, string> = {}) => input(
    "twilio-status", `${sid}:${status}`,
    new URLSearchParams({ MessageSid: sid, MessageStatus: status, AccountSid: `AC${"0".repeat(32)}`, ...extra })
      .toString(),
  );
  const unknown = messageSid();
  const ids = await ingest([
    callback(sids[0]!, "sent"), callback(sids[0]!, "delivered"),
    callback(sids[1]!, "delivered"), callback(sids[1]!, "sent"),
    callback(sids[2]!, "sent"), callback(sids[2]!, "undelivered", { ErrorCode: "30003" }),
    callback(sids[3]!, "delivered"),
    callback(sids[4]!, "delivered"), callback(sids[5]!, "sent"),
    callback(unknown, "delivered"),
    callback(sids[0]!, "read"),
    callback(sids[6]!, "sent"), callback(sids[6]!, "delivered"),
  ], run);
  // One group commit wrote them all: one arrival time.
  const [{ received_at: receivedAt }] = await h.deps.sql`select received_at from webhook_events where id = ${ids[0]!}`;
  const messages: Record<string, any>[] = [];
  for (const sid of [...sids, unknown]) {
    const [sms] = await h.deps.sql`select s.status, s.error_code, s.fallback_status, a.sms_status, a.sms_delivered,
        a.sms_delivered_at from sms_messages s left join appointments a on a.id = s.appointment_id
      where s.twilio_sid = ${sid}`;
    const history = await h.deps.sql`select h.status, h.error_code, h.payload ->> 'MessageStatus' as reported,
        h.sms_message_id is not null as linked, e.id::int as event
      from sms_status_events h join webhook_events e on e.id = h.webhook_event_id
      where h.twilio_sid = ${sid} order by e.id`;
    // The callbacks' arrival, or not: a clock reading differs between the runs.
    const deliveredAt = sms?.sms_delivered_at
      ? new Date(sms.sms_delivered_at).getTime() === new Date(receivedAt).getTime() : null;
    messages.push({
      ...sms!, sms_delivered_at: deliveredAt, history: history.map((r) => ({ ...r, event: ids.indexOf(r.event) })),
    });
  }
  return { messages, events: await outcomes(ids) };
}

test("status callbacks: a batch leaves exactly what one-by-one processing leaves, with one history statement",
  async () => {
    const { batch, oneByOne, batchStatements, oneByOneStatements } =
      await bothWays("sms_status_events", statusScenario);

    expect(batch).toEqual(oneByOne);
    expect(batch.messages.map((m) => m.status)).toEqual(
      ["read", "delivered", "undelivered", "delivered", "delivered", "sent", "delivered", undefined]);
    // The unknown sid's callback: kept in its history, linked to no message, ignored.
    expect(batch.messages[7]!.history)
      .toEqual([{ status: "delivered", error_code: null, reported: "delivered", linked: false, event: 9 }]);
    expect(batch.messages[1]).toMatchObject({ sms_status: "delivered", sms_delivered: true, sms_delivered_at: true });
    expect(batch.messages[6]).toMatchObject({ sms_status: "delivered", sms_delivered: true, sms_delivered_at: true });
    expect(batch.messages[2]).toMatchObject({ sms_status: "undelivered", fallback_status: "email_queued" });
    expect(batch.events[3]).toMatchObject({ status: "processed", last_error: expect.stringContaining("history only") });
    expect(batch.events[9]).toMatchObject({ status: "ignored" });
    // The second and seventh messages' callbacks and the unknown sid's go as one set (the first message has a
    // `read`, the third a failure, the fourth is a reply, the fifth and sixth share an appointment): one statement
    // for those five, then one per remaining callback.
    expect(batchStatements).toBe(1 + 8);
    expect(oneByOneStatements).toBe(13);
  });

test("a set that fails is rolled back and its events run one by one: only the bad one fails, nothing twice",
  async () => {
    const seeded = [];
    for (let i = 0; i < 3; i++) {
      seeded.push(await seedAppointment(h, { startsAt: STARTS_AT, phone: `+1555010000${i}` }));
    }
    // The middle patient's confirmation cannot be stored: the set's one SMS statement fails, and so does that
    // event's own when it runs alone.
    await h.deps.sql.unsafe(`
      create function test_refuse_sms() returns trigger language plpgsql as $$
      begin if new."to" = '+15550100001' then raise exception 'refused by test'; end if; return new; end $$;
      create trigger test_refuse_sms before insert on sms_messages for each row execute function test_refuse_sms();
    `);
    const inputs = seeded.map(({ appointment }) => {
      const event = stripeEvent("payment_intent.succeeded", paymentIntent(appointment.id));
      return input("stripe", event.id, JSON.stringify(event));
    });
    const ids = await ingest(inputs, "batch");
    await h.deps.sql.unsafe("drop trigger test_refuse_sms on sms_messages");

    expect((await outcomes(ids)).map((e) => [e.status, e.attempts])).toEqual(
      [["processed", 1], ["pending", 1], ["processed", 1]]);
    const effects = await h.deps.sql`select a.status,
        (select count(*)::int from transactions t where t.appointment_id = a.id) as ledger,
        (select count(*)::int from appointment_history x where x.appointment_id = a.id) as history,
        (select count(*)::int from sms_messages s where s.appointment_id = a.id) as sms
      from appointments a where a.id = any(${seeded.map((s) => s.appointment.id)})
      order by array_position(${seeded.map((s) => s.appointment.id)}::uuid[], a.id)`;
    expect([...effects]).toEqual([
      { status: "confirmed", ledger: 1, history: 1, sms: 1 },
      { status: "pending", ledger: 0, history: 0, sms: 0 },
      { status: "confirmed", ledger: 1, history: 1, sms: 1 },
    ]);
    expect(h.logs.some((l) => l.includes("set processing failed; its events run one by one"))).toBe(true);

    // Its retry, now that the SMS can be stored, applies it once.
    await h.retryNow("process-webhook");
    await h.drain();
    expect((await outcomes([ids[1]!]))[0]).toMatchObject({ status: "processed", attempts: 2 });
  });

test("a set never runs ahead of an earlier event of a provider without one: CANCEL by SMS, then the payment",
  async () => {
    const scenario = async (run: Run) => {
      const x = await seedAppointment(h, { startsAt: STARTS_AT, phone: `+1555020${run === "batch" ? 1 : 2}001` });
      const y = await seedAppointment(h, { startsAt: STARTS_AT, phone: `+1555020${run === "batch" ? 1 : 2}002` });
      const cancel = new URLSearchParams(inboundParams(x.patient.phone, x.clinic.phone, "CANCEL")).toString();
      const pay = (appointmentId: string) => {
        const event = stripeEvent("payment_intent.succeeded", paymentIntent(appointmentId));
        return input("stripe", event.id, JSON.stringify(event));
      };
      const ids = await ingest([
        { ...input("stripe", "unused", ""), provider: "twilio-sms", key: messageSid(), rawBody: cancel },
        pay(x.appointment.id), pay(y.appointment.id),
      ], run);
      const rows: Record<string, any>[] = [];
      for (const id of [x.appointment.id, y.appointment.id]) {
        const [a] = await h.deps.sql`select status, deposit_paid from appointments where id = ${id}`;
        const history = await h.deps.sql`select from_status, to_status, cause_type, note from appointment_history
          where appointment_id = ${id} order by id`;
        const sms = await h.deps.sql`select kind, status from sms_messages where appointment_id = ${id}
          order by created_at, id`;
        rows.push({ ...a, history, sms });
      }
      return { rows, events: (await outcomes(ids)).map((e) => e.status) };
    };
    const batch = await scenario("batch");
    expect(batch).toEqual(await scenario("one by one"));
    // The payment found the appointment already asked to be cancelled: kept, not confirmed.
    expect(batch.rows[0]!.status).not.toBe("confirmed");
    expect(batch.rows[1]!.status).toBe("confirmed");
  });
