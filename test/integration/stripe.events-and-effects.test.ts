import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createMailHarness, type MailHarness, seedAppointment } from "../support/harness";
import { charge, paymentIntent, signedStripeRequest, stripeEvent } from "../support/stripe";

const PATH = "/api/v1/webhooks/stripe/payment-events";
let h: MailHarness;
beforeAll(async () => { h = await createMailHarness(); });
afterAll(() => h.close());

const send = async (event: object) => h.request(PATH, await signedStripeRequest(event));
const get = async (path: string) => (await h.api("GET", path)).json() as Promise<any>;
const rows = (q: TemplateStringsArray, ...v: any[]) => h.deps.sql(q, ...v) as Promise<any[]>;

describe("payment_intent.succeeded", () => {
  test("pays the deposit, confirms, books the ledger and queues the confirmation SMS", async () => {
    const { appointment } = await seedAppointment(h);
    const event = stripeEvent("payment_intent.succeeded", paymentIntent(appointment.id));
    const res = await send(event);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true });
    await h.drain();

    const after = await get(`/v1/appointments/${appointment.id}`);
    expect(after.status).toBe("confirmed");
    expect(after.deposit_paid).toBe(true);
    expect(after.deposit_paid_at).not.toBeNull();
    const ledger = await rows`select kind, amount, currency from transactions where appointment_id = ${appointment.id}`;
    expect(ledger).toEqual([{ kind: "deposit", amount: 6000, currency: "usd" }]);
    const sms = await rows`select kind, status, body from sms_messages where appointment_id = ${appointment.id}`;
    expect(sms).toHaveLength(1);
    expect(sms[0].kind).toBe("confirmation");
    expect(sms[0].body).toContain("$60.00");
    const history = await get(`/v1/appointments/${appointment.id}/history`);
    expect(history.data.map((e: any) => [e.from_status, e.to_status, e.cause_type]))
      .toEqual([["pending", "confirmed", "webhook_event"]]);
    const [stored] = (await get(`/v1/webhook-events?provider=stripe`)).data.filter(
      (e: any) => e.idempotency_key === event.id,
    );
    expect(stored.status).toBe("processed");
    expect(stored.attempts).toBe(1);
  });
});

describe("payment_intent.payment_failed", () => {
  test("holds the slot, emails the patient and schedules the auto-cancel two hours out", async () => {
    const { appointment } = await seedAppointment(h, { email: "failed@patient.test" });
    const before = Date.now();
    expect((await send(stripeEvent("payment_intent.payment_failed", paymentIntent(appointment.id)))).status).toBe(200);
    await h.drain();
    const after = await get(`/v1/appointments/${appointment.id}`);
    expect(after.status).toBe("payment_pending");
    const holdMs = new Date(after.hold_expires_at).getTime() - before;
    expect(holdMs).toBeGreaterThan(119 * 60_000);
    expect(holdMs).toBeLessThan(121 * 60_000);
    const [job] = await rows`select run_at from graphile_worker.jobs where task_identifier = 'expire-hold' and key =
      ${`hold:${appointment.id}`}`;
    expect(new Date(job.run_at).getTime()).toBe(new Date(after.hold_expires_at).getTime());
    const mail = h.smtp.messages.find((m) => m.to.includes("failed@patient.test"));
    expect(mail).toBeDefined();
    expect(h.smtp.text(mail!)).toContain("Your payment failed. Please update your card.");
  });
});

