import { Elysia } from "elysia";
import type { Deps } from "../deps";
import { AppError } from "../http/errors";
import { type Answer, ingest } from "./ingest";
import { readRawText, requireContentType } from "./request";
import { validTwilioSignature } from "./twilio";
import { webhookHandler } from "./webhook-route";

export const TWILIO_DEBUGGER_PATH = "/api/v1/webhooks/twilio/debugger";
const FORM = "application/x-www-form-urlencoded";
const RECEIVED: Answer = { status: 200, body: JSON.stringify({ status: "received" }), contentType: "application/json" };
const FORBIDDEN: Answer = { status: 403, body: "Forbidden", contentType: "text/plain; charset=utf-8" };

/**
 * The Twilio Console Debugger's webhook (errors and warnings on the account): verified like every Twilio webhook,
 * stored idempotently on `Sid`, then grouped into alert incidents by error code (src/jobs/twilio-debugger-event.ts).
 */
export function twilioDebuggerRoutes(deps: Deps) {
  return new Elysia().post(TWILIO_DEBUGGER_PATH, webhookHandler(deps, {
    provider: "twilio-debugger",
    forbidden: FORBIDDEN,
    storageFailed: {
      status: 500, body: JSON.stringify({ error: "storage_unavailable" }), contentType: "application/json",
    },
    refusal: (error) => (error.code === "bad_signature" ? FORBIDDEN : undefined),
    async accept(request, receivedAt) {
      requireContentType(request, FORM);
      const raw = await readRawText(request);
      const params = new URLSearchParams(raw);
      if (!validTwilioSignature(deps, request, params)) {
        throw new AppError(403, "bad_signature", "bad signature: X-Twilio-Signature does not match");
      }
      const sid = params.get("Sid")?.trim();
      if (!sid) throw new AppError(400, "malformed", "Sid is required");
      return ingest(deps, {
        provider: "twilio-debugger", key: sid, headers: request.headers, rawBody: raw, answer: RECEIVED, receivedAt,
      });
    },
  }), {
    parse: "none",
    detail: {
      tags: ["webhooks"],
      summary: "Twilio Debugger events",
      description: "Set as the webhook of the Twilio Console Debugger. Signed with `X-Twilio-Signature`; stored "
        + "idempotently on `Sid`; errors and warnings become alert incidents grouped by the `error_code` of the "
        + "JSON `Payload`. 200 `{\"status\":\"received\"}` after commit.",
      requestBody: {
        required: true,
        content: {
          [FORM]: {
            schema: { type: "object" },
            example: "Sid=NO0123&AccountSid=AC0123&Timestamp=2026-11-23T15%3A00%3A00Z&Level=Error"
              + "&PayloadType=application%2Fjson"
              + "&Payload=%7B%22error_code%22%3A%2230003%22%2C%22resource_sid%22%3A%22SM0123%22%7D",
          },
        },
      },
      responses: {
        200: { description: "Stored", content: { "application/json": { example: { status: "received" } } } },
        400: { description: "No Sid" },
        403: { description: "Bad signature", content: { "text/plain": { example: "Forbidden" } } },
        413: { description: "Body over 64 KiB" },
        415: { description: "Not form-encoded" },
        500: { description: "Not stored; Twilio retries" },
      },
    },
  });
}
