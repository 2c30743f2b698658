import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type DeliveryWorld, startDeliveryWorld } from "../support/delivery";
import { seedAppointment } from "../support/harness";
import { paymentIntent, signedStripeRequest, stripeEvent } from "../support/stripe";
import { inboundParams, postSms, uniquePhone } from "../support/twilio";

// Stripe does not promise order, and a card can succeed after Switchboard gave up on it: a payment that arrives
// once the hold auto-cancelled the appointment, or after the patient texted CANCEL, is money the clinic must act
// on (refund or rebook). It is booked, the appointment keeps its state, the patient is not told "confirmed", and
// the clinic hears of it by email and on its callback URL.

const PATH = "/api/v1/webhooks/stripe/payment-events";
const SUPPORT = "support@switchboard.test";
const HOUR = 3_600_000;
let w: DeliveryWorld;
beforeAll(async () => { w = await startDeliveryWorld(); });
afterAll(() => w.close());

const send = async (event: object) => {
  const res = await w.h.request(PATH, await signedStripeRequest(event));
  if (res.status !== 200) throw new Error(`stripe webhook answered ${res.status}`);
};
const get = async (path: string) => (await w.h.api("GET", path)).json() as Promise<any>;
const clinicEvents = (clinicId: string) => w.receiver.at(`/clinic/${clinicId}`).map((r) => JSON.parse(r.body));
const confirmations = (phone: string) =>
  w.fake.messages.filter((m) => m.to === phone && m.body.includes("is confirmed"));
const storedEvent = async (id: string) =>
  (await w.rows`select id, status, last_error from webhook_events where idempotency_key = ${id}`)[0];

/** A clinic with a callback URL (on the receiver), its patient, and an unpaid appointment. */
async function seed(clinicEmail: string | null = "desk@harbor.test") {
  const seeded = await seedAppointment(w.h, { phone: uniquePhone(), email: null });
  await w.rows`update clinics set callback_url = ${`${w.receiver.url}/clinic/${seeded.clinic.id}`},
    email = ${clinicEmail} where id = ${seeded.clinic.id}`;
  return seeded;
}

describe("a payment that succeeds after the hold auto-cancelled the appointment", () => {
  test("is booked, leaves the appointment cancelled, texts nothing, and alerts the clinic once", async () => {
    const { clinic, patient, appointment } = await seed();
    const pi = paymentIntent(appointment.id);
    await send(stripeEvent("payment_intent.payment_failed", pi));
    await w.h.drain();
    w.clock.advance(2 * HOUR + 60_000);
    await w.rows`update graphile_worker._private_jobs set run_at = now() where key = ${`hold:${appointment.id}`}`;
    await w.h.drain();
    expect((await get(`/v1/appointments/${appointment.id}`)).status).toBe("cancelled");

    const late = stripeEvent("payment_intent.succeeded", pi);
    await send(late);
    await w.h.drain();

    const after = await get(`/v1/appointments/${appointment.id}`);
    expect(after).toMatchObject({ status: "cancelled", deposit_paid: true, hold_expires_at: null });
    expect(await w.rows`select kind, amount, stripe_object_id from transactions
      where appointment_id = ${appointment.id}`)
      .toEqual([{ kind: "deposit", amount: 6000, stripe_object_id: pi.id }]);
    expect(confirmations(patient.phone)).toHaveLength(0);
    expect(await w.rows`select 1 from sms_messages where appointment_id = ${appointment.id}`).toHaveLength(0);

    const event = await storedEvent(late.id);
    expect(event.status).toBe("processed");
    expect(event.last_error).toContain("kept cancelled");
    const history = (await get(`/v1/appointments/${appointment.id}/history`)).data;
    expect(history.at(-1)).toMatchObject({
      from_status: "cancelled", to_status: "cancelled", cause_type: "webhook_event", cause_id: String(event.id),
    });
    expect(history.at(-1).note).toContain("payment of $60.00 received");

    const [notice] = clinicEvents(clinic.id);
    expect(clinicEvents(clinic.id)).toHaveLength(1);
    expect(notice).toMatchObject({
      type: "appointment.payment_after_cancel", clinic_id: clinic.id,
      data: {
        appointment_id: appointment.id, status: "cancelled", payment_intent: pi.id, amount: 6000, currency: "usd",
      },
    });
    const mails = w.mailTo("desk@harbor.test").filter((m) => w.smtp.text(m).includes(appointment.id));
    expect(mails).toHaveLength(1);
    expect(w.smtp.text(mails[0]!)).toContain("Refund the payment in Stripe, or rebook");
    const [outbox] = await w.rows`select kind, subject from email_outbox where "to" = 'desk@harbor.test'
      and body like ${`%${appointment.id}%`}`;
    expect(outbox.kind).toBe("payment_after_cancel");
    expect(outbox.subject).toContain("$60.00 paid for Ada Patient's appointment");
    expect(outbox.subject).toContain("which is cancelled");

    // Stripe retries the event, or an operator replays it: still one ledger row, one email, one clinic event.
    await send(late);
    expect((await w.h.api("POST", `/v1/webhook-events/${event.id}/replay`)).status).toBe(202);
    await w.h.drain();
    expect(await w.rows`select 1 from transactions where appointment_id = ${appointment.id}`).toHaveLength(1);
    expect(clinicEvents(clinic.id)).toHaveLength(1);
    expect(w.mailTo("desk@harbor.test").filter((m) => w.smtp.text(m).includes(appointment.id))).toHaveLength(1);
    expect((await get(`/v1/appointments/${appointment.id}/history`)).data).toHaveLength(history.length);
  });
});

