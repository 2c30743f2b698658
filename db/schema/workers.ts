import { pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * One row per graphile-worker pool (and worker) id of a live Switchboard process, refreshed every few seconds.
 * Jobs and named queues locked by an id whose heartbeat stopped belong to a dead process and are unlocked.
 */
export const workerHeartbeats = pgTable("worker_heartbeats", {
  workerId: text("worker_id").primaryKey(),
  /** host:pid of the process, for a person reading the table. */
  process: text("process").notNull(),
  startedAt: timestamp("started_at", { withTimezone: true }).notNull().defaultNow(),
  lastSeenAt: timestamp("last_seen_at", { withTimezone: true }).notNull().defaultNow(),
});
