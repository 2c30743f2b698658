/** The providers whose webhooks Switchboard receives, as webhook_events.provider names them. */
export const PROVIDERS = ["stripe", "twilio-sms", "twilio-status", "twilio-debugger"] as const;
export type Provider = (typeof PROVIDERS)[number];

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
