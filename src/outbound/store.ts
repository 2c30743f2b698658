import { and, eq, gte, lte, ne, sql as dsql } from "drizzle-orm";
import { clinics, conversations, deliveries, webhookEndpoints } from "../../db/schema";
import type { Executor } from "../db";
import { enqueue } from "../queue";
import { newSecret } from "./sign";

export type Endpoint = typeof webhookEndpoints.$inferSelect;
export type Delivery = typeof deliveries.$inferSelect;

export async function createConversationEndpoint(tx: Executor, conversationId: string, url: string): Promise<Endpoint> {
  const [row] = await tx.insert(webhookEndpoints)
    .values({ conversationId, url, secret: newSecret(), secretShown: true }).returning();
  return row!;
}

/**
 * The clinic's endpoint for its default callback_url, made on first use. The clinic's callback_url is the
 * source of truth: when it changes, the endpoint follows (same secret).
 */
export async function clinicEndpoint(tx: Executor, clinicId: string): Promise<Endpoint | undefined> {
  const [clinic] = await tx.select({ callbackUrl: clinics.callbackUrl }).from(clinics).where(eq(clinics.id, clinicId));
  if (!clinic?.callbackUrl) return undefined;
  await tx.insert(webhookEndpoints).values({ clinicId, url: clinic.callbackUrl, secret: newSecret() })
    .onConflictDoNothing();
  const [endpoint] = await tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.clinicId, clinicId));
  if (endpoint!.url === clinic.callbackUrl) return endpoint;
  const [moved] = await tx.update(webhookEndpoints).set({ url: clinic.callbackUrl, updatedAt: new Date() })
    .where(eq(webhookEndpoints.id, endpoint!.id)).returning();
  return moved;
}

/** Where a conversation's messages go: its own callback_url, else (patient SMS) its clinic's default one. */
export async function conversationEndpoint(tx: Executor, conversationId: string): Promise<Endpoint | undefined> {
  const [conversation] = await tx.select().from(conversations).where(eq(conversations.id, conversationId));
  if (!conversation) return undefined;
  if (conversation.callbackUrl) {
    const [own] = await tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.conversationId, conversationId));
    return own ?? await createConversationEndpoint(tx, conversationId, conversation.callbackUrl);
  }
  return conversation.clinicId ? clinicEndpoint(tx, conversation.clinicId) : undefined;
}

export interface NewDelivery {
  endpointId: string;
  eventType: string;
  dedupeKey: string;
  orderKey?: string;
  body: string;
  conversationId?: string;
  messageId?: string;
  clinicEventId?: string;
}

/** Stores a delivery (once per dedupe key) and queues its first attempt in the same transaction. */
export async function createDelivery(tx: Executor, input: NewDelivery): Promise<string | undefined> {
  const id = crypto.randomUUID();
  const rows = await tx.insert(deliveries).values({ ...input, id, webhookId: `msg_${id.replaceAll("-", "")}` })
    .onConflictDoNothing().returning({ id: deliveries.id });
  if (!rows[0]) return undefined;
  await scheduleAttempt(tx, id);
  return id;
}

/** (Re)queues the send-delivery job; the key keeps one waiting job per delivery. */
export async function scheduleAttempt(tx: Executor, deliveryId: string, runAt?: Date): Promise<void> {
  await enqueue(tx, "send-delivery", { deliveryId }, { jobKey: `delivery:${deliveryId}`, runAt });
}

/** Puts failed deliveries back to pending with a fresh retry schedule (manual retry and replay). */
export async function restartDeliveries(tx: Executor, where: ReturnType<typeof and>): Promise<string[]> {
  const rows = await tx.update(deliveries).set({
    status: "pending", roundStart: dsql`${deliveries.attempts}`, nextAttemptAt: dsql`now()`, completedAt: null,
  }).where(where).returning({ id: deliveries.id });
  for (const row of rows) await scheduleAttempt(tx, row.id);
  return rows.map((r) => r.id);
}

/** Why a manual retry did or did not start: the API answers 404 / 409, the console says so. */
export type RetryResult = { kind: "retried"; id: string } | { kind: "missing" } | { kind: "pending" };

/** Sends a finished delivery again (same webhook-id, fresh retry schedule); a pending one is left alone. */
export async function retryDelivery(tx: Executor, deliveryId: string): Promise<RetryResult> {
  const [row] = await tx.select({ status: deliveries.status }).from(deliveries).where(eq(deliveries.id, deliveryId))
    .for("update");
  if (!row) return { kind: "missing" };
  if (row.status === "pending") return { kind: "pending" };
  const [id] = await restartDeliveries(tx, and(eq(deliveries.id, deliveryId), ne(deliveries.status, "pending")));
  return { kind: "retried", id: id! };
}

/** Every failed delivery of an endpoint created in [since, until] goes out again (endpoint replay). */
export async function replayEndpointRange(
  tx: Executor, endpointId: string, since: Date, until?: Date,
): Promise<string[]> {
  return restartDeliveries(tx, and(
    eq(deliveries.endpointId, endpointId), eq(deliveries.status, "failed"),
    gte(deliveries.createdAt, since), until ? lte(deliveries.createdAt, until) : undefined,
  ));
}

/** Re-enables an endpoint and forgets its failing streak; undefined when there is no such endpoint. */
export async function enableEndpoint(tx: Executor, endpointId: string): Promise<Endpoint | undefined> {
  const [row] = await tx.update(webhookEndpoints)
    .set({ disabledAt: null, disabledReason: null, failingSince: null, updatedAt: new Date() })
    .where(eq(webhookEndpoints.id, endpointId)).returning();
  return row;
}

/** Stops deliveries to an endpoint (they fail without an attempt) until it is enabled again. */
export async function disableEndpoint(tx: Executor, endpointId: string, reason: string): Promise<Endpoint | undefined> {
  const [row] = await tx.update(webhookEndpoints)
    .set({
      disabledAt: dsql`coalesce(${webhookEndpoints.disabledAt}, now())`, disabledReason: reason, updatedAt: new Date(),
    })
    .where(eq(webhookEndpoints.id, endpointId)).returning();
  return row;
}

/** A new secret, shown once; the old one keeps signing (second signature) for `overlapMs`. */
export async function rotateSecret(tx: Executor, endpointId: string, overlapMs: number) {
  const secret = newSecret();
  const [row] = await tx.update(webhookEndpoints).set({
    secret,
    previousSecret: dsql`${webhookEndpoints.secret}`,
    previousSecretExpiresAt: dsql`now() + ${`${overlapMs} milliseconds`}::interval`,
    secretShown: true,
    updatedAt: new Date(),
  }).where(eq(webhookEndpoints.id, endpointId)).returning();
  return row ? {
    endpoint_id: row.id, webhook_secret: secret,
    previous_secret_expires_at: row.previousSecretExpiresAt?.toISOString() ?? null,
  } : undefined;
}
