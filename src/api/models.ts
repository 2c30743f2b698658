import { t, type TSchema } from "elysia";
import { EVENT_SOURCES, PROVIDERS } from "../domain/webhooks";

/** The building blocks of every model of the management API. */
export const Uuid = (example = "6f1c2b9e-8a3d-4c55-9a7e-2d4f1b0c9e11") =>
  t.String({ format: "uuid", examples: [example] });
export const Time = (example = "2026-11-23T15:00:00.000Z") => t.String({ format: "date-time", examples: [example] });
export const Nullable = <T extends TSchema>(s: T) => t.Union([s, t.Null()]);
export const E164 = t.String({
  pattern: "^\\+?[0-9 ().-]{7,20}$", examples: ["+15551234567"],
  description: "E.164; spaces, dashes and brackets are removed",
});
const Email = t.String({ format: "email", examples: ["front-desk@example-clinic.com"] });
const HttpsUrl = t.String({ pattern: "^https?://", examples: ["https://hooks.example-clinic.com/switchboard"] });

export const ClinicCreate = t.Object({
  name: t.String({ minLength: 1, maxLength: 200, examples: ["Harbor Dental"] }),
  phone: t.String({
    pattern: "^\\+?[0-9 ().-]{3,20}$", examples: ["+15551234567", "89123"],
    description: "The clinic's Twilio number: E.164, or a short code",
  }),
  timezone: t.String({ minLength: 1, examples: ["America/New_York"], description: "IANA time zone" }),
  email: t.Optional(Email),
  callback_url: t.Optional(HttpsUrl),
  auto_reply: t.Optional(t.String({ minLength: 1, maxLength: 1000 })),
  help_text: t.Optional(t.String({ minLength: 1, maxLength: 1000 })),
  sms_per_second: t.Optional(
    t.Integer({ minimum: 1, maximum: 100, description: "Sending pace of the clinic's number" }),
  ),
});
export const Clinic = t.Object({
  id: Uuid(), name: t.String(), phone: t.String(), timezone: t.String(), email: Nullable(t.String()),
  callback_url: Nullable(t.String()), auto_reply: Nullable(t.String()), help_text: Nullable(t.String()),
  sms_per_second: t.Integer(), created_at: Time(),
});

export const PatientCreate = t.Object({
  clinic_id: Uuid(),
  name: t.String({ minLength: 1, maxLength: 200, examples: ["Ada Lovelace"] }),
  phone: E164,
  email: t.Optional(Email),
});
export const Patient = t.Object({
  id: Uuid(), clinic_id: Uuid(), name: t.String(), phone: t.String(), email: Nullable(t.String()),
  opted_out: t.Boolean(), opted_out_at: Nullable(Time()), opt_out_type: Nullable(t.String()), created_at: Time(),
});

// Spelled out rather than t.UnionEnum: UnionEnum gives an optional query parameter a default of its first
// value, which silently turns "no filter" into a filter.
export const AppointmentStatus = t.Union([
  t.Literal("pending"), t.Literal("confirmed"), t.Literal("payment_pending"), t.Literal("cancellation_requested"),
  t.Literal("reschedule_requested"), t.Literal("cancelled"), t.Literal("completed"),
]);
export const WebhookProvider = t.Union(PROVIDERS.map((provider) => t.Literal(provider)));
export const EventSource = t.Union(EVENT_SOURCES.map((source) => t.Literal(source)));
export const WebhookEventStatus =
  t.Union([t.Literal("pending"), t.Literal("processed"), t.Literal("failed"), t.Literal("ignored")]);
