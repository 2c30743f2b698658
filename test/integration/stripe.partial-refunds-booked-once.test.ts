import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { MIGRATIONS_DIR } from "../../src/db";
import { createMailHarness, type MailHarness, seedAppointment } from "../support/harness";
import { charge, paymentIntent, signedStripeRequest, stripeEvent } from "../support/stripe";

// Stripe's charge.refunded carries the charge, whose amount_refunded is cumulative: two partial refunds of
// $20 and $10 arrive as amount_refunded 2000, then 3000. The ledger must hold what Stripe refunded, once.

const PATH = "/api/v1/webhooks/stripe/payment-events";
let h: MailHarness;
beforeAll(async () => { h = await createMailHarness(); });
afterAll(() => h.close());

const send = async (event: object) => {
  const res = await h.request(PATH, await signedStripeRequest(event));
  if (res.status !== 200) throw new Error(`stripe webhook answered ${res.status}`);
};
const get = async (path: string) => (await h.api("GET", path)).json() as Promise<any>;
const rows = (q: TemplateStringsArray, ...v: any[]) => h.deps.sql(q, ...v) as Promise<any[]>;
const refundRows = (appointmentId: string) =>
  rows`select amount from transactions where appointment_id = ${appointmentId} and kind = 'refund'
    order by created_at, amount`;
const refundTotal = async (appointmentId: string) =>
  (await refundRows(appointmentId)).reduce((sum, r) => sum + r.amount, 0);
const refundMails = (to: string) =>
  h.smtp.messages.filter((m) => m.to.includes(to)).map((m) => h.smtp.text(m));

/** A paid appointment and the charge its deposit went through. */
async function paid(email: string) {
  const { appointment } = await seedAppointment(h, { email });
  const pi = paymentIntent(appointment.id);
  await send(stripeEvent("payment_intent.succeeded", pi));
  await h.drain();
  const refunded = (cumulative: number) => stripeEvent("charge.refunded", charge(appointment.id, {
    id: `ch_for_${appointment.id}`, payment_intent: pi.id, amount_refunded: cumulative, refunded: cumulative >= 6000,
  }));
  return { appointment, refunded };
}

describe("partial refunds of one charge", () => {
  test("two partial refunds book what Stripe refunded, say partial, and each email states its amount", async () => {
    const { appointment, refunded } = await paid("partial@patient.test");
    await send(refunded(2000));
    await h.drain();
    await send(refunded(3000));
    await h.drain();

    expect(await refundRows(appointment.id)).toEqual([{ amount: 2000 }, { amount: 1000 }]);
    expect(await refundTotal(appointment.id)).toBe(3000);
    const after = await get(`/v1/appointments/${appointment.id}`);
    expect(after).toMatchObject({
      deposit_refund_status: "partial", deposit_refunded_amount: 3000, deposit_refunded: false, deposit_paid: true,
    });
    expect(after.refunded_at).not.toBeNull();
    const mails = refundMails("partial@patient.test");
    expect(mails).toHaveLength(2);
    expect(mails[0]).toContain("Your $20.00 deposit refund has been issued");
    expect(mails[0]).toContain("$20.00 of your $60.00 deposit has been refunded so far");
    expect(mails[1]).toContain("Your $10.00 deposit refund has been issued");
    expect(mails[1]).toContain("$30.00 of your $60.00 deposit has been refunded so far");

    // The rest is refunded: the deposit is now fully refunded, and the email says so for the last $30.00.
    await send(refunded(6000));
    await h.drain();
    expect(await refundTotal(appointment.id)).toBe(6000);
    expect(await get(`/v1/appointments/${appointment.id}`)).toMatchObject({
      deposit_refund_status: "full", deposit_refunded_amount: 6000, deposit_refunded: true,
    });
    const last = refundMails("partial@patient.test")[2];
    expect(last).toContain("Your $30.00 deposit refund has been issued");
    expect(last).toContain("Your $60.00 deposit is now fully refunded");
  });

  test("out of order or replayed, a smaller or equal cumulative amount books nothing", async () => {
    const { appointment, refunded } = await paid("order@patient.test");
    const second = refunded(3000);
    const first = refunded(2000);
    await send(second);
    await h.drain();
    await send(first);
    await h.drain();
    expect(await refundTotal(appointment.id)).toBe(3000);
    const [late] = await rows`select status, last_error from webhook_events where idempotency_key = ${first.id}`;
    expect(late.status).toBe("processed");
    expect(late.last_error).toContain("nothing new to book");

    // An operator replays both stored events: still 3000, still one email.
    for (const event of [second, first]) {
      const [stored] = await rows`select id from webhook_events where idempotency_key = ${event.id}`;
      expect((await h.api("POST", `/v1/webhook-events/${stored.id}/replay`)).status).toBe(202);
    }
    await h.drain();
    expect(await refundTotal(appointment.id)).toBe(3000);
    expect(await get(`/v1/appointments/${appointment.id}`)).toMatchObject({
      deposit_refund_status: "partial", deposit_refunded_amount: 3000, deposit_refunded: false,
    });
    const mails = refundMails("order@patient.test");
    expect(mails).toHaveLength(1);
    expect(mails[0]).toContain("Your $30.00 deposit refund has been issued");
  });

  test("the appointment model documents the refund fields in /docs/json", async () => {
    const doc = await (await h.request("/docs/json")).json() as any;
    const schema = doc.paths["/v1/appointments/{id}"].get.responses["200"].content["application/json"].schema;
    const fields = ["deposit_refund_status", "deposit_refunded_amount"];
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(fields));
    expect(schema.required).toEqual(expect.arrayContaining(fields));
  });
});

