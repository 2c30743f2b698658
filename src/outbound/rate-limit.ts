import { sql } from "drizzle-orm";
import type { Executor } from "../db";

export interface Limits { maxInFlight: number; maxPerWindow: number; windowMs: number; leaseMs: number }

export type SlotResult =
  { ok: true; slotId: number } | { ok: false; retryInMs: number; reason: "in_flight" | "window" };

/**
 * Takes one send slot for an endpoint, or says how long to wait. The endpoint row lock serialises every
 * worker process's acquisitions for that endpoint, so the counts below cannot race; the database clock is
 * the only clock, so workers with skewed clocks agree. A sliding log of starts makes "at most N in any
 * window" hold exactly, not only per fixed minute.
 */
export async function acquireSlot(
  tx: Executor, endpointId: string, deliveryId: string, limits: Limits,
): Promise<SlotResult> {
  await tx.execute(sql`select 1 from webhook_endpoints where id = ${endpointId} for update`);
  const window = `${limits.windowMs} milliseconds`;
  await tx.execute(sql`delete from outbound_slots where endpoint_id = ${endpointId}
    and started_at < clock_timestamp() - ${window}::interval
    and (released_at is not null or expires_at < clock_timestamp())`);
  const [counts] = await tx.execute<{ in_flight: number; in_window: number; frees_in_ms: number | null }>(sql`
    select count(*) filter (where released_at is null and expires_at > clock_timestamp())::int as in_flight,
           count(*) filter (where started_at > clock_timestamp() - ${window}::interval)::int as in_window,
           ceil(extract(epoch from (min(started_at) filter (where started_at > clock_timestamp() - ${window}::interval)
             + ${window}::interval - clock_timestamp())) * 1000)::int as frees_in_ms
    from outbound_slots where endpoint_id = ${endpointId}`);
  if (counts!.in_window >= limits.maxPerWindow) {
    return { ok: false, reason: "window", retryInMs: Math.max(10, Number(counts!.frees_in_ms ?? 0)) };
  }
  if (counts!.in_flight >= limits.maxInFlight) return { ok: false, reason: "in_flight", retryInMs: 0 };
  const [row] = await tx.execute<{ id: number }>(sql`
    insert into outbound_slots (endpoint_id, delivery_id, started_at, expires_at)
    values (${endpointId}, ${deliveryId}, clock_timestamp(),
      clock_timestamp() + ${`${limits.leaseMs} milliseconds`}::interval)
    returning id`);
  return { ok: true, slotId: Number(row!.id) };
}

export async function releaseSlot(tx: Executor, slotId: number): Promise<void> {
  await tx.execute(sql`update outbound_slots set released_at = clock_timestamp() where id = ${slotId}`);
}
