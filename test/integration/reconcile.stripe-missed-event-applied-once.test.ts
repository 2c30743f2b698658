import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildDeps, closeDeps } from "../../src/deps";
import { reconcileDue } from "../../src/reconcile/run";
import { type FakeStripe, startFakeStripe } from "../support/fake-stripe";
import { type FakeTwilio, startFakeTwilio } from "../support/fake-twilio";
import {
  createHarness, type Harness, seedAppointment, testClock, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN,
} from "../support/harness";
import { charge, paymentIntent, signedStripeRequest } from "../support/stripe";
import { uniquePhone } from "../support/twilio";

const MINUTE = 60_000;
const SECRET_KEY = "sk_test_reconcile0123456789";
const STRIPE_PATH = "/api/v1/webhooks/stripe/payment-events";
let twilio: FakeTwilio;
beforeAll(async () => {
  twilio = await startFakeTwilio({ accountSid: TWILIO_ACCOUNT_SID, authToken: TWILIO_AUTH_TOKEN });
});
afterAll(() => twilio.close());

/**
 * A harness of its own (fresh database and checkpoint) and a Stripe of its own; the clock starts after its
 * appointment was made.
 */
async function world(env: Record<string, string> = {}) {
  const clock = testClock();
  const stripe: FakeStripe = startFakeStripe({ secretKey: SECRET_KEY });
  const h: Harness = await createHarness(
    { STRIPE_SECRET_KEY: SECRET_KEY, STRIPE_API_URL: stripe.url, TWILIO_API_URL: twilio.url, ...env },
    { sleep: async () => {}, clock },
  );
  const seeded = await seedAppointment(h, { phone: uniquePhone() });
  clock.set(new Date(Math.max(clock.now().getTime(), Date.parse(seeded.appointment.created_at)) + 1000));
  const rows = (q: TemplateStringsArray, ...v: any[]) => h.deps.sql(q, ...v) as Promise<any[]>;
  return {
    h, clock, rows, stripe, ...seeded,
    run: async (deps = h.deps) => (await reconcileDue(deps, "stripe"))[0]!,
    /** An event Stripe created now, whose webhook never reached Switchboard. */
    missed: (type: string, object: Record<string, unknown>) => stripe.emit(type, object, clock.now()),
    ledger: (appointmentId: string) =>
      rows`select kind, amount from transactions where appointment_id = ${appointmentId} order by created_at`,
    source: async (key: string) =>
      (await rows`select source from webhook_events where idempotency_key = ${key}`)[0]?.source,
    texts: () => twilio.messages.filter((m) => m.to === seeded.patient.phone),
    checkpoint: async () => (await rows`select checkpoint_at, cursor, failures, last_error
      from reconcile_checkpoints where provider = 'stripe'`)[0],
    async close() {
      await h.close();
      stripe.close();
    },
  };
}

describe("a Stripe event missed during an outage", () => {
  test("is found in Stripe's event list and applied once; found again or delivered late, nothing changes", async () => {
    const w = await world();
    try {
      const paid = w.missed("payment_intent.succeeded", paymentIntent(w.appointment.id));
      w.missed("customer.created", { id: "cus_1", object: "customer" });
      w.clock.advance(3 * MINUTE);
      const report = await w.run();
      expect(report).toMatchObject({ pass: "stripe", outcome: "complete", checked: 1 });
      expect(report.found.map((f) => f.key)).toEqual([paid.id]);
      await w.h.drain();

      const [appointment] = await w.rows`select status, deposit_paid from appointments where id = ${w.appointment.id}`;
      expect(appointment).toEqual({ status: "confirmed", deposit_paid: true });
      expect(await w.ledger(w.appointment.id)).toEqual([{ kind: "deposit", amount: 6000 }]);
      expect(w.texts()).toHaveLength(1);
      const [event] = await w.rows`select source, source_note, status, raw_body, headers from webhook_events
        where idempotency_key = ${paid.id}`;
      const json = { "content-type": "application/json" };
      expect(event).toMatchObject({ source: "reconcile", status: "processed", headers: json });
      expect(event.source_note).toBe("found in Stripe's event list; no webhook had delivered it");
      expect(JSON.parse(event.raw_body)).toEqual(paid);
      const listed = new URL(w.stripe.url + w.stripe.requests.at(-1)!).searchParams;
      expect([...listed.entries()].filter(([k]) => k.startsWith("types")).map(([, v]) => v).sort())
        .toEqual(["charge.refunded", "payment_intent.payment_failed", "payment_intent.succeeded"]);
      expect(Number(listed.get("created[gte]"))).toBeLessThanOrEqual(paid.created);

      // The next run lists it again (overlap): already stored. Then Stripe's own retry gets through.
      w.clock.advance(10 * MINUTE);
      expect(await w.run()).toMatchObject({ outcome: "complete", checked: 1, found: [] });
      const late = await w.h.request(STRIPE_PATH, await signedStripeRequest(paid));
      expect(late.status).toBe(200);
      expect(await late.json()).toEqual({ received: true });
      await w.h.drain();
      expect(await w.ledger(w.appointment.id)).toHaveLength(1);
      expect(w.texts()).toHaveLength(1);
      expect(await w.rows`select 1 from webhook_events where idempotency_key = ${paid.id}`).toHaveLength(1);
    } finally {
      await w.close();
    }
  });

  test("an event whose webhook did arrive is not stored again", async () => {
    const w = await world();
    try {
      const refund = w.missed("charge.refunded", charge(w.appointment.id));
      expect((await w.h.request(STRIPE_PATH, await signedStripeRequest(refund))).status).toBe(200);
      w.clock.advance(3 * MINUTE);
      expect(await w.run()).toMatchObject({ outcome: "complete", checked: 1, found: [] });
      expect(await w.source(refund.id)).toBe("webhook");
    } finally {
      await w.close();
    }
  });
});

