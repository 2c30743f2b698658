import { emailOutbox } from "../../db/schema";
import type { Executor } from "../db";
import { enqueue } from "../queue";

export interface EmailInput {
  /** Same cause, same key: queueing twice is a no-op. */
  dedupeKey: string;
  kind: string;
  to: string;
  subject: string;
  body: string;
}

/** Writes the email to the outbox and queues its send in the caller's transaction. */
export async function queueEmail(tx: Executor, email: EmailInput): Promise<string | undefined> {
  const rows = await tx.insert(emailOutbox).values(email).onConflictDoNothing().returning({ id: emailOutbox.id });
  const id = rows[0]?.id;
  if (id) await enqueue(tx, "send-email", { emailId: id }, { jobKey: `email:${id}` });
  return id;
}
