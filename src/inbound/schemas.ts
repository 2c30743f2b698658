import { type TSchema, Type as T } from "@sinclair/typebox";

/**
 * What the providers send, for /docs/json. The endpoints read their raw bodies themselves (signatures are checked
 * on the exact bytes), so these schemas document the wire format; they do not validate it.
 */

/** A TypeBox schema typed as the OpenAPI schema object route documentation takes (it is one: JSON Schema). */
const documented = (schema: TSchema) => schema as unknown as { type: "object" };

const Sid = (prefix: string, description: string) => T.String({ pattern: `^${prefix}[0-9a-fA-F]{32}$`, description });
const Address = (description: string) =>
  T.String({
    examples: ["+15557654321", "whatsapp:+15557654321"],
    description: `${description}: E.164, or whatsapp:E.164`,
  });
const Media = Object.fromEntries(
  Array.from({ length: 10 }, (_, i) => [
    [`MediaUrl${i}`, T.Optional(T.String({ format: "uri", description: `URL of media item ${i}` }))],
    [
      `MediaContentType${i}`,
      T.Optional(T.String({ examples: ["image/jpeg"], description: `Content type of media item ${i}` })),
    ],
  ]).flat(),
);

const inboundFields = {
  MessageSid: Sid("(SM|MM)", "The message; Switchboard's idempotency key"),
  AccountSid: Sid("AC", "Your Twilio account"),
  MessagingServiceSid: T.Optional(Sid("MG", "The Messaging Service, when the number belongs to one")),
  From: Address("The sender (the patient)"),
  To: Address("Your Twilio number (the clinic)"),
  Body: T.String({ maxLength: 1600, description: "The text" }),
  NumMedia: T.String({ pattern: "^\\d+$", description: "How many MediaUrlN / MediaContentTypeN follow" }),
  NumSegments: T.Optional(T.String({ pattern: "^\\d+$" })),
  OptOutType: T.Optional(
    T.Union([T.Literal("STOP"), T.Literal("START"), T.Literal("HELP")], {
      description: "Set by Twilio's Advanced Opt-Out when the message matched an opt-out, opt-in or help keyword",
    }),
  ),
  SmsMessageSid: T.Optional(T.String({ description: "Deprecated alias of MessageSid" })),
  SmsSid: T.Optional(T.String({ description: "Deprecated alias of MessageSid" })),
  SmsStatus: T.Optional(T.String({ examples: ["received"] })),
  ApiVersion: T.Optional(T.String({ examples: ["2010-04-01"] })),
  ...Media,
};

export const TwilioInboundSmsForm = documented(
  T.Object(inboundFields, {
    additionalProperties: true,
    description:
      "Twilio's inbound message parameters (geographic ones such as FromCity are sent too and kept as received)",
  }),
);

export const TwilioFallbackForm = documented(
  T.Object(
    {
      ...inboundFields,
      ErrorCode: T.String({ examples: ["11200"], description: "Why Twilio could not use the primary URL" }),
      ErrorUrl: T.String({ format: "uri", description: "The primary URL Twilio tried" }),
    },
    { additionalProperties: true, description: "The inbound parameters plus the primary URL's error" },
  ),
);

export const TwilioStatusForm = documented(
  T.Object(
    {
      MessageSid: Sid("(SM|MM)", "The message Switchboard sent"),
      MessageStatus: T.Union(
        [
          "accepted",
          "scheduled",
          "queued",
          "sending",
          "sent",
          "delivered",
          "undelivered",
          "failed",
          "read",
          "canceled",
        ].map((s) => T.Literal(s)),
      ),
      AccountSid: Sid("AC", "Your Twilio account"),
      From: T.Optional(Address("The clinic's number")),
      To: T.Optional(Address("The recipient (the patient)")),
      ErrorCode: T.Optional(T.String({ examples: ["30003"], description: "Set for failed and undelivered" })),
      ErrorMessage: T.Optional(T.String()),
      RawDlrDoneDate: T.Optional(
        T.String({ examples: ["2311231500"], description: "Carrier's delivery time, YYMMDDhhmm" }),
      ),
      SmsSid: T.Optional(T.String({ description: "Deprecated alias of MessageSid" })),
      SmsStatus: T.Optional(T.String({ description: "Deprecated alias of MessageStatus" })),
      ApiVersion: T.Optional(T.String({ examples: ["2010-04-01"] })),
    },
    {
      additionalProperties: true,
      description: "Twilio's status callback parameters; the key is MessageSid + MessageStatus",
    },
  ),
);

export const StripeEventEnvelope = documented(
  T.Object(
    {
      id: T.String({
        pattern: "^evt_",
        examples: ["evt_1Q2w3E4r5T6y7U8i"],
        description: "Switchboard's idempotency key",
      }),
      object: T.Literal("event"),
      type: T.String({
        examples: ["payment_intent.succeeded"],
        description:
          "payment_intent.succeeded, payment_intent.payment_failed " +
          "and charge.refunded are acted on; others are stored as ignored",
      }),
      api_version: T.Optional(T.Union([T.String({ examples: ["2024-06-20"] }), T.Null()])),
      created: T.Integer({ description: "Unix seconds" }),
      livemode: T.Boolean(),
      pending_webhooks: T.Optional(T.Integer()),
      request: T.Optional(
        T.Union([
          T.Object({ id: T.Union([T.String(), T.Null()]), idempotency_key: T.Union([T.String(), T.Null()]) }),
          T.Null(),
        ]),
      ),
      data: T.Object({
        object: T.Object(
          {
            id: T.String({ examples: ["pi_3Q2w3E4r5T6y7U8i"] }),
            object: T.String({ examples: ["payment_intent", "charge"] }),
            metadata: T.Optional(
              T.Record(T.String(), T.String(), {
                description: "booking_id (or appointment_id): the appointment this payment is for",
              }),
            ),
          },
          { additionalProperties: true, description: "The PaymentIntent or Charge" },
        ),
        previous_attributes: T.Optional(T.Record(T.String(), T.Unknown())),
      }),
    },
    { additionalProperties: true, description: "Stripe's event envelope, signed with Stripe-Signature" },
  ),
);