describe("the cron task", () => {
  test("queued as graphile-worker's cron queues it runs the pass, and the event is applied", async () => {
    const w = await world();
    try {
      const paid = w.missed("payment_intent.succeeded", paymentIntent(w.appointment.id));
      w.clock.advance(3 * MINUTE);
      await w.h.deps.sql`select graphile_worker.add_job('reconcile-stripe', '{}'::json,
        queue_name := 'reconcile', priority := 10)`;
      await w.h.drain();
      expect(await w.source(paid.id)).toBe("reconcile");
      expect(await w.ledger(w.appointment.id)).toEqual([{ kind: "deposit", amount: 6000 }]);
      expect(w.h.logs.some((l) => l.includes("reconciliation pass ran") && l.includes('"found":1'))).toBe(true);
    } finally {
      await w.close();
    }
  });
});

describe("Stripe failing or throttling", () => {
  test("500 and 429 are retried on later runs, with backoff; the checkpoint waits for them", async () => {
    const w = await world();
    try {
      const paid = w.missed("payment_intent.succeeded", paymentIntent(w.appointment.id));
      w.clock.advance(3 * MINUTE);
      w.stripe.fail({ status: 500, type: "api_error", message: "Something went wrong on Stripe's end." });
      expect(await w.run()).toMatchObject({ outcome: "failed", cause: "unavailable", found: [] });
      const start = (await w.checkpoint()).checkpoint_at;

      w.clock.advance(10 * MINUTE);
      w.stripe.fail({ status: 429, type: "rate_limit_error", message: "Too many requests" });
      const throttled = await w.run();
      expect(throttled).toMatchObject({ outcome: "failed", cause: "throttled" });
      expect(throttled.error).toContain("Too many requests");
      expect(await w.checkpoint()).toMatchObject({ checkpoint_at: start, failures: 2 });

      w.clock.advance(10 * MINUTE);
      expect(await w.run()).toMatchObject({ outcome: "backing_off" });
      w.clock.advance(10 * MINUTE);
      expect((await w.run()).found.map((f) => f.key)).toEqual([paid.id]);
      expect(await w.checkpoint()).toMatchObject({ failures: 0, last_error: null });
    } finally {
      await w.close();
    }
  });
});

describe("many events", () => {
  test("are paged with starting_after; a run that reaches RECONCILE_MAX_CALLS resumes there next time", async () => {
    const w = await world({ RECONCILE_MAX_CALLS: "2", RECONCILE_PAGE_SIZE: "2" });
    try {
      const others = await Promise.all([0, 1, 2, 3].map(() => seedAppointment(w.h, { phone: uniquePhone() })));
      const appointments = [w.appointment, ...others.map((o) => o.appointment)];
      const made = appointments.map((a) => Date.parse(a.created_at));
      w.clock.set(new Date(Math.max(w.clock.now().getTime(), ...made) + 1000));
      const start = w.clock.now().getTime();
      const events = appointments.map((a, i) =>
        w.stripe.emit("payment_intent.succeeded", paymentIntent(a.id), new Date(start + i * 1000)));
      w.clock.advance(3 * MINUTE);
      const first = await w.run();
      expect(first).toMatchObject({ outcome: "partial", checked: 4 });
      expect((await w.checkpoint()).cursor).toBe(events[1]!.id);
      const second = await w.run();
      expect(second).toMatchObject({ outcome: "complete", checked: 1 });
      expect([...first.found, ...second.found].map((f) => f.key).sort()).toEqual(events.map((e) => e.id).sort());
      expect(w.stripe.requests.filter((r) => r.includes(`starting_after=${events[1]!.id}`))).toHaveLength(1);
      await w.h.drain();
      for (const a of appointments) expect(await w.ledger(a.id)).toHaveLength(1);
    } finally {
      await w.close();
    }
  });

  test("two workers running the pass at once store each event once", async () => {
    const w = await world();
    const second = buildDeps(w.h.config, w.h.deps.databaseUrl, { log: w.h.deps.log, clock: w.clock });
    try {
      const paid = w.missed("payment_intent.succeeded", paymentIntent(w.appointment.id));
      w.clock.advance(3 * MINUTE);
      const reports = await Promise.all([w.run(), w.run(second)]);
      expect(reports.flatMap((r) => r.found.map((f) => f.key))).toEqual([paid.id]);
      await w.h.drain();
      expect(await w.ledger(w.appointment.id)).toHaveLength(1);
      expect(w.texts()).toHaveLength(1);
    } finally {
      await closeDeps(second);
      await w.close();
    }
  });
});
