import { and, asc, eq, getTableColumns, isNull, sql } from "drizzle-orm";
import { incidents } from "../../db/schema";
import type { Executor } from "../db";
import type { Assessment } from "./rule";

export type Incident = typeof incidents.$inferSelect;

/**
 * Opens the incident of (rule, key), or records that the open one is still seen. Concurrent callers meet at the
 * partial unique index on open incidents: the second waits for the first to commit and then updates its row, so
 * exactly one caller gets `opened: true` (and notifies).
 */
export async function openOrTouch(
  tx: Executor, rule: string, a: Assessment,
): Promise<{ incident: Incident; opened: boolean }> {
  const [row] = await tx.insert(incidents)
    .values({ rule, key: a.key, title: a.title, figures: a.figures, examples: a.examples })
    .onConflictDoUpdate({
      target: [incidents.rule, incidents.key],
      targetWhere: sql`resolved_at is null`,
      set: { title: a.title, figures: a.figures, examples: a.examples, lastSeenAt: sql`now()` },
    })
    // xmax is 0 on a row this statement inserted, and the updating transaction's id on one it updated.
    .returning({ ...getTableColumns(incidents), opened: sql<boolean>`(xmax = 0)` });
  const { opened, ...incident } = row!;
  return { incident, opened };
}

/**
 * Resolves the open incident, keeping the figures that showed recovery when the rule still reported the key. Only
 * the caller whose update finds it still open gets it back (and notifies).
 */
export async function resolveIncident(tx: Executor, id: string, recovered?: Assessment): Promise<Incident | undefined> {
  const [row] = await tx.update(incidents).set({
    resolvedAt: sql`now()`,
    ...(recovered ? { title: recovered.title, figures: recovered.figures } : {}),
  }).where(and(eq(incidents.id, id), isNull(incidents.resolvedAt))).returning();
  return row;
}

/** Claims the reminder of an open, unacknowledged incident last notified `repeatHours` ago (0: never). */
export async function claimReminder(tx: Executor, id: string, repeatHours: number): Promise<Incident | undefined> {
  if (repeatHours <= 0) return undefined;
  const [row] = await tx.update(incidents).set({
    lastNotifiedAt: sql`now()`, reminders: sql`${incidents.reminders} + 1`,
  }).where(and(
    eq(incidents.id, id), isNull(incidents.resolvedAt), isNull(incidents.acknowledgedAt),
    sql`${incidents.lastNotifiedAt} <= now() - make_interval(hours => ${repeatHours}::int)`,
  )).returning();
  return row;
}

export const openIncidentsOf = (db: Executor, rule: string) =>
  db.select().from(incidents).where(and(eq(incidents.rule, rule), isNull(incidents.resolvedAt)));

/** Every open incident, oldest first: what the console's overview shows. */
export function listOpenIncidents(db: Executor): Promise<Incident[]> {
  return db.select().from(incidents).where(isNull(incidents.resolvedAt)).orderBy(asc(incidents.openedAt));
}

export async function getIncident(db: Executor, id: string): Promise<Incident | undefined> {
  const [row] = await db.select().from(incidents).where(eq(incidents.id, id));
  return row;
}

/** Marks the incident as being handled (no more reminders); the first acknowledgement is kept. */
export async function acknowledgeIncident(db: Executor, id: string, by: string): Promise<Incident | undefined> {
  const [row] = await db.update(incidents).set({
    acknowledgedAt: sql`coalesce(${incidents.acknowledgedAt}, now())`,
    acknowledgedBy: sql`coalesce(${incidents.acknowledgedBy}, ${by})`,
  }).where(eq(incidents.id, id)).returning();
  return row;
}

/** Open incidents per rule, every rule named (0 when none), for the metrics gauge. */
export async function openIncidentCounts(db: Executor, rules: string[]): Promise<Record<string, number>> {
  const rows = await db.select({ rule: incidents.rule, n: sql<number>`count(*)::int` }).from(incidents)
    .where(isNull(incidents.resolvedAt)).groupBy(incidents.rule);
  const counts: Record<string, number> = Object.fromEntries(rules.map((r) => [r, 0]));
  for (const row of rows) counts[row.rule] = row.n;
  return counts;
}
