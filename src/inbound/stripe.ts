import { Elysia } from "elysia";
import Stripe from "stripe";
import type { Deps } from "../deps";
import { type Answer, STORAGE_FAILED, STRIPE_PATH, STRIPE_RECEIVED } from "../domain/webhooks";
import { AppError } from "../errors";
import { BODY_LIMIT, readRawText, requireContentType } from "../http/request";
import { ingest } from "../ingest/ingest";
import { StripeEventEnvelope } from "./schemas";
import { ThreadHmac } from "./stripe-hmac";
import { ERROR_JSON, STORAGE_FAILED_JSON, webhookHandler } from "./webhook-route";

const TOLERANCE_SECONDS = 300;

const HMAC = new ThreadHmac();

const webhookText = (status: number, reason: string): Answer =>
  ({ status, body: `Webhook Error: ${reason}`, contentType: "text/plain; charset=utf-8" });

/** Verifies against every configured secret, so a rotation can accept the old and new secret at once. */
async function verify(deps: Deps, raw: string, header: string | null): Promise<Stripe.Event> {
  const secrets = [deps.config.STRIPE_WEBHOOK_SECRET, deps.config.STRIPE_WEBHOOK_SECRET_PREVIOUS]
    .filter(Boolean) as string[];
  if (secrets.length === 0) throw new AppError(400, "not_configured", "STRIPE_WEBHOOK_SECRET is not configured");
  if (!header) throw new AppError(400, "bad_signature", "No Stripe-Signature header");
  let lastError: unknown;
  for (const secret of secrets) {
    try {
      return await Stripe.webhooks.constructEventAsync(raw, header, secret, TOLERANCE_SECONDS, HMAC);
    } catch (error) {
      if (!(error instanceof Stripe.errors.StripeSignatureVerificationError)) {
        throw new AppError(400, "malformed", "Body is not valid JSON");
      }
      // A stale timestamp on a matching signature says more than a mismatch against the other secret.
      if (!lastError || !error.message.startsWith("No signatures found")) lastError = error;
    }
  }
  const message = lastError instanceof Error ? lastError.message.split("\n")[0]!.trim() : "signature mismatch";
  throw new AppError(400, "bad_signature", message);
}

export function stripeRoutes(deps: Deps) {
  return new Elysia().post(STRIPE_PATH, webhookHandler(deps, {
    provider: "stripe",
    forbidden: webhookText(403, "source address not allowed"),
    storageFailed: STORAGE_FAILED,
    // Stripe shows this text in the dashboard's delivery log; 413 and 415 keep the app's JSON errors.
    refusal: (error) => (error.status === 400 ? webhookText(400, error.message) : undefined),
    async accept(request, receivedAt) {
      requireContentType(request, "application/json");
      const raw = await readRawText(request);
      const event = await verify(deps, raw, request.headers.get("stripe-signature"));
      if (typeof event?.id !== "string" || typeof event.type !== "string") {
        throw new AppError(400, "malformed", "Event has no id or type");
      }
      return ingest(deps, {
        provider: "stripe", key: event.id, headers: request.headers, rawBody: raw, answer: STRIPE_RECEIVED, receivedAt,
      });
    },
  }), {
    parse: "none",
    detail: {
      tags: ["webhooks"],
      operationId: "receiveStripeEvent",
      summary: "Stripe payment events",
      description: "Signed with `Stripe-Signature`. 200 `{\"received\":true}` once stored with its job; "
        + "400 `Webhook Error: <reason>` on a bad signature; 500 when it cannot be stored (Stripe retries).",
      parameters: [{ name: "Stripe-Signature", in: "header", required: true, schema: { type: "string" },
        description: "t=<timestamp>,v1=<signature> (several v1 during a secret rotation)" }],
      requestBody: {
        required: true,
        content: {
          "application/json": {
            schema: StripeEventEnvelope,
            example: {
              id: "evt_1", object: "event", type: "payment_intent.succeeded", created: 1795374518, livemode: false,
              data: {
                object: {
                  id: "pi_1", object: "payment_intent", amount: 6000, currency: "usd",
                  metadata: { booking_id: "<appointment uuid>" },
                },
              },
            },
          },
        },
      },
      responses: {
        200: { description: "Stored", content: { "application/json": { example: { received: true } } } },
        400: { description: "Bad signature or malformed body", content: { "text/plain": {
          example: "Webhook Error: No signatures found matching the expected signature for payload.",
        } } },
        403: {
          description: "Source address outside INBOUND_ALLOW_CIDRS",
          content: { "text/plain": { example: "Webhook Error: source address not allowed" } },
        },
        413: { description: `Body over ${BODY_LIMIT / 1024} KiB`, content: ERROR_JSON },
        415: { description: "Not application/json", content: ERROR_JSON },
        500: { description: "Not stored; Stripe retries", content: STORAGE_FAILED_JSON },
      },
    },
  });
}
