import { Type as T } from "@sinclair/typebox";
import { Elysia } from "elysia";
import type { Deps } from "../deps";
import { FORBIDDEN, STORAGE_FAILED, TWILIO_DEBUGGER_PATH, TWILIO_RECEIVED } from "../domain/webhooks";
import { AppError } from "../errors";
import { ingest } from "../ingest/ingest";
import { FORM, readSignedForm } from "./twilio";
import {
  ERROR_JSON,
  TWILIO_JSON_REFUSALS,
  TWILIO_SIGNATURE,
  webhookHandler,
} from "./webhook-route";


/** What the Debugger webhook posts (documentation for /docs/json; the route reads its raw body itself). */
const DebuggerForm = T.Object({
  Sid: T.String({ pattern: "^NO[0-9a-fA-F]{32}$", description: "The debugger event; Switchboard's idempotency key" }),
  AccountSid: T.String({ pattern: "^AC[0-9a-fA-F]{32}$", description: "The account the event happened on" }),
  ParentAccountSid: T.Optional(T.String({ pattern: "^AC[0-9a-fA-F]{32}$", description: "Set for a subaccount" })),
  Timestamp: T.String({ examples: ["2026-11-23T15:00:00Z"], description: "When it happened (ISO 8601)" }),
  Level: T.String({ examples: ["Error", "Warning"] }),
  PayloadType: T.String({ examples: ["application/json"] }),
  Payload: T.String({
    description: "JSON: `error_code` (incidents are grouped by it), `resource_sid`, "
      + "`service_sid`, `more_info`, `webhook`",
    examples: ['{"resource_sid":"SM0123","error_code":"30003","more_info":{"Msg":"Unreachable destination handset"}}'],
  }),
}) as unknown as { type: "object" };

/**
 * The Twilio Console Debugger's webhook (errors and warnings on the account): verified like every Twilio webhook,
 * stored idempotently on `Sid`, then grouped into alert incidents by error code (src/jobs/twilio-debugger-event.ts).
 */
export function twilioDebuggerRoutes(deps: Deps) {
  return new Elysia().post(TWILIO_DEBUGGER_PATH, webhookHandler(deps, {
    provider: "twilio-debugger",
    forbidden: FORBIDDEN,
    storageFailed: STORAGE_FAILED,
    refusal: (error) => (error.errorCode === "bad_signature" ? FORBIDDEN : undefined),
    async accept(request, receivedAt) {
      const { raw, params } = await readSignedForm(deps, request);
      const sid = params.get("Sid")?.trim();
      if (!sid) throw new AppError(400, "malformed", "Sid is required");
      return ingest(deps, {
        provider: "twilio-debugger", key: sid, headers: request.headers, rawBody: raw, answer: TWILIO_RECEIVED,
        receivedAt,
      });
    },
  }), {
    parse: "none",
    detail: {
      tags: ["webhooks"],
      operationId: "receiveTwilioDebuggerEvent",
      summary: "Twilio Debugger events",
      description: "Set as the webhook of the Twilio Console Debugger. Signed with `X-Twilio-Signature`; stored "
        + "idempotently on `Sid`; errors and warnings become alert incidents grouped by the `error_code` of the "
        + "JSON `Payload`. 200 `{\"status\":\"received\"}` after commit.",
      parameters: [TWILIO_SIGNATURE],
      requestBody: {
        required: true,
        content: {
          [FORM]: {
            schema: DebuggerForm,
            example: "Sid=NO0123&AccountSid=AC0123&Timestamp=2026-11-23T15%3A00%3A00Z&Level=Error"
              + "&PayloadType=application%2Fjson"
              + "&Payload=%7B%22error_code%22%3A%2230003%22%2C%22resource_sid%22%3A%22SM0123%22%7D",
          },
        },
      },
      responses: {
        200: { description: "Stored", content: { "application/json": { example: { status: "received" } } } },
        400: { description: "No Sid", content: ERROR_JSON },
        ...TWILIO_JSON_REFUSALS,
      },
    },
  });
}
