import { Elysia } from "elysia";
import type { Tx } from "../db";
import type { Deps } from "../deps";
import { type InboundSms, parseInboundSms } from "../domain/inbound-sms";
import { normalizePhone } from "../domain/phone";
import { TECHNICAL_DIFFICULTIES_REPLY } from "../domain/sms-commands";
import { TWILIO_SMS_FALLBACK_PATH, TWILIO_SMS_PATH } from "../domain/webhooks";
import { queueEmail } from "../effects/email";
import { decideAnswer, twimlAnswer } from "../effects/sms-answer";
import { AppError } from "../errors";
import { BODY_LIMIT } from "../http/request";
import { ingest } from "../ingest/ingest";
import { TwilioFallbackForm, TwilioInboundSmsForm } from "./schemas";
import { FORM, readSignedForm } from "./twilio";
import { ERROR_JSON, TWILIO_SIGNATURE, webhookHandler } from "./webhook-route";


/** Twilio could not use the primary URL (timeout, 5xx): the support team hears about it, once per message. */
async function queueFallbackAlert(deps: Deps, tx: Tx, sms: InboundSms, duplicate: boolean): Promise<void> {
  deps.log.warn(
    "twilio used the fallback URL", { sid: sms.sid, errorCode: sms.errorCode, errorUrl: sms.errorUrl, duplicate },
  );
  if (!deps.config.SUPPORT_EMAIL) return;
  await queueEmail(tx, {
    dedupeKey: `twilio-fallback:${sms.sid}`,
    kind: "support_alert",
    to: deps.config.SUPPORT_EMAIL,
    subject: `Twilio inbound SMS fallback: error ${sms.errorCode ?? "unknown"}`,
    body: `Twilio could not deliver inbound message ${sms.sid} to ${sms.errorUrl ?? "the primary webhook URL"} `
      + `(error ${sms.errorCode ?? "unknown"}) and sent it to the fallback URL. `
      + (
        duplicate ? "The primary URL had already stored it; nothing was processed twice."
          : "It was stored and processed from the fallback."
      ),
  });
}

export function twilioSmsRoutes(deps: Deps) {
  const handler = (fallback: boolean) => webhookHandler(deps, {
    provider: "twilio-sms",
    forbidden: twimlAnswer(403),
    storageFailed: twimlAnswer(500, TECHNICAL_DIFFICULTIES_REPLY),
    refusal: (error) =>
      (error.errorCode === "bad_signature" ? twimlAnswer(403, "Invalid request signature") : undefined),
    async accept(request, receivedAt) {
      const { raw, params } = await readSignedForm(deps, request);
      const sms = parseInboundSms(params);
      if (!sms) throw new AppError(400, "malformed", "MessageSid, From and To are required");
      const decide = decideAnswer(deps, sms);
      const result = await ingest(deps, {
        provider: "twilio-sms", key: sms.sid, headers: request.headers, rawBody: raw, receivedAt,
        phone: normalizePhone(sms.from),
        // A fallback's alert commits with the event itself, so a stored message is never answered 500.
        answer: fallback
          ? async (tx) => { await queueFallbackAlert(deps, tx, sms, false); return decide(tx); } : decide,
      });
      if (fallback && result.duplicate) {
        // Already stored through the primary URL: the alert is worth sending, but not worth failing the answer for.
        await deps.db.transaction((tx) => queueFallbackAlert(deps, tx, sms, true))
          .catch((error) => deps.log.error("fallback alert not queued", { sid: sms.sid, error }));
      }
      return result;
    },
  });

  const doc = (operationId: string, summary: string, description: string, schema: typeof TwilioInboundSmsForm) => ({
    parse: "none" as const,
    detail: {
      tags: ["webhooks"],
      operationId,
      summary,
      description,
      parameters: [TWILIO_SIGNATURE],
      requestBody: {
        required: true,
        content: {
          [FORM]: { schema, example: "MessageSid=SM123&From=%2B15557654321&To=%2B15551234567&Body=CONFIRM&NumMedia=0" },
        },
      },
      responses: {
        200: { description: "Stored; TwiML with the reply, or an empty <Response/>", content: { "text/xml": {
          example: "<Response><Message>Thank you for your message. We will respond shortly.</Message></Response>",
        } } },
        400: { description: "No MessageSid, From or To", content: ERROR_JSON },
        403: {
          description: "Bad signature, or a source outside INBOUND_ALLOW_CIDRS",
          content: { "text/xml": { example: "<Response><Message>Invalid request signature</Message></Response>" } },
        },
        413: { description: `Body over ${BODY_LIMIT / 1024} KiB`, content: ERROR_JSON },
        415: { description: "Not form-encoded", content: ERROR_JSON },
        500: { description: "Not stored; Twilio may retry", content: { "text/xml": {
          example: `<Response><Message>${TECHNICAL_DIFFICULTIES_REPLY}</Message></Response>`,
        } } },
      },
    },
  });

  return new Elysia()
    .post(TWILIO_SMS_PATH, handler(false), doc("receiveTwilioSms", "Twilio inbound SMS / WhatsApp",
      "Point a Twilio number's \"A message comes in\" webhook here. "
        + "Signed with `X-Twilio-Signature` for `PUBLIC_URL` + path (+ query). "
      + "Stored with its job before the answer; a retried MessageSid gets the first answer and no second effect.",
      TwilioInboundSmsForm))
    .post(TWILIO_SMS_FALLBACK_PATH, handler(true), doc("receiveTwilioSmsFallback", "Twilio inbound SMS fallback",
      "Twilio's fallback URL (same parameters plus `ErrorCode`, `ErrorUrl`), signed for this URL. "
        + "Deduplicated against the "
      + "primary URL by MessageSid; the error is alerted to SUPPORT_EMAIL.",
      TwilioFallbackForm));
}