describe("refunds booked before the fix", () => {
  test("migration 0005 turns cumulative rows into increments and derives the appointment's refund fields", async () => {
    const { appointment: partly } = await paid("legacy1@patient.test");
    const { appointment: fully } = await paid("legacy2@patient.test");
    // What the old code wrote: each event's cumulative amount_refunded as a row, deposit_refunded on any refund.
    const legacy = [
      [partly.id, "ch_legacy_a", 2000], [partly.id, "ch_legacy_a", 3000], [fully.id, "ch_legacy_b", 6000],
    ] as const;
    for (const [id, chargeId, cumulative] of legacy) {
      await rows`insert into transactions (appointment_id, kind, stripe_object_id, amount, currency)
        values (${id}, 'refund', ${`${chargeId}:${cumulative}`}, ${cumulative}, 'usd')`;
    }
    await rows`update appointments set deposit_refunded = true where id in ${h.deps.sql([partly.id, fully.id])}`;

    const migration = readFileSync(resolve(MIGRATIONS_DIR, "0005_backfill_refund_increments.sql"), "utf8");
    await h.deps.sql.begin(async (tx) => {
      for (const statement of migration.split("--> statement-breakpoint")) await tx.unsafe(statement);
    });

    expect(await rows`select charge_id, amount from transactions where appointment_id = ${partly.id} and kind = 'refund'
      order by amount desc`).toEqual([
      { charge_id: "ch_legacy_a", amount: 2000 }, { charge_id: "ch_legacy_a", amount: 1000 },
    ]);
    expect(await get(`/v1/appointments/${partly.id}`)).toMatchObject({
      deposit_refund_status: "partial", deposit_refunded_amount: 3000, deposit_refunded: false,
    });
    expect(await get(`/v1/appointments/${fully.id}`)).toMatchObject({
      deposit_refund_status: "full", deposit_refunded_amount: 6000, deposit_refunded: true,
    });

    // A later event for the repaired charge books only what is new.
    await send(stripeEvent("charge.refunded", charge(partly.id, { id: "ch_legacy_a", amount_refunded: 4000 })));
    await h.drain();
    expect(await refundTotal(partly.id)).toBe(4000);
  });
});
