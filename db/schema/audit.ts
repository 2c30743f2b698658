import { bigserial, index, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * What people did to the system by hand (operator console: sign-in, replay, retry, endpoint changes), beside the
 * appointment audit trail that records status changes. `cause` says through what (`console`).
 */
export const auditLog = pgTable("audit_log", {
  id: bigserial("id", { mode: "number" }).primaryKey(),
  at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
  cause: text("cause").notNull(),
  action: text("action").notNull(),
  /** What was acted on: `webhook_event`, `delivery`, `endpoint`, `session`. */
  subjectType: text("subject_type").notNull(),
  subjectId: text("subject_id"),
  /** The client address the action came from. */
  actor: text("actor"),
  detail: jsonb("detail").$type<Record<string, unknown>>().notNull().default({}),
}, (t) => [index("audit_log_subject_idx").on(t.subjectType, t.subjectId, t.id)]);
