import { afterAll, beforeAll, expect, test } from "bun:test";
import { queueClinicEvent } from "../../src/effects/messages";
import { type SupervisedWorker, superviseWorker } from "../../src/jobs/supervise";
import { createHarness, type Harness, seedAppointment } from "../support/harness";
import { startReceiver, waitFor } from "../support/receiver";
import { paymentIntent, signedStripeRequest, stripeEvent } from "../support/stripe";

// Production settings: WORKER_CONCURRENCY 10, OUTBOUND_MAX_IN_FLIGHT 10, OUTBOUND_TIMEOUT_MS 30 s.
let h: Harness;
let receiver: ReturnType<typeof startReceiver>;
let worker: SupervisedWorker;

beforeAll(async () => {
  h = await createHarness({ OUTBOUND_ALLOW_PRIVATE: "true" });
  receiver = startReceiver([{ hang: true }]);
  worker = await superviseWorker(h.deps);
});
afterAll(async () => {
  await receiver.close();
  await worker.stop();
  await h.close();
}, 60_000);

test("customer endpoints that never answer do not hold up the processing of Stripe webhooks", async () => {
  for (let e = 0; e < 3; e++) {
    const res = await h.api("POST", "/v1/clinics", {
      name: `Hanging ${e}`, phone: `+1555000${String(e).padStart(4, "0")}`, timezone: "UTC",
      callback_url: `${receiver.url}/hang/${e}`,
    });
    expect(res.status).toBe(201);
    const clinic = await res.json() as { id: string };
    await h.deps.db.transaction(async (tx) => {
      for (let i = 0; i < 15; i++) {
        await queueClinicEvent(
          tx, { clinicId: clinic.id, type: "test.event", dedupeKey: `hang:${e}:${i}`, data: { i } },
        );
      }
    });
  }
  // The hanging endpoints hold at least as many attempts as there are processing workers.
  await waitFor(() => receiver.received.length >= 10, "attempts hanging at the receiver", 20_000);

  const events: string[] = [];
  for (let i = 0; i < 20; i++) {
    const { appointment } = await seedAppointment(h);
    const event = stripeEvent("payment_intent.succeeded", paymentIntent(appointment.id));
    expect((await h.request("/api/v1/webhooks/stripe/payment-events", await signedStripeRequest(event))).status)
      .toBe(200);
    events.push(event.id);
  }
  // Well under the 30 s the hanging attempts take to time out.
  await waitFor(async () => {
    const [row] = await h.deps.sql`select count(*)::int as n from webhook_events
      where idempotency_key = any(${events}) and status = 'processed'`;
    return row!.n === events.length;
  }, "every Stripe event processed while the endpoints hang", 12_000);
  expect(receiver.received.length).toBeGreaterThanOrEqual(20);
}, 90_000);
