import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHarness, type Harness, seedAppointment, testClock } from "../support/harness";
import { paymentIntent, signedStripeRequest, stripeEvent } from "../support/stripe";

const PATH = "/api/v1/webhooks/stripe/payment-events";
const HOUR = 3_600_000;
const clock = testClock();
let h: Harness;

beforeAll(async () => {
  h = await createHarness({}, { clock });
});
afterAll(() => h.close());

const send = async (event: object) => h.request(PATH, await signedStripeRequest(event));
const status = async (id: string) => ((await (await h.api("GET", `/v1/appointments/${id}`)).json()) as any).status;
/** Makes a scheduled job due now: time is driven through run_at, never by sleeping. */
const makeDue = (key: string) => h.deps.sql`update graphile_worker._private_jobs set run_at = now() where key = ${key}`;
const holdJobs = async (id: string) =>
  (await h.deps.sql`select run_at from graphile_worker.jobs where key = ${`hold:${id}`}`).length;
const emails = (to: string, kind: string) =>
  h.deps.sql`select subject, body from email_outbox where "to" = ${to} and kind = ${kind}`;

test("an unpaid hold is cancelled by its scheduled job once two hours have passed, not before", async () => {
  const { appointment, patient } = await seedAppointment(h, { email: "hold@patient.test" });
  await send(stripeEvent("payment_intent.payment_failed", paymentIntent(appointment.id)));
  await h.drain();
  expect(await status(appointment.id)).toBe("payment_pending");
  expect(await holdJobs(appointment.id)).toBe(1);

  // Woken early (an hour in): the job finds the hold still running and puts itself back.
  clock.advance(HOUR);
  await makeDue(`hold:${appointment.id}`);
  await h.drain();
  expect(await status(appointment.id)).toBe("payment_pending");
  expect(await holdJobs(appointment.id)).toBe(1);

  clock.advance(HOUR + 60_000);
  await makeDue(`hold:${appointment.id}`);
  await h.drain();
  expect(await status(appointment.id)).toBe("cancelled");
  const history = await (await h.api("GET", `/v1/appointments/${appointment.id}/history`)).json() as any;
  expect(history.data.at(-1)).toMatchObject(
    { from_status: "payment_pending", to_status: "cancelled", cause_type: "job", cause_id: "expire-hold" },
  );
  const mail = await emails(patient.email, "hold_expired");
  expect(mail).toHaveLength(1);
  expect(mail[0]!.body).toContain("has been cancelled because the deposit was not paid");
});

test("the cron sweep cancels a hold whose job was lost", async () => {
  const { appointment, patient } = await seedAppointment(h, { email: "sweep@patient.test" });
  await send(stripeEvent("payment_intent.payment_failed", paymentIntent(appointment.id)));
  await h.drain();
  await h.deps.sql`select graphile_worker.remove_job(${`hold:${appointment.id}`})`;
  expect(await holdJobs(appointment.id)).toBe(0);

  clock.advance(2 * HOUR + 60_000);
  await h.deps.sql`select graphile_worker.add_job('sweep-holds', '{}'::json)`;
  await h.drain();
  expect(await status(appointment.id)).toBe("cancelled");
  const history = await (await h.api("GET", `/v1/appointments/${appointment.id}/history`)).json() as any;
  expect(history.data.at(-1).cause_id).toBe("sweep-holds");
  expect(await emails(patient.email, "hold_expired")).toHaveLength(1);
});

test("a hold paid in time is never cancelled, by the job or the sweep", async () => {
  const { appointment } = await seedAppointment(h);
  await send(stripeEvent("payment_intent.payment_failed", paymentIntent(appointment.id)));
  await h.drain();
  await send(stripeEvent("payment_intent.succeeded", paymentIntent(appointment.id)));
  await h.drain();
  clock.advance(3 * HOUR);
  await makeDue(`hold:${appointment.id}`);
  await h.deps.sql`select graphile_worker.add_job('sweep-holds', '{}'::json)`;
  await h.drain();
  expect(await status(appointment.id)).toBe("confirmed");
});
