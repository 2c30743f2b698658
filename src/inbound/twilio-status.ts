import { Elysia } from "elysia";
import type { Deps } from "../deps";
import { normalizePhone } from "../domain/phone";
import { parseStatusCallback } from "../domain/sms-status";
import { FORBIDDEN, STORAGE_FAILED, TWILIO_RECEIVED, TWILIO_STATUS_PATH } from "../domain/webhooks";
import { AppError } from "../errors";
import { ingest } from "../ingest/ingest";
import { TwilioStatusForm } from "./schemas";
import { FORM, readSignedForm } from "./twilio";
import {
  ERROR_JSON,
  TWILIO_JSON_REFUSALS,
  TWILIO_SIGNATURE,
  webhookHandler,
} from "./webhook-route";



/** Twilio's delivery status callbacks: stored idempotently on MessageSid + MessageStatus, processed by the worker. */
export function twilioStatusRoutes(deps: Deps) {
  return new Elysia().post(TWILIO_STATUS_PATH, webhookHandler(deps, {
    provider: "twilio-status",
    forbidden: FORBIDDEN,
    storageFailed: STORAGE_FAILED,
    refusal: (error) => (error.errorCode === "bad_signature" ? FORBIDDEN : undefined),
    async accept(request, receivedAt) {
      const { raw, params } = await readSignedForm(deps, request);
      const callback = parseStatusCallback(params);
      if (!callback) throw new AppError(400, "malformed", "MessageSid and MessageStatus are required");
      return ingest(deps, {
        provider: "twilio-status", key: `${callback.sid}:${callback.status}`, headers: request.headers, rawBody: raw,
        answer: TWILIO_RECEIVED, receivedAt,
        phone: normalizePhone(params.get("To") ?? ""),
      });
    },
  }), {
    parse: "none",
    detail: {
      tags: ["webhooks"],
      operationId: "receiveTwilioStatusCallback",
      summary: "Twilio SMS status callbacks",
      description: "The `statusCallback` of every SMS Switchboard sends. Signed with `X-Twilio-Signature`. "
        + "Stored idempotently on MessageSid + MessageStatus; 200 `{\"status\":\"received\"}` after commit.",
      parameters: [TWILIO_SIGNATURE],
      requestBody: {
        required: true,
        content: {
          [FORM]: {
            schema: TwilioStatusForm,
            example: "MessageSid=SM0123&MessageStatus=delivered&AccountSid=AC0123"
              + "&From=%2B15551234567&To=%2B15557654321",
          },
        },
      },
      responses: {
        200: { description: "Stored", content: { "application/json": { example: { status: "received" } } } },
        400: { description: "No MessageSid or MessageStatus", content: ERROR_JSON },
        ...TWILIO_JSON_REFUSALS,
      },
    },
  });
}