describe("charge.refunded", () => {
  test("marks the refund, books it and emails the formatted amount", async () => {
    const { appointment } = await seedAppointment(h, { email: "refund@patient.test" });
    await send(stripeEvent("payment_intent.succeeded", paymentIntent(appointment.id)));
    await send(stripeEvent("charge.refunded", charge(appointment.id)));
    await h.drain();
    const after = await get(`/v1/appointments/${appointment.id}`);
    expect(after)
      .toMatchObject({ deposit_refunded: true, deposit_refund_status: "full", deposit_refunded_amount: 6000 });
    expect(after.refunded_at).not.toBeNull();
    const ledger = await rows`select kind, amount from transactions where appointment_id = ${appointment.id} order by
      kind`;
    expect(ledger).toEqual([{ kind: "deposit", amount: 6000 }, { kind: "refund", amount: 6000 }]);
    const mail = h.smtp.messages.find((m) => m.to.includes("refund@patient.test"));
    expect(h.smtp.text(mail!)).toContain("Your $60.00 deposit has been refunded");
  });

  test("a charge without metadata is matched through its payment intent", async () => {
    const { appointment } = await seedAppointment(h, { email: "viapi@patient.test" });
    const pi = paymentIntent(appointment.id);
    await send(stripeEvent("payment_intent.succeeded", pi));
    await h.drain();
    await send(stripeEvent(
      "charge.refunded", charge(appointment.id, { metadata: {}, payment_intent: pi.id, amount_refunded: 2550 }),
    ));
    await h.drain();
    // 2550 of the 6000 charge: a partial refund, which does not make the deposit refunded.
    expect(await get(`/v1/appointments/${appointment.id}`)).toMatchObject({
      deposit_refunded: false, deposit_refund_status: "partial", deposit_refunded_amount: 2550,
    });
    const mail = h.smtp.messages.find((m) => m.to.includes("viapi@patient.test"));
    expect(h.smtp.text(mail!)).toContain("Your $25.50 deposit refund has been issued");
  });
});

describe("events Switchboard does not act on", () => {
  test("an unknown type is answered 200, stored as ignored, and warned about", async () => {
    const event = stripeEvent("customer.created", { id: "cus_1", object: "customer" });
    const res = await send(event);
    expect(res.status).toBe(200);
    await h.drain();
    const [row] = await rows`select status, last_error from webhook_events where idempotency_key = ${event.id}`;
    expect(row.status).toBe("ignored");
    expect(row.last_error).toContain("customer.created");
    expect(h.logs.some((l) => l.includes('"level":"warn"') && l.includes("ignored"))).toBe(true);
  });

  test("an unknown appointment is stored and marked failed with the reason", async () => {
    const missing = "00000000-0000-4000-8000-000000000000";
    const event = stripeEvent("payment_intent.succeeded", paymentIntent(missing));
    expect((await send(event)).status).toBe(200);
    await h.drain();
    const [row] = await rows`select status, last_error from webhook_events where idempotency_key = ${event.id}`;
    expect(row).toEqual({ status: "failed", last_error: `unknown appointment ${missing}` });
    const notUuid = stripeEvent("payment_intent.succeeded", paymentIntent("booking-42"));
    await send(notUuid);
    await h.drain();
    const [row2] = await rows`select status, last_error from webhook_events where idempotency_key = ${notUuid.id}`;
    expect(row2).toEqual({ status: "failed", last_error: "unknown appointment booking-42" });
  });
});

describe("out of order", () => {
  test("a late payment_failed after succeeded never un-pays or holds the appointment", async () => {
    const { appointment } = await seedAppointment(h, { email: "late@patient.test" });
    await send(stripeEvent("payment_intent.succeeded", paymentIntent(appointment.id)));
    await h.drain();
    const late = stripeEvent("payment_intent.payment_failed", paymentIntent(appointment.id));
    await send(late);
    await h.drain();
    const after = await get(`/v1/appointments/${appointment.id}`);
    expect(after.status).toBe("confirmed");
    expect(after.deposit_paid).toBe(true);
    expect(after.hold_expires_at).toBeNull();
    const holds = await rows`select 1 from graphile_worker.jobs where key = ${`hold:${appointment.id}`}`;
    expect(holds).toHaveLength(0);
    expect(h.smtp.messages.some((m) => m.to.includes("late@patient.test"))).toBe(false);
    const [row] = await rows`select status from webhook_events where idempotency_key = ${late.id}`;
    expect(row.status).toBe("ignored");
  });

  test("succeeded after failed confirms and clears the hold", async () => {
    const { appointment } = await seedAppointment(h);
    await send(stripeEvent("payment_intent.payment_failed", paymentIntent(appointment.id)));
    await h.drain();
    await send(stripeEvent("payment_intent.succeeded", paymentIntent(appointment.id)));
    await h.drain();
    const after = await get(`/v1/appointments/${appointment.id}`);
    expect(after.status).toBe("confirmed");
    expect(after.hold_expires_at).toBeNull();
  });
});
