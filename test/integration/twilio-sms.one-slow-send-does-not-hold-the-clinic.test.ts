import { afterAll, beforeAll, expect, test } from "bun:test";
import { queueSms, queueSmsSet } from "../../src/effects/sms";
import { startWorker, type Worker } from "../../src/jobs";
import { type DeliveryWorld, startDeliveryWorld } from "../support/delivery";
import { seedAppointment } from "../support/harness";
import { waitFor } from "../support/receiver";
import { uniquePhone } from "../support/twilio";

// The production worker with real pacing (1 SMS a second per sending number, waited out for real).
let w: DeliveryWorld;
let worker: Worker;
beforeAll(async () => {
  w = await startDeliveryWorld({ TWILIO_TIMEOUT_MS: "60000", SMS_PACING_MAX_SLEEP_MS: "2000" });
  w.h.deps.clock = { now: () => new Date() };
  w.h.deps.sleep = (ms) => Bun.sleep(ms);
  worker = await startWorker(w.h.deps);
});
afterAll(async () => {
  w.fake.release();
  await worker.stop();
  await w.close();
}, 30_000);

async function queue(seeded: Awaited<ReturnType<typeof seedAppointment>>, patientPhone: string, body: string) {
  const patient = await (
    await w.h.api("POST", "/v1/patients", { clinic_id: seeded.clinic.id, name: body, phone: patientPhone })
  ).json() as any;
  await w.h.deps.db.transaction((tx) => queueSms(tx, {
    dedupeKey: `test:${body}`, kind: "reply", clinic: seeded.clinic, patient: { ...patient, optedOut: false }, body,
  }));
}

test("an SMS whose send hangs at Twilio does not hold up the clinic's other SMS", async () => {
  const seeded = await seedAppointment(w.h, { phone: uniquePhone() });
  w.fake.hang();
  await queue(seeded, uniquePhone(), "first, hanging");
  await waitFor(() => w.fake.hanging === 1, "the first send hanging at Twilio");
  await queue(seeded, uniquePhone(), "second");
  await queue(seeded, uniquePhone(), "third");
  await waitFor(() => ["second", "third"].every((b) => w.fake.messages.some((m) => m.body === b)),
    "the clinic's next SMS sent while the first still hangs", 15_000);
  expect(w.fake.hanging).toBe(1);
}, 60_000);

test("a burst from one number goes out once each, still paced, "
  + "with far-off slots waited for outside the workers", async () => {
  const seeded = await seedAppointment(w.h, { phone: uniquePhone() });
  const bodies = Array.from({ length: 5 }, (_, i) => `burst ${i}`);
  for (const body of bodies) await queue(seeded, uniquePhone(), body);
  const seenAt = new Map<string, number>();
  await waitFor(() => {
    for (const m of w.fake.messages) if (
      m.body.startsWith("burst") && !seenAt.has(m.body)
    ) seenAt.set(m.body, Date.now());
    return seenAt.size === bodies.length;
  }, "the whole burst sent", 30_000);
  expect(bodies.map((b) => w.fake.messages.filter((m) => m.body === b).length)).toEqual([1, 1, 1, 1, 1]);
  const times = [...seenAt.values()].sort((a, b) => a - b);
  // One a second from the clinic's number: five sends span about four seconds.
  expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(3_500);
  const [requeued] =
    await w.h.deps.sql`select count(*)::int as n from sms_messages where body like 'burst%' and attempts > 1`;
  expect(requeued!.n).toBe(0);
}, 60_000);

test("a batch send job runs until its entries are done: a hanging entry keeps it running for settled()", async () => {
  const seeded = await seedAppointment(w.h, { phone: uniquePhone() });
  const patients: any[] = [];
  for (const name of ["batch hanging", "batch other"]) {
    patients.push(await (
      await w.h.api("POST", "/v1/patients", { clinic_id: seeded.clinic.id, name, phone: uniquePhone() })
    ).json() as any);
  }
  w.fake.hang();
  const hangingBefore = w.fake.hanging;
  // One job, `[{smsId}, {smsId}]`, whose task hands graphile-worker its entries' promises before they settle.
  await w.h.deps.db.transaction((tx) => queueSmsSet(tx, patients.map((patient) => ({
    dedupeKey: `test:${patient.name}`, kind: "reply", clinic: seeded.clinic, patient: { ...patient, optedOut: false },
    body: patient.name,
  }))));
  await waitFor(() => w.fake.hanging === hangingBefore + 1, "one entry of the batch hanging at Twilio");
  const first = await Promise.race([
    worker.settled(60_000).then(() => "settled"), Bun.sleep(500).then(() => "still running"),
  ]);
  expect(first).toBe("still running");
  w.fake.release();
  expect(await Promise.race([
    worker.settled(60_000).then(() => "settled"), Bun.sleep(20_000).then(() => "still running"),
  ])).toBe("settled");
  expect(patients.map((p) => w.fake.messages.filter((m) => m.body === p.name).length)).toEqual([1, 1]);
}, 60_000);
