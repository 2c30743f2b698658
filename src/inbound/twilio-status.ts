import { Elysia } from "elysia";
import type { Deps } from "../deps";
import { normalizePhone } from "../domain/phone";
import { AppError } from "../http/errors";
import { type Answer, ingest } from "./ingest";
import { BODY_LIMIT, readRawText, requireContentType } from "./request";
import { TwilioStatusForm } from "./schemas";
import { validTwilioSignature } from "./twilio";
import { ERROR_JSON, STORAGE_FAILED_JSON, TWILIO_SIGNATURE, webhookHandler } from "./webhook-route";

import { TWILIO_STATUS_PATH } from "./paths";

export { TWILIO_STATUS_PATH };
const FORM = "application/x-www-form-urlencoded";
export const RECEIVED: Answer = { status: 200, body: JSON.stringify({ status: "received" }), contentType: "application/json" };

const FORBIDDEN: Answer = { status: 403, body: "Forbidden", contentType: "text/plain; charset=utf-8" };

/** Twilio's delivery status callbacks: stored idempotently on MessageSid + MessageStatus, processed by the worker. */
export function twilioStatusRoutes(deps: Deps) {
  return new Elysia().post(TWILIO_STATUS_PATH, webhookHandler(deps, {
    provider: "twilio-status",
    forbidden: FORBIDDEN,
    storageFailed: { status: 500, body: JSON.stringify({ error: "storage_unavailable" }), contentType: "application/json" },
    refusal: (error) => (error.code === "bad_signature" ? FORBIDDEN : undefined),
    async accept(request, receivedAt) {
      requireContentType(request, FORM);
      const raw = await readRawText(request);
      const params = new URLSearchParams(raw);
      if (!validTwilioSignature(deps, request, params)) throw new AppError(403, "bad_signature", "bad signature: X-Twilio-Signature does not match");
      const sid = params.get("MessageSid") ?? params.get("SmsSid");
      const status = (params.get("MessageStatus") ?? params.get("SmsStatus"))?.toLowerCase();
      if (!sid || !status) throw new AppError(400, "malformed", "MessageSid and MessageStatus are required");
      return ingest(deps, {
        provider: "twilio-status", key: `${sid}:${status}`, headers: request.headers, rawBody: raw, answer: RECEIVED, receivedAt,
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
        403: {
          description: "Bad signature, or a source outside INBOUND_ALLOW_CIDRS",
          content: { "text/plain": { example: "Forbidden" } },
        },
        413: { description: `Body over ${BODY_LIMIT / 1024} KiB`, content: ERROR_JSON },
        415: { description: "Not form-encoded", content: ERROR_JSON },
        500: { description: "Not stored; Twilio retries", content: STORAGE_FAILED_JSON },
      },
    },
  });
}
