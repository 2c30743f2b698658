import { t } from "elysia";
import { Nullable, Time, Uuid } from "./models";

const Secret = t.String(
  { pattern: "^whsec_", examples: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], description: "Shown once" },
);

export const Channel = t.Union([t.Literal("API"), t.Literal("WHATSAPP"), t.Literal("SMS")]);
export const ConversationCreate = t.Object({
  channel: Channel,
  usecase: t.String({ minLength: 1, maxLength: 200, examples: ["appointment-booking"] }),
  config: t.Object({
    workflow_id: t.Optional(t.String({ minLength: 1, maxLength: 200 })),
    callback_url: t.String({
      minLength: 8, maxLength: 2000, examples: ["https://hooks.example-clinic.com/switchboard"],
      description: "https; private, loopback and link-local targets are refused",
    }),
  }),
});
export const Conversation = t.Object({
  id: Uuid(), channel: t.String(), usecase: t.String(),
  config: t.Object({ workflow_id: Nullable(t.String()), callback_url: Nullable(t.String()) }),
  clinic_id: Nullable(Uuid()), patient_id: Nullable(Uuid()), endpoint_id: Nullable(Uuid()), created_at: Time(),
});
export const ConversationCreated = t.Composite([Conversation, t.Object({ webhook_secret: Secret })]);

/** metadata is re-sent in every delivery of its message (SPEC 6): 16 KiB of JSON at most. */
export const METADATA_MAX_BYTES = 16 * 1024;

export const MessageCreate = t.Object({
  content: t.String({ maxLength: 10_000, examples: ["Can I move my appointment to Friday?"] }),
  content_type: t.Union(["TEXT", "IMAGE", "VIDEO", "AUDIO", "DOCUMENT"].map((s) => t.Literal(s))),
  type: t.String({ minLength: 1, maxLength: 50, examples: ["USER_INPUT"] }),
  filename: t.Optional(t.String({ minLength: 1, maxLength: 500 })),
  metadata: t.Optional(t.Record(t.String(), t.Any(), { description: "Any JSON object, at most 16 KiB serialized" })),
});
export const Message = t.Object({
  id: Uuid(), conversation_id: Uuid(), content: t.String(), content_type: t.String(), filename: t.Optional(t.String()),
  type: t.String(), channel: t.String(), status: t.String(), metadata: t.Record(t.String(), t.Any()),
  created_by: t.String(), updated_by: t.String(), created_at: Time(), updated_at: Time(),
});

export const Endpoint = t.Object({
  id: Uuid(), url: t.String(), conversation_id: Nullable(Uuid()), clinic_id: Nullable(Uuid()),
  previous_secret_expires_at: Nullable(Time()), failing_since: Nullable(Time()), disabled_at: Nullable(Time()),
  disabled_reason: Nullable(t.String()),
  purpose: Nullable(t.String(
    { examples: ["alerts"], description: "Set on Switchboard's own endpoints: `alerts` is ALERT_WEBHOOK_URL" },
  )),
  created_at: Time(),
});
export const SecretRotated = t.Object({
  endpoint_id: Uuid(), webhook_secret: Secret,
  previous_secret_expires_at: Nullable(Time()),
});

export const DeliverySummary = t.Object({
  id: Uuid(), endpoint_id: Uuid(), conversation_id: Nullable(Uuid()), message_id: Nullable(Uuid()),
  clinic_event_id: Nullable(Uuid()),
  event_type: t.String({ examples: ["message.created"] }), webhook_id: t.String({ examples: ["msg_2f8c..."] }),
  status: t.Union([t.Literal("pending"), t.Literal("succeeded"), t.Literal("failed")]), attempts: t.Integer(),
  next_attempt_at: Time(), last_status: Nullable(t.Integer()), last_error: Nullable(t.String()), created_at: Time(),
  completed_at: Nullable(Time()),
});
export const Attempt = t.Object({
  attempt: t.Integer(), started_at: Time(), duration_ms: t.Integer(), address: Nullable(t.String()),
  status_code: Nullable(t.Integer()), error_type: Nullable(t.String({ examples: ["timeout"] })),
  error: Nullable(t.String()),
  response_body: Nullable(t.String({ description: "First 4 KiB" })),
});
export const DeliveryDetail =
  t.Composite([DeliverySummary, t.Object({ body: t.String(), attempts_log: t.Array(Attempt) })]);

export const ReplayRange = t.Object({
  since: t.String({ format: "date-time" }),
  until: t.Optional(t.String({ format: "date-time" })),
});
