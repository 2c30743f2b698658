import { auditLog } from "../../db/schema";
import type { Executor } from "../db";

export interface AuditEntry {
  action: string;
  subjectType: string;
  subjectId?: string | number;
  actor?: string;
  detail?: Record<string, unknown>;
}

/** Writes what an operator did, with the cause `console`, in the transaction that did it. */
export async function recordConsoleAction(tx: Executor, entry: AuditEntry): Promise<void> {
  await tx.insert(auditLog).values({
    cause: "console",
    action: entry.action,
    subjectType: entry.subjectType,
    subjectId: entry.subjectId === undefined ? null : String(entry.subjectId),
    actor: entry.actor ?? null,
    detail: entry.detail ?? {},
  });
}
