import Stripe from "stripe";
import { STRIPE_SECRET } from "./harness";

let seq = 0;

/** A Stripe event as Stripe sends it (the parts Switchboard reads, plus the envelope). */
export function stripeEvent(type: string, object: Record<string, unknown>, id = `evt_test_${Date.now()}_${++seq}`) {
  return {
    id, object: "event", api_version: "2024-06-20", created: Math.floor(Date.now() / 1000), livemode: false, type,
    data: { object },
  };
}

export const paymentIntent = (appointmentId: string, extra: Record<string, unknown> = {}) => ({
  id: `pi_test_${++seq}`, object: "payment_intent", amount: 6000, amount_received: 6000, currency: "usd",
  metadata: { booking_id: appointmentId }, ...extra,
});

export const charge = (appointmentId: string, extra: Record<string, unknown> = {}) => ({
  id: `ch_test_${++seq}`, object: "charge", amount: 6000, amount_refunded: 6000, currency: "usd", refunded: true,
  payment_intent: null, metadata: { booking_id: appointmentId }, ...extra,
});

/** Signs with the stripe SDK's own test helper, exactly as Stripe would. */
export async function signedStripeRequest(
  payload: string | object,
  opts: { secret?: string; timestamp?: number; header?: string; contentType?: string } = {},
): Promise<RequestInit> {
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  const header = opts.header ?? await Stripe.webhooks.generateTestHeaderStringAsync({
    payload: body, secret: opts.secret ?? STRIPE_SECRET, timestamp: opts.timestamp,
  });
  return {
    method: "POST",
    headers: { "content-type": opts.contentType ?? "application/json", "stripe-signature": header },
    body,
  };
}
