import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import type { Db } from "../db";

export const SIGN_IN_LIMIT = 10;
export const SIGN_IN_WINDOW_MS = 15 * 60_000;

const keyOf = (address: string) => `console-sign-in:${createHash("sha256").update(address).digest("hex").slice(0, 32)}`;

/**
 * Counts a sign-in attempt from a client address in a fixed window (in Postgres, so every web process shares it).
 * Returns how many seconds to wait when the address is over the limit, else undefined.
 */
export async function countSignInAttempt(db: Db, address: string, now: Date): Promise<number | undefined> {
  const start = new Date(now.getTime() - (now.getTime() % SIGN_IN_WINDOW_MS));
  const [row] = await db.execute<{ count: number }>(sql`
    insert into api_rate_limits (key_hash, window_start, count) values (${keyOf(address)}, ${start.toISOString()}, 1)
    on conflict (key_hash, window_start) do update set count = api_rate_limits.count + 1
    returning count`);
  if (Number(row?.count ?? 1) <= SIGN_IN_LIMIT) return undefined;
  return Math.ceil((start.getTime() + SIGN_IN_WINDOW_MS - now.getTime()) / 1000);
}

/** A right password clears the address's count, so a person who mistyped a few times is not held back later. */
export async function clearSignInAttempts(db: Db, address: string): Promise<void> {
  await db.execute(sql`delete from api_rate_limits where key_hash = ${keyOf(address)}`);
}

/** The client address as the platform reports it (Fly-Client-IP), else the peer's. */
export function clientAddress(
  request: Request,
  server: { requestIP(r: Request): { address: string } | null } | null,
): string {
  return request.headers.get("fly-client-ip") ?? server?.requestIP(request)?.address ?? "unknown";
}
