import { createHash, timingSafeEqual } from "node:crypto";
import { sql } from "drizzle-orm";
import { Elysia } from "elysia";
import type { Deps } from "../deps";
import { AppError } from "../http/errors";
import { readRawText } from "../inbound/request";
import { claimIdempotencyKey, settleIdempotencyKey } from "./idempotency";

const WINDOW_MS = 60_000;
/** Management API request bodies (SPEC 13); beyond it a 413, read no further. */
export const MANAGEMENT_BODY_LIMIT = 256 * 1024;
const digest = (s: string) => createHash("sha256").update(s).digest();

interface Checked {
  keyHash: string;
  rawBody: string;
}

/**
 * The base of every management module: Bearer API_KEY (401 otherwise), a per-key fixed-window rate limit counted
 * in Postgres (so every web process shares one budget), JSON bodies of at most 256 KiB, and Idempotency-Key on POST.
 */
export function managementApi(deps: Deps, prefix: string) {
  const expected = deps.config.API_KEY ? digest(deps.config.API_KEY) : undefined;
  const limit = deps.config.API_RATE_LIMIT;
  const checked = new WeakMap<Request, Checked>();
  const check = async ({ request, set }: { request: Request; set: { headers: Record<string, string | number> } }) => {
    if (checked.has(request)) return checked.get(request)!;
    const header = request.headers.get("authorization") ?? "";
    const token = header.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
    if (!expected) throw new AppError(401, "unauthorized", "API_KEY is not configured on this server");
    if (!token || !timingSafeEqual(digest(token), expected)) {
      set.headers["www-authenticate"] = 'Bearer realm="switchboard"';
      throw new AppError(401, "unauthorized", "Missing or wrong API key (Authorization: Bearer <API_KEY>)");
    }
    const keyHash = digest(token).toString("hex").slice(0, 32);
    const state: Checked = { keyHash, rawBody: "" };
    checked.set(request, state);
    const now = deps.clock.now().getTime();
    const windowStart = new Date(now - (now % WINDOW_MS));
    const resetSeconds = Math.ceil((windowStart.getTime() + WINDOW_MS - now) / 1000);
    const [row] = await deps.db.execute<{ count: number }>(sql`
      insert into api_rate_limits (key_hash, window_start, count) values (${keyHash}, ${windowStart.toISOString()}, 1)
      on conflict (key_hash, window_start) do update set count = api_rate_limits.count + 1
      returning count`);
    const used = Number(row?.count ?? 1);
    set.headers["ratelimit-limit"] = String(limit);
    set.headers["ratelimit-remaining"] = String(Math.max(0, limit - used));
    set.headers["ratelimit-reset"] = String(resetSeconds);
    if (used > limit) {
      set.headers["retry-after"] = String(resetSeconds);
      throw new AppError(429, "rate_limited", `More than ${limit} requests a minute for this key`);
    }
    return state;
  };
  // The key is checked before the body is read or validated: a caller without it learns nothing about the API's
  // shape, and cannot make the server read a large body.
  return (
    new Elysia({ prefix })
      .onParse(async (ctx) => {
        const state = await check(ctx);
        const { request } = ctx;
        if (request.body === null && !request.headers.get("content-type")) return undefined;
        const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
        if (type !== "application/json")
          throw new AppError(415, "unsupported_media_type", "Content-Type must be application/json");
        state.rawBody = await readRawText(request, MANAGEMENT_BODY_LIMIT);
        if (state.rawBody.trim() === "") return undefined;
        try {
          return JSON.parse(state.rawBody);
        } catch {
          throw new AppError(400, "malformed", "body is not valid JSON");
        }
      })
      .onTransform(async (ctx) => {
        await check(ctx);
      })
      // After validation: a request that would be refused as invalid claims no key.
      .onBeforeHandle(async ({ request }) => claimIdempotencyKey(deps, request, checked.get(request)!))
      .onAfterHandle(async ({ request, response, set }) => {
        if (!(response instanceof Response))
          await settleIdempotencyKey(deps, request, Number(set.status ?? 200), response);
      })
  );
}
