import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { runOnce } from "graphile-worker";
import { quietLogger } from "../../src/db";
import { buildDeps, closeDeps } from "../../src/deps";
import { taskList } from "../../src/jobs";
import { sendDueReminders } from "../../src/jobs/send-reminders";
import { type DeliveryWorld, startDeliveryWorld } from "../support/delivery";
import { seedAppointment } from "../support/harness";
import { uniquePhone } from "../support/twilio";

const HOUR = 3_600_000;
let w: DeliveryWorld;
beforeAll(async () => { w = await startDeliveryWorld({ REMINDER_HOURS: "24" }); });
afterAll(() => w.close());

/** What the crontab does every five minutes: one send-reminders job, run by the worker. */
async function cronTick() {
  await w.rows`select graphile_worker.add_job('send-reminders', '{}'::json)`;
  await w.h.drain();
}
async function confirmedAppointment(startsAt: Date, opts: { optedOut?: boolean } = {}) {
  const seeded = await seedAppointment(w.h, { phone: uniquePhone(), startsAt });
  await w.h.api("PATCH", `/v1/appointments/${seeded.appointment.id}`, { status: "confirmed" });
  if (opts.optedOut) await w.rows`update patients set opted_out = true where id = ${seeded.patient.id}`;
  return seeded;
}
const reminders = (appointmentId: string) =>
  w.rows`select id, body, status, twilio_sid from sms_messages where appointment_id = ${appointmentId} and kind =
    'reminder'`;

describe("appointment reminders", () => {
  test("one reminder REMINDER_HOURS before a confirmed appointment, never a second, "
    + "and its delivery is tracked", async () => {
    const { appointment, patient } = await confirmedAppointment(new Date(w.clock.now().getTime() + 72 * HOUR));
    await cronTick();
    expect(await reminders(appointment.id)).toHaveLength(0);

    w.clock.advance(48 * HOUR + 60_000);
    await cronTick();
    const [sms] = await reminders(appointment.id);
    expect(sms.body).toContain("reminder of your appointment");
    expect(sms.status).toBe("queued");
    const texts = () => w.fake.messages.filter((m) => m.to === patient.phone);
    expect(texts()).toHaveLength(1);
    const [row] = await w.rows`select reminder_sent_at from appointments where id = ${appointment.id}`;
    expect(new Date(row.reminder_sent_at).getTime()).toBe(w.clock.now().getTime());

    w.clock.advance(5 * 60_000);
    await cronTick();
    w.clock.advance(12 * HOUR);
    await cronTick();
    expect(await reminders(appointment.id)).toHaveLength(1);
    expect(texts()).toHaveLength(1);

    await w.callback(sms.twilio_sid, "delivered");
    await w.h.drain();
    expect(await w.appointment(appointment.id)).toMatchObject({ sms_status: "delivered", sms_delivered: true });
  });

  test("no reminder for an opted-out patient, an unconfirmed appointment, or one already past", async () => {
    const now = w.clock.now().getTime();
    const optedOut = await confirmedAppointment(new Date(now + 2 * HOUR), { optedOut: true });
    const pending = await seedAppointment(w.h, { phone: uniquePhone(), startsAt: new Date(now + 2 * HOUR) });
    const past = await confirmedAppointment(new Date(now - HOUR));
    await cronTick();
    for (const { appointment } of [optedOut, pending, past]) {
      expect(await reminders(appointment.id)).toHaveLength(0);
      expect((await w.rows`select reminder_sent_at from appointments where id = ${appointment.id}`)[0].reminder_sent_at)
        .toBeNull();
    }
    expect(w.fake.messages.filter((m) => m.to === optedOut.patient.phone)).toHaveLength(0);
  });

  test("two worker processes running the reminder task at once send each "
    + "appointment exactly one reminder", { timeout: 30_000 }, async () => {
    const { clinic } = await seedAppointment(w.h, { phone: uniquePhone() });
    const startsAt = new Date(w.clock.now().getTime() + 2 * HOUR).toISOString();
    // More than one claim batch (100), so both workers are claiming while the other commits.
    const ids = (await w.rows`
      with p as (
        insert into patients (clinic_id, name, phone)
        select ${clinic.id}, 'Patient ' || i, '+1557' || lpad(i::text, 7, '0') from generate_series(1, 150) i
          returning id)
      insert into appointments (clinic_id, patient_id, starts_at, status)
        select ${clinic.id}, p.id, ${startsAt}, 'confirmed' from p
      returning id`).map((r) => r.id as string);

    const workers = [0, 1].map(
      () => buildDeps(w.h.config, w.h.deps.databaseUrl, { log: w.h.deps.log, clock: w.clock, sleep: async () => {} }),
    );
    try {
      await w.rows`select graphile_worker.add_job('send-reminders', '{}'::json) from generate_series(1, 2)`;
      await Promise.all([
        ...workers.map(
          (deps) => runOnce({ connectionString: deps.databaseUrl, taskList: taskList(deps), logger: quietLogger }),
        ),
        // And the claim itself, called head to head.
        ...workers.flatMap((deps) => [sendDueReminders(deps), sendDueReminders(deps)]),
      ]);
    } finally {
      await Promise.all(workers.map(closeDeps));
    }
    const [counts] = await w.rows`select count(*)::int as sms, count(distinct appointment_id)::int as appointments
      from sms_messages where kind = 'reminder' and appointment_id = any(${ids})`;
    expect(counts).toEqual({ sms: 150, appointments: 150 });
    const [unclaimed] =
      await w.rows`select count(*)::int as n from appointments where id = any(${ids}) and reminder_sent_at is null`;
    expect(unclaimed.n).toBe(0);
    // Each reminder has one send job (or went out already through a worker's runOnce), and nobody got two texts.
    const sent = w.fake.messages.filter(
      (m) => m.from === clinic.phone && m.body.includes("reminder of your appointment"),
    );
    expect(new Set(sent.map((m) => m.to)).size).toBe(sent.length);
    const [jobs] = await w.rows`select count(*)::int as n from graphile_worker.jobs where task_identifier = 'send-sms'
      and key in (
      select 'sms:' || id from sms_messages where kind = 'reminder' and appointment_id = any(${ids}))`;
    expect(jobs.n + sent.length).toBe(150);
  });
});
