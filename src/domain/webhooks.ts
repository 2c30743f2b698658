/** The providers whose webhooks Switchboard receives, as webhook_events.provider names them. */
export const PROVIDERS = ["stripe", "twilio-sms", "twilio-status", "twilio-debugger"] as const;
export type Provider = (typeof PROVIDERS)[number];

/** The Stripe event types Switchboard acts on (SPEC 5; reconciliation lists these); others are stored as ignored. */
export const STRIPE_EVENT_TYPES =
  ["payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded"] as const;
export type StripeEventType = (typeof STRIPE_EVENT_TYPES)[number];

/** How an event reached us: its provider's webhook, or reconciliation asking the provider (src/reconcile/). */
export const EVENT_SOURCES = ["webhook", "reconcile"] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

/**
 * Where each provider calls (SPEC 3, 4, 5). The status callback path is also the one send-sms gives Twilio as
 * `statusCallback`, so it is defined here, once, below both.
 */
export const STRIPE_PATH = "/api/v1/webhooks/stripe/payment-events";
export const TWILIO_SMS_PATH = "/v1/clinic/webhooks/twilio/sms";
export const TWILIO_SMS_FALLBACK_PATH = `${TWILIO_SMS_PATH}/fallback`;
export const TWILIO_STATUS_PATH = "/api/v1/webhooks/twilio/sms-status";
export const TWILIO_DEBUGGER_PATH = "/api/v1/webhooks/twilio/debugger";

/** What a webhook is answered: stored with the event, and given again to every retry of it. */
export interface Answer {
  status: number;
  body: string;
  contentType: string;
}

const json = (status: number, body: object): Answer =>
  ({ status, body: JSON.stringify(body), contentType: "application/json" });

/** Stripe's event stored (SPEC 5), whether it came as a webhook or was fetched by reconciliation. */
export const STRIPE_RECEIVED = json(200, { received: true });
/** A Twilio status callback or Debugger event stored (SPEC 4). */
export const TWILIO_RECEIVED = json(200, { status: "received" });
/** Not stored: a 5xx, so that the provider retries (SPEC 2). */
export const STORAGE_FAILED = json(500, { error: "storage_unavailable" });
/** A Twilio webhook refused (bad signature, or a source outside INBOUND_ALLOW_CIDRS). */
export const FORBIDDEN: Answer = { status: 403, body: "Forbidden", contentType: "text/plain; charset=utf-8" };
