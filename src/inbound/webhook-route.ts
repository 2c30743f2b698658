import type { Deps } from "../deps";
import type { Answer, Provider } from "../domain/webhooks";
import { AppError, StorageError } from "../errors";
import { BODY_LIMIT } from "../http/request";
import type { IngestResult } from "../ingest/ingest";
import { sourceCheck } from "./guard";

/** Shared pieces of the webhook routes' documentation. */
export const ERROR_JSON = { "application/json": { schema: { $ref: "#/components/schemas/Error" } } };
export const STORAGE_FAILED_JSON = { "application/json": { example: { error: "storage_unavailable" } } };
export const TWILIO_SIGNATURE = {
  name: "X-Twilio-Signature", in: "header" as const, required: true, schema: { type: "string" as const },
  description: "Base64 HMAC-SHA1 of PUBLIC_URL + path + sorted parameters, keyed with TWILIO_AUTH_TOKEN",
};

/** What a Twilio webhook answered in JSON (status callbacks, the Debugger) documents besides its 200 and 400. */
export const TWILIO_JSON_REFUSALS = {
  403: {
    description: "Bad signature, or a source outside INBOUND_ALLOW_CIDRS",
    content: { "text/plain": { example: "Forbidden" } },
  },
  413: { description: `Body over ${BODY_LIMIT / 1024} KiB`, content: ERROR_JSON },
  415: { description: "Not form-encoded", content: ERROR_JSON },
  500: { description: "Not stored; Twilio retries", content: STORAGE_FAILED_JSON },
};

export const reply = (a: Answer) =>
  new Response(a.body, { status: a.status, headers: { "content-type": a.contentType } });

/** What the route needs of Bun's server: the client's address. */
type Server = { requestIP(r: Request): { address: string } | null };

export interface WebhookSpec {
  provider: Provider;
  /** The provider's own answers: to a source outside INBOUND_ALLOW_CIDRS, and when nothing could be stored. */
  forbidden: Answer;
  storageFailed: Answer;
  /** The provider's own body for an expected refusal (bad signature…); undefined leaves it to the app's JSON errors. */
  refusal?: (error: AppError) => Answer | undefined;
  /** Reads, verifies and stores the request: AppError for the caller's mistakes, StorageError when not stored. */
  accept(request: Request, receivedAt: number): Promise<IngestResult>;
}

/**
 * What every provider endpoint shares around its own verify-and-ingest step: the source allowlist, one
 * outcome metric and log line per request, and the provider's own 5xx when the database did not take it.
 */
export function webhookHandler(deps: Deps, spec: WebhookSpec) {
  const allowed = sourceCheck(deps.config);
  const { provider } = spec;
  const count = (outcome: "stored" | "duplicate" | "rejected" | "error") =>
    deps.metrics.webhooksReceived.inc({ provider, outcome });
  return async ({ request, server }: { request: Request; server: Server | null }) => {
    const receivedAt = performance.now();
    if (!allowed(request, server?.requestIP(request)?.address)) {
      count("rejected");
      deps.log.warn("webhook refused: source address not allowed", { provider });
      return reply(spec.forbidden);
    }
    try {
      const result = await spec.accept(request, receivedAt);
      count(result.duplicate ? "duplicate" : "stored");
      const response = reply(result.answer);
      // Committed and answered: this is the time the provider waited (the row holds the time before the commit).
      const ms = performance.now() - receivedAt;
      deps.metrics.ingestSeconds.observe({ provider }, ms / 1000);
      if (!result.duplicate) deps.responseTimes.record(result.eventId, ms);
      return response;
    } catch (error) {
      if (error instanceof StorageError) {
        count("error");
        deps.log.error("webhook not stored; answered 5xx so the provider retries", { provider, error: error.cause });
        return reply(spec.storageFailed);
      }
      if (error instanceof AppError) {
        count("rejected");
        deps.log.warn("webhook rejected", { provider, code: error.errorCode, reason: error.message });
        const answer = spec.refusal?.(error);
        if (answer) return reply(answer);
      }
      throw error;
    }
  };
}
