import { and, eq, ne } from "drizzle-orm";
import { clinicEvents, clinics, messages } from "../../db/schema";
import { enqueue, type Executor } from "../jobs/enqueue";

export type NewMessage = typeof messages.$inferInsert;

/**
 * Stores a conversation message and queues its delivery to the conversation's callback URL
 * (task `deliver-message`, SPEC 6). Returns undefined when a message with the same external id and type exists.
 */
export async function recordMessage(tx: Executor, message: NewMessage): Promise<string | undefined> {
  const rows = await tx.insert(messages).values(message).onConflictDoNothing()
    .returning({ id: messages.id, status: messages.status, updatedBy: messages.updatedBy, updatedAt: messages.updatedAt });
  const row = rows[0];
  if (row) await queueMessageDelivery(tx, message.conversationId, "message.created", row);
  return row?.id;
}

/** Changes a message's status and queues a delivery of the changed message (SPEC 6: "created or changing status"). */
export async function changeMessageStatus(tx: Executor, messageId: string, status: string, updatedBy: string): Promise<boolean> {
  const rows = await tx.update(messages).set({ status, updatedBy, updatedAt: new Date() })
    .where(and(eq(messages.id, messageId), ne(messages.status, status)))
    .returning({ id: messages.id, conversationId: messages.conversationId, status: messages.status, updatedBy: messages.updatedBy, updatedAt: messages.updatedAt });
  if (rows[0]) await queueMessageDelivery(tx, rows[0].conversationId, "message.updated", rows[0]);
  return rows.length > 0;
}

/**
 * One graphile-worker queue per conversation: its deliveries are created one at a time in message order,
 * which fixes the sequence the sender then respects (src/outbound/deliver.ts).
 */
function queueMessageDelivery(
  tx: Executor,
  conversationId: string,
  event: string,
  state: { id: string; status: string; updatedBy: string; updatedAt: Date },
) {
  // The state as of this event travels with the job: a delivery built later must still say what happened then
  // (a created webhook built after a status change would otherwise show the new status twice).
  return enqueue(tx, "deliver-message", {
    messageId: state.id, event, status: state.status, updatedBy: state.updatedBy, updatedAt: state.updatedAt.toISOString(),
  }, { queueName: `conversation:${conversationId}` });
}

/** Queues an event for the clinic's callback URL (task `deliver-clinic-event`); once per dedupe key. */
export async function queueClinicEvent(
  tx: Executor,
  event: { clinicId: string; type: string; dedupeKey: string; data: Record<string, unknown> },
): Promise<string | undefined> {
  const [clinic] = await tx.select({ callbackUrl: clinics.callbackUrl }).from(clinics).where(eq(clinics.id, event.clinicId));
  const rows = await tx.insert(clinicEvents).values(event).onConflictDoNothing().returning({ id: clinicEvents.id });
  const id = rows[0]?.id;
  // Kept either way (it is the clinic's record); delivered only where the clinic has a callback URL.
  if (id && clinic?.callbackUrl) await enqueue(tx, "deliver-clinic-event", { clinicEventId: id });
  return id;
}