export const AppointmentCreate = t.Object({
  patient_id: Uuid(),
  starts_at: Time(),
  deposit_amount: t.Optional(
    t.Integer({ minimum: 0, maximum: 100_000_000, examples: [6000], description: "Minor units (cents)" }),
  ),
  currency: t.Optional(t.String({ pattern: "^[A-Za-z]{3}$", examples: ["usd"] })),
});
export const AppointmentPatch = t.Object({
  status: t.Optional(AppointmentStatus),
  starts_at: t.Optional(Time()),
  deposit_amount: t.Optional(t.Integer({ minimum: 0, maximum: 100_000_000 })),
}, { minProperties: 1 });
export const Appointment = t.Object({
  id: Uuid(), clinic_id: Uuid(), patient_id: Uuid(), starts_at: Time(), status: AppointmentStatus,
  deposit_amount: t.Union([t.Integer(), t.Null()]), currency: t.String(), deposit_paid: t.Boolean(),
  deposit_paid_at: Nullable(Time()),
  deposit_refunded: t.Boolean({ description: "True only once the deposit is fully refunded" }),
  deposit_refund_status: t.Union([t.Literal("none"), t.Literal("partial"), t.Literal("full")], {
    description: "Whether the deposit is partly or fully refunded, from the refunds booked against what was paid",
  }),
  deposit_refunded_amount: t.Integer({ minimum: 0, examples: [2000], description: "Minor units refunded so far" }),
  refunded_at: Nullable(Time("2026-11-24T09:30:00.000Z")),
  hold_expires_at: Nullable(Time()), sms_status: Nullable(t.String()), sms_delivered: t.Boolean(),
  sms_delivered_at: Nullable(Time()), reminder_sent_at: Nullable(Time()), created_at: Time(), updated_at: Time(),
});
export const HistoryEntry = t.Object({
  id: t.Integer(), from_status: Nullable(t.String()), to_status: t.String(),
  cause_type: t.String({ examples: ["webhook_event"] }), cause_id: Nullable(t.String()),
  note: Nullable(t.String({
    examples: ["payment received after the appointment was cancelled; kept cancelled; clinic notified"],
    description: "Why, for an event that left the status as it was (from_status = to_status)",
  })),
  at: Time(),
});

export const WebhookEventSummary = t.Object({
  id: t.Integer(), provider: t.String({ examples: ["stripe"] }),
  idempotency_key: t.String({ examples: ["evt_1Q2w3E"] }),
  phone: Nullable(t.String({ examples: ["+15557654321"], description: "The patient's number of a Twilio webhook" })),
  received_at: Time(), response_status: t.Integer(), response_ms: t.Union([t.Integer(), t.Null()]),
  status: t.String({ examples: ["processed"] }), attempts: t.Integer(), last_error: Nullable(t.String()),
  processed_at: Nullable(Time()),
  source: t.String({
    examples: ["webhook"], description: "`webhook`, or `reconcile` when reconciliation found it missing and fetched it",
  }),
  source_note: Nullable(t.String({
    examples: ["found in Stripe's event list; no webhook had delivered it"],
    description: "Why a reconciled event was fetched",
  })),
});
export const WebhookEvent = t.Composite([WebhookEventSummary, t.Object({
  provider_token: Nullable(t.String()), headers: t.Record(t.String(), t.String()), raw_body: t.String(),
  response_body: t.String(), response_content_type: t.String(),
  purged_at: t.Optional(Nullable(t.String({ format: "date-time",
    description: "When retention emptied raw_body and headers (RETENTION_DAYS); null while they are kept" }))),
})]);

export const WebhookEventRaw = t.Object({
  id: t.Integer(), provider: t.String({ examples: ["twilio-sms"] }),
  idempotency_key: t.String({ examples: ["SM0123"] }), received_at: Time(),
  path: t.String({ examples: ["/v1/clinic/webhooks/twilio/sms"], description: "The route it was received on" }),
  content_type: t.String({ examples: ["application/x-www-form-urlencoded"] }),
  raw_body: t.String({ description: "Byte for byte as the provider sent it" }),
  params: t.Union([t.Record(t.String(), t.Union([t.String(), t.Array(t.String())])), t.Null()], {
    description: "Form parameters (Twilio), a repeated name as a list; null for a JSON body (Stripe)",
  }),
});

export const IdParam = t.Object({ id: Uuid() });
// The title names the field in a validation error (see QueryInt in paging.ts).
export const NumericIdParam = t.Object({
  id: t.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, title: "id" }),
});

/** Route documentation of the management API: a tag, a summary, an operationId and the bearer scheme. */
export const apiDetail = (tag: string) => (operationId: string, summary: string) =>
  ({ tags: [tag], summary, operationId, security: [{ bearer: [] }] });
