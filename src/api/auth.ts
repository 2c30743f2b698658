import { createHash, timingSafeEqual } from "node:crypto";
import { sql } from "drizzle-orm";
import { Elysia } from "elysia";
import type { Deps } from "../deps";
import { AppError } from "../http/errors";

const WINDOW_MS = 60_000;
const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * The base of every management module: Bearer API_KEY (401 otherwise) and a per-key fixed-window rate
 * limit counted in Postgres, so every web process shares one budget.
 */
export function managementApi(deps: Deps, prefix: string) {
  const expected = deps.config.API_KEY ? digest(deps.config.API_KEY) : undefined;
  const limit = deps.config.API_RATE_LIMIT;
  const checked = new WeakSet<Request>();
  const check = async ({ request, set }: { request: Request; set: { headers: Record<string, string | number> } }) => {
    if (checked.has(request)) return;
    checked.add(request);
    const header = request.headers.get("authorization") ?? "";
    const token = header.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
    if (!expected) throw new AppError(401, "unauthorized", "API_KEY is not configured on this server");
    if (!token || !timingSafeEqual(digest(token), expected)) {
      set.headers["www-authenticate"] = 'Bearer realm="switchboard"';
      throw new AppError(401, "unauthorized", "Missing or wrong API key (Authorization: Bearer <API_KEY>)");
    }
    const now = deps.clock.now().getTime();
    const windowStart = new Date(now - (now % WINDOW_MS));
    const resetSeconds = Math.ceil((windowStart.getTime() + WINDOW_MS - now) / 1000);
    const keyHash = digest(token).toString("hex").slice(0, 32);
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
  };
  // Before the body is parsed or validated: a caller without the key learns nothing about the API's shape.
  return new Elysia({ prefix })
    .onParse(async (ctx) => { await check(ctx); })
    .onTransform(check);
}
