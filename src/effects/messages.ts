import { eq } from "drizzle-orm";
import { clinicEvents, clinics, messages } from "../../db/schema";
import { enqueue, type Executor } from "../jobs/enqueue";

export type NewMessage = typeof messages.$inferInsert;

/**
 * Stores a conversation message and queues its delivery to the conversation's callback URL
 * (task `deliver-message`, SPEC 6). Returns undefined when a message with the same external id and type exists.
 */
export async function recordMessage(tx: Executor, message: NewMessage): Promise<string | undefined> {
  const rows = await tx.insert(messages).values(message).onConflictDoNothing().returning({ id: messages.id });
  const id = rows[0]?.id;
  if (id) await enqueue(tx, "deliver-message", { messageId: id, event: "message.created" });
  return id;
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