describe("a payment that succeeds after the patient texted CANCEL", () => {
  test("keeps the CANCEL request, texts no confirmation, alerts support when the clinic has no email", async () => {
    const { clinic, patient, appointment } = await seed(null);
    const cancel = inboundParams(patient.phone, clinic.phone, "CANCEL");
    expect((await postSms(w.h, cancel)).status).toBe(200);
    await w.h.drain();
    expect((await get(`/v1/appointments/${appointment.id}`)).status).toBe("cancellation_requested");

    const pi = paymentIntent(appointment.id);
    const late = stripeEvent("payment_intent.succeeded", pi);
    await send(late);
    await w.h.drain();

    expect(await get(`/v1/appointments/${appointment.id}`))
      .toMatchObject({ status: "cancellation_requested", deposit_paid: true });
    expect(confirmations(patient.phone)).toHaveLength(0);
    // The only text the patient got is the reply to their CANCEL.
    expect(w.fake.messages.filter((m) => m.to === patient.phone)).toHaveLength(1);
    expect((await storedEvent(late.id))).toMatchObject({ status: "processed" });
    expect((await storedEvent(late.id)).last_error).toContain("kept cancellation_requested");
    const history = (await get(`/v1/appointments/${appointment.id}/history`)).data;
    expect(history.map((e: any) => [e.from_status, e.to_status, e.cause_type])).toEqual([
      ["pending", "cancellation_requested", "sms"],
      ["cancellation_requested", "cancellation_requested", "webhook_event"],
    ]);

    const notices = clinicEvents(clinic.id).filter((e) => e.type === "appointment.payment_after_cancel");
    expect(notices).toHaveLength(1);
    expect(notices[0].data)
      .toMatchObject({ appointment_id: appointment.id, status: "cancellation_requested", amount: 6000 });
    const alerts = w.mailTo(SUPPORT).filter((m) => w.smtp.text(m).includes(appointment.id));
    expect(alerts).toHaveLength(1);
    expect(w.smtp.text(alerts[0]!)).toContain("Refund");
  });

  test("a failed payment after the CANCEL places no hold and tells the patient of no cancellation", async () => {
    const seeded = await seedAppointment(w.h, { phone: uniquePhone() });
    const { clinic, patient, appointment } = seeded;
    await postSms(w.h, inboundParams(patient.phone, clinic.phone, "CANCEL"));
    await w.h.drain();
    const failed = stripeEvent("payment_intent.payment_failed", paymentIntent(appointment.id));
    await send(failed);
    await w.h.drain();
    const after = await get(`/v1/appointments/${appointment.id}`);
    expect(after).toMatchObject({ status: "cancellation_requested", hold_expires_at: null });
    expect(await storedEvent(failed.id)).toMatchObject({ status: "ignored" });
    const holds = await w.rows`select 1 from graphile_worker.jobs where key = ${`hold:${appointment.id}`}`;
    expect(holds).toHaveLength(0);
    expect(w.mailTo(patient.email).filter((m) => w.smtp.text(m).includes("held until"))).toHaveLength(0);
  });

  test("the patient or the clinic can still confirm it; a payment cannot", async () => {
    const { clinic, patient, appointment } = await seed();
    await postSms(w.h, inboundParams(patient.phone, clinic.phone, "CANCEL"));
    await w.h.drain();
    await send(stripeEvent("payment_intent.succeeded", paymentIntent(appointment.id)));
    await w.h.drain();
    expect((await get(`/v1/appointments/${appointment.id}`)).status).toBe("cancellation_requested");
    const patched = await w.h.api("PATCH", `/v1/appointments/${appointment.id}`, { status: "confirmed" });
    expect(patched.status).toBe(200);
    expect((await patched.json() as any).status).toBe("confirmed");
  });
});

describe("a payment that succeeds after the patient texted RESCHEDULE", () => {
  test("keeps the reschedule request, texts no confirmation, and tells the clinic the deposit is paid", async () => {
    const { clinic, patient, appointment } = await seed();
    await postSms(w.h, inboundParams(patient.phone, clinic.phone, "RESCHEDULE"));
    await w.h.drain();
    const pi = paymentIntent(appointment.id);
    await send(stripeEvent("payment_intent.succeeded", pi));
    await w.h.drain();
    expect(await get(`/v1/appointments/${appointment.id}`))
      .toMatchObject({ status: "reschedule_requested", deposit_paid: true });
    expect(confirmations(patient.phone)).toHaveLength(0);
    const notices = clinicEvents(clinic.id).filter((e) => e.type === "appointment.payment_after_reschedule_request");
    expect(notices.map((e) => e.data)).toMatchObject([{ appointment_id: appointment.id, payment_intent: pi.id }]);
  });
});
