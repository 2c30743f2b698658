import { and, asc, desc, eq, sql } from "drizzle-orm";
import { clinics, deliveries, deliveryAttempts, webhookEndpoints } from "../../../db/schema";
import type { Db } from "../../db";
import { cursorOf, olderThan, oneOf, page, PAGE_SIZE, parseCursor, parseTime, uuid } from "./keyset";

export const DELIVERY_STATUSES = ["pending", "succeeded", "failed"] as const;

export interface DeliveryFilters {
  status?: (typeof DELIVERY_STATUSES)[number];
  endpoint?: string;
  since?: Date;
  until?: Date;
  before?: string;
}

export const deliveryFilters = (q: Record<string, unknown>): DeliveryFilters => ({
  status: oneOf(q.status, DELIVERY_STATUSES),
  endpoint: uuid(q.endpoint),
  since: parseTime(q.since),
  until: parseTime(q.until),
  before: parseCursor(q.before) ? String(q.before) : undefined,
});

export async function listDeliveries(db: Db, f: DeliveryFilters, size = PAGE_SIZE) {
  const rows = await db
    .select({
      id: deliveries.id,
      eventType: deliveries.eventType,
      status: deliveries.status,
      attempts: deliveries.attempts,
      lastStatus: deliveries.lastStatus,
      lastError: deliveries.lastError,
      createdAt: deliveries.createdAt,
      webhookId: deliveries.webhookId,
      endpointId: deliveries.endpointId,
      url: webhookEndpoints.url,
      cursor: cursorOf(deliveries.createdAt, deliveries.seq),
    })
    .from(deliveries)
    .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, deliveries.endpointId))
    .where(
      and(
        f.status ? eq(deliveries.status, f.status) : undefined,
        f.endpoint ? eq(deliveries.endpointId, f.endpoint) : undefined,
        f.since ? sql`${deliveries.createdAt} >= ${f.since.toISOString()}` : undefined,
        f.until ? sql`${deliveries.createdAt} < ${f.until.toISOString()}` : undefined,
        olderThan(deliveries.createdAt, deliveries.seq, parseCursor(f.before), "bigint"),
      ),
    )
    .orderBy(desc(deliveries.createdAt), desc(deliveries.seq))
    .limit(size + 1);
  return page(rows, size);
}

export async function getDelivery(db: Db, id: string) {
  const [row] = await db.select().from(deliveries).where(eq(deliveries.id, id));
  if (!row) return undefined;
  const [endpoint] = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, row.endpointId));
  const attempts = await db
    .select()
    .from(deliveryAttempts)
    .where(eq(deliveryAttempts.deliveryId, id))
    .orderBy(asc(deliveryAttempts.attempt));
  return { delivery: row, endpoint: endpoint!, attempts };
}

const endpointColumns = {
  id: webhookEndpoints.id,
  url: webhookEndpoints.url,
  clinicId: webhookEndpoints.clinicId,
  clinicName: clinics.name,
  conversationId: webhookEndpoints.conversationId,
  failingSince: webhookEndpoints.failingSince,
  disabledAt: webhookEndpoints.disabledAt,
  disabledReason: webhookEndpoints.disabledReason,
  previousSecretExpiresAt: webhookEndpoints.previousSecretExpiresAt,
  createdAt: webhookEndpoints.createdAt,
  cursor: cursorOf(webhookEndpoints.createdAt, webhookEndpoints.id),
};

export async function listEndpoints(db: Db, q: Record<string, unknown>) {
  const rows = await db
    .select(endpointColumns)
    .from(webhookEndpoints)
    .leftJoin(clinics, eq(clinics.id, webhookEndpoints.clinicId))
    .where(
      and(
        q.state === "disabled" ? sql`${webhookEndpoints.disabledAt} is not null` : undefined,
        q.state === "failing" ? sql`${webhookEndpoints.failingSince} is not null` : undefined,
        olderThan(webhookEndpoints.createdAt, webhookEndpoints.id, parseCursor(q.before), "uuid"),
      ),
    )
    .orderBy(desc(webhookEndpoints.createdAt), desc(webhookEndpoints.id))
    .limit(PAGE_SIZE + 1);
  return page(rows);
}

export async function getEndpoint(db: Db, id: string) {
  const [row] = await db
    .select(endpointColumns)
    .from(webhookEndpoints)
    .leftJoin(clinics, eq(clinics.id, webhookEndpoints.clinicId))
    .where(eq(webhookEndpoints.id, id));
  if (!row) return undefined;
  // Index-only over (endpoint_id, status, created_at).
  const counts = await db
    .select({ status: deliveries.status, n: sql<number>`count(*)::int` })
    .from(deliveries)
    .where(eq(deliveries.endpointId, id))
    .groupBy(deliveries.status);
  return { endpoint: row, counts: Object.fromEntries(counts.map((c) => [c.status, c.n])) as Record<string, number> };
}
