import { and, eq, ne } from "drizzle-orm";
import { clinicEvents, clinics, messages } from "../../db/schema";
import type { Executor } from "../db";
import { messagePayload } from "../outbound/payload";
import { conversationEndpoint, createDelivery } from "../outbound/store";
import { enqueue } from "../queue";

export type NewMessage = typeof messages.$inferInsert;
type Message = typeof messages.$inferSelect;

/**
 * Stores a conversation message and, in the same transaction, the delivery of it to the conversation's callback
 * URL (SPEC 6). Returns undefined when a message with the same external id and type exists.
 */
export async function recordMessage(tx: Executor, message: NewMessage): Promise<string | undefined> {
  const [row] = await tx.insert(messages).values(message).onConflictDoNothing().returning();
  if (row) await deliverMessage(tx, "message.created", row);
  return row?.id;
}

/** Changes a message's status and queues a delivery of the changed message (SPEC 6: "created or changing status"). */
export async function changeMessageStatus(
  tx: Executor, messageId: string, status: string, updatedBy: string,
): Promise<boolean> {
  const [row] = await tx.update(messages).set({ status, updatedBy, updatedAt: new Date() })
    .where(and(eq(messages.id, messageId), ne(messages.status, status))).returning();
  if (row) await deliverMessage(tx, "message.updated", row);
  return row !== undefined;
}

/**
 * Freezes the message as it is at this event into a delivery, in the transaction that made the event. The delivery's
 * `seq` then follows the order in which a conversation's messages were written, which is the order the sender keeps
 * (src/outbound/deliver.ts): no job or named queue has to run in series for it, and the body says what happened
 * then, not what the message looks like when a worker gets to it.
 */
export async function deliverMessage(tx: Executor, event: string, message: Message): Promise<string | undefined> {
  const endpoint = await conversationEndpoint(tx, message.conversationId);
  if (!endpoint) return undefined;
  return createDelivery(tx, {
    endpointId: endpoint.id,
    eventType: event,
    dedupeKey: `${event}:${message.id}:${message.status}:${message.updatedAt.toISOString()}`,
    orderKey: `conversation:${message.conversationId}`,
    body: JSON.stringify(messagePayload(message, message.updatedAt)),
    conversationId: message.conversationId,
    messageId: message.id,
  });
}

/** Queues an event for the clinic's callback URL (task `deliver-clinic-event`); once per dedupe key. */
export async function queueClinicEvent(
  tx: Executor,
  event: { clinicId: string; type: string; dedupeKey: string; data: Record<string, unknown> },
): Promise<string | undefined> {
  const [clinic] = await tx.select({ callbackUrl: clinics.callbackUrl }).from(clinics)
    .where(eq(clinics.id, event.clinicId));
  const rows = await tx.insert(clinicEvents).values(event).onConflictDoNothing().returning({ id: clinicEvents.id });
  const id = rows[0]?.id;
  // Kept either way (it is the clinic's record); delivered only where the clinic has a callback URL.
  if (id && clinic?.callbackUrl) await enqueue(tx, "deliver-clinic-event", { clinicEventId: id });
  return id;
}
