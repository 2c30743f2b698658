import { createHash, timingSafeEqual } from "node:crypto";
import { Elysia } from "elysia";
import type { Deps } from "../deps";
import { AppError } from "../errors";
import { readRawText, requireContentType } from "../http/request";
import { claimIdempotencyKey, settleIdempotencyKey } from "./idempotency";
import { countRequest } from "./rate-limit";

/** Management API request bodies (SPEC 13); beyond it a 413, read no further. */
export const MANAGEMENT_BODY_LIMIT = 256 * 1024;
const digest = (s: string) => createHash("sha256").update(s).digest();

/** Who is calling (a hash of their key), and the body they sent, as read. */
export interface Caller {
  keyHash: string;
  rawBody: string;
}

/** What the parse step leaves in `body` for `admit` to replace: the body is read only once the key is known. */
const UNREAD = Symbol("body not read yet");
type Headers = Record<string, string | number>;

/**
 * The base of every management module, used as `new Elysia({ prefix }).use(managementApi(deps))`. One scoped hook
 * admits a request before anything else is done with it: Bearer API_KEY (401 otherwise), the per-key rate limit
 * (api/rate-limit.ts), then a JSON body of at most 256 KiB. A caller without the key learns nothing about the API's
 * shape and cannot make the server read a large body. Around the handler, Idempotency-Key on POST (idempotency.ts).
 */
export function managementApi(deps: Pick<Deps, "config" | "db" | "clock" | "log">) {
  const expected = deps.config.API_KEY ? digest(deps.config.API_KEY) : undefined;

  async function admit(
    request: Request, set: { headers: Headers }, body: unknown,
  ): Promise<{ caller: Caller; body: unknown }> {
    const { headers } = set;
    const token = (request.headers.get("authorization") ?? "").match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
    if (!expected) throw new AppError(401, "unauthorized", "API_KEY is not configured on this server");
    if (!token || !timingSafeEqual(digest(token), expected)) {
      headers["www-authenticate"] = 'Bearer realm="switchboard"';
      throw new AppError(401, "unauthorized", "Missing or wrong API key (Authorization: Bearer <API_KEY>)");
    }
    const keyHash = digest(token).toString("hex").slice(0, 32);
    const rate = await countRequest(deps.db, keyHash, deps.config.API_RATE_LIMIT, deps.clock.now());
    headers["ratelimit-limit"] = String(rate.limit);
    headers["ratelimit-remaining"] = String(rate.remaining);
    headers["ratelimit-reset"] = String(rate.resetSeconds);
    if (rate.exceeded) {
      headers["retry-after"] = String(rate.resetSeconds);
      throw new AppError(429, "rate_limited", `More than ${rate.limit} requests a minute for this key`);
    }
    if (body !== UNREAD) return { caller: { keyHash, rawBody: "" }, body };
    const { raw, value } = await readJsonBody(request);
    return { caller: { keyHash, rawBody: raw }, body: value };
  }

  return new Elysia({ name: "management-api" })
    // Elysia reads a body before any hook runs but this one, which leaves it unread for `admit`.
    .onParse({ as: "scoped" }, () => UNREAD)
    .derive({ as: "scoped" }, async (ctx) => {
      const { caller, body } = await admit(ctx.request, ctx.set, ctx.body);
      ctx.body = body;
      return { caller };
    })
    // After validation: a request that would be refused as invalid claims no key.
    .onBeforeHandle({ as: "scoped" }, ({ request, caller }) => claimIdempotencyKey(deps, request, caller))
    // Every answer, the handler's or an error's (rendered by http/error-handler.ts), settles a claimed key.
    .mapResponse({ as: "scoped" }, async ({ request, set, responseValue }) => {
      if (responseValue instanceof Response) return;
      const status = Number(set.status ?? 200);
      const settled = settleIdempotencyKey(deps, request, status, responseValue);
      // An error's answer goes out even when its key cannot be settled (the key is then free again in 24 hours).
      if (status >= 400) await settled.catch((error) => deps.log.error("idempotency key not settled", { error }));
      else await settled;
    });
}

/** The JSON body, read within MANAGEMENT_BODY_LIMIT: 415 for another content type, 400 when it is not JSON. */
async function readJsonBody(request: Request): Promise<{ raw: string; value: unknown }> {
  if (request.body === null && !request.headers.get("content-type")) return { raw: "", value: undefined };
  requireContentType(request, "application/json");
  const raw = await readRawText(request, MANAGEMENT_BODY_LIMIT);
  if (raw.trim() === "") throw new AppError(400, "malformed", "request body could not be parsed");
  try {
    return { raw, value: JSON.parse(raw) };
  } catch {
    throw new AppError(400, "malformed", "body is not valid JSON");
  }
}
