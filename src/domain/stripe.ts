import type Stripe from "stripe";
import { STRIPE_EVENT_TYPES, type StripeEventType } from "./webhooks";

/** An appointment id as Switchboard makes them (a UUID, any case). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** metadata.booking_id (alias appointment_id) of a Stripe object, if it names one. */
export function metadataAppointmentId(object: { metadata?: Stripe.Metadata | null }): string | undefined {
  return (object.metadata?.booking_id ?? object.metadata?.appointment_id) || undefined;
}

/** A Stripe event Switchboard acts on (SPEC 5), as the stripe SDK types it. */
export type HandledStripeEvent = Extract<Stripe.Event, { type: StripeEventType }>;

export const isHandled = (event: Stripe.Event): event is HandledStripeEvent =>
  (STRIPE_EVENT_TYPES as readonly string[]).includes(event.type);

/** What a succeeded payment books: a hand-made event may lack parts Stripe always sends. */
export function paymentOf(event: Stripe.PaymentIntentSucceededEvent, fallbackCurrency: string) {
  const intent = event.data.object;
  return {
    paymentId: intent.id ?? event.id,
    amount: intent.amount_received ?? intent.amount ?? 0,
    currency: intent.currency ?? fallbackCurrency,
  };
}
