import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import type { Deps } from "../deps";
import { AppError } from "../errors";

/**
 * `Idempotency-Key` on management POSTs (SPEC 13), as Stripe does it: the first request with a key runs and its
 * answer (2xx or 4xx) is kept 24 hours; a retry with the same key and the same request gets that answer again,
 * marked `Idempotent-Replayed: true`, without running; the same key with another request is a 409, and so is a
 * retry while the first is still running. A first request that fails with 5xx releases its key.
 */

const TTL = sql`interval '24 hours'`;
const KEY = /^[\x21-\x7e]{1,255}$/;

interface Claim {
  keyHash: string;
  key: string;
}
const claims = new WeakMap<Request, Claim>();

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

const conflict = (message: string) => new AppError(409, "idempotency_conflict", message);

/**
 * Before the handler: nothing to do without a key; otherwise claims it (the request runs), or answers with the
 * stored response (a Response the caller returns as is), or refuses.
 */
export async function claimIdempotencyKey(
  deps: Pick<Deps, "db">,
  request: Request,
  opts: { keyHash: string; rawBody: string },
): Promise<Response | undefined> {
  const key = request.headers.get("idempotency-key");
  if (request.method !== "POST" || key === null) return undefined;
  if (!KEY.test(key)) {
    throw new AppError(400, "validation", "Idempotency-Key: must be 1 to 255 visible ASCII characters", [
      { field: "Idempotency-Key", message: "must be 1 to 255 visible ASCII characters" },
    ]);
  }
  const url = new URL(request.url);
  const requestHash = sha256(`${request.method} ${url.pathname.replace(/\/+$/, "")}${url.search}\n${opts.rawBody}`);
  // A key older than 24 hours is free again: the conflict update takes it over. Each claim also removes a few
  // other expired keys, so the table stays as small as a day of keys without a sweeper.
  const claimed = await deps.db.execute(sql`
    with swept as (
      delete from api_idempotency_keys where ctid in (
        select ctid from api_idempotency_keys where created_at < now() - ${TTL}
          and not (key_hash = ${opts.keyHash} and idempotency_key = ${key})
        limit 10)
    )
    insert into api_idempotency_keys (key_hash, idempotency_key, request_hash)
      values (${opts.keyHash}, ${key}, ${requestHash})
    on conflict (key_hash, idempotency_key) do update
      set request_hash = excluded.request_hash, response_status = null, response_body = null, created_at = now()
      where api_idempotency_keys.created_at < now() - ${TTL}
    returning 1`);
  if (claimed.length > 0) {
    claims.set(request, { keyHash: opts.keyHash, key });
    return undefined;
  }
  const [stored] = await deps.db.execute<{
    request_hash: string;
    response_status: number | null;
    response_body: string | null;
  }>(sql`
    select request_hash, response_status, response_body from api_idempotency_keys
    where key_hash = ${opts.keyHash} and idempotency_key = ${key}`);
  if (!stored) throw conflict("Idempotency-Key: its first request has just been released; retry");
  if (stored.request_hash !== requestHash) {
    throw conflict("Idempotency-Key: already used with a different request (method, path or body)");
  }
  if (stored.response_status === null)
    throw conflict("Idempotency-Key: the first request with this key is still running");
  return new Response(stored.response_body, {
    status: stored.response_status,
    headers: { "content-type": "application/json; charset=utf-8", "idempotent-replayed": "true" },
  });
}

/** After the request's answer is known: kept for retries (below 500), or the key released (5xx: nothing promised). */
export async function settleIdempotencyKey(
  deps: Pick<Deps, "db">,
  request: Request,
  status: number,
  body: unknown,
): Promise<void> {
  const claim = claims.get(request);
  if (!claim) return;
  claims.delete(request);
  const where = sql`key_hash = ${claim.keyHash} and idempotency_key = ${claim.key} and response_status is null`;
  if (status >= 500) {
    await deps.db.execute(sql`delete from api_idempotency_keys where ${where}`);
    return;
  }
  const text = typeof body === "string" ? body : JSON.stringify(body ?? null);
  await deps.db.execute(
    sql`update api_idempotency_keys set response_status = ${status}, response_body = ${text} where ${where}`,
  );
}
