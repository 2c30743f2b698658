import { and, eq, sql } from "drizzle-orm";
import { reconcileCheckpoints } from "../../db/schema";
import type { Deps } from "../deps";
import { backoffUntil, type Window } from "../domain/reconcile";
import { storableText } from "../domain/text";

export type PassProvider = "twilio-sms" | "twilio-status" | "stripe";
export interface PassKey { provider: PassProvider; account: string; number: string }
export type Checkpoint = typeof reconcileCheckpoints.$inferSelect;

/**
 * How long a run holds a pass: long enough for every call of its budget to time out, and renewed with every
 * saved page, so it only runs out when the holder died. A run that finds it held skips that pass (another run
 * is doing it); the cron jobs share one queue as well, so this guards a run that overlaps in another way.
 */
const leaseMs = ({ config }: Pick<Deps, "config">) => {
  const slowest = Math.max(config.TWILIO_TIMEOUT_MS, config.STRIPE_TIMEOUT_MS);
  return Math.max(5 * 60_000, config.RECONCILE_MAX_CALLS * slowest + 60_000);
};

export type Claim =
  | { kind: "claimed"; checkpoint: Checkpoint }
  | { kind: "busy" }
  | { kind: "backing_off"; until: Date };

const keyIs = (key: PassKey) => and(
  eq(reconcileCheckpoints.provider, key.provider), eq(reconcileCheckpoints.account, key.account),
  eq(reconcileCheckpoints.number, key.number),
);

/** Takes the pass's lease in one statement (first run: creates its row), unless it is held or backing off. */
export async function claimPass(deps: Pick<Deps, "db" | "clock" | "config">, key: PassKey): Promise<Claim> {
  const now = deps.clock.now();
  const at = sql`${now.toISOString()}::timestamptz`;
  const leaseUntil = new Date(now.getTime() + leaseMs(deps));
  const { leaseUntil: lease, backoffUntil: backoff } = reconcileCheckpoints;
  const [claimed] = await deps.db.insert(reconcileCheckpoints).values({ ...key, leaseUntil })
    .onConflictDoUpdate({
      target: [reconcileCheckpoints.provider, reconcileCheckpoints.account, reconcileCheckpoints.number],
      set: { leaseUntil },
      setWhere: sql`(${lease} is null or ${lease} <= ${at}) and (${backoff} is null or ${backoff} <= ${at})`,
    }).returning();
  if (claimed) return { kind: "claimed", checkpoint: claimed };
  const [held] = await deps.db.select().from(reconcileCheckpoints).where(keyIs(key));
  if (held?.backoffUntil && held.backoffUntil > now) return { kind: "backing_off", until: held.backoffUntil };
  return { kind: "busy" };
}

export type Progress =
  /** Every event up to `checkpointAt` is stored. */
  | { kind: "done"; checkpointAt: Date }
  /** The pages of `window` before `cursor` are stored; the next run resumes at the cursor. */
  | { kind: "resume"; window: Window; cursor: string }
  /** The saved cursor was refused (stale): the next run lists again from the checkpoint. */
  | { kind: "restart" };

/** Records how far the pass got (only what is stored) and renews the lease. */
export async function saveProgress(
  deps: Pick<Deps, "db" | "clock" | "config">,
  key: PassKey,
  progress: Progress,
): Promise<void> {
  const leaseUntil = new Date(deps.clock.now().getTime() + leaseMs(deps));
  const fields = progress.kind === "done"
    ? { checkpointAt: progress.checkpointAt, windowFrom: null, windowUntil: null, cursor: null }
    : progress.kind === "resume"
      ? { windowFrom: progress.window.from, windowUntil: progress.window.until, cursor: progress.cursor }
      : { windowFrom: null, windowUntil: null, cursor: null };
  await deps.db.update(reconcileCheckpoints).set({ ...fields, leaseUntil }).where(keyIs(key));
}

/** Ends the run's hold on the pass: a failure counts towards the backoff, a success clears it. */
export async function releasePass(
  deps: Pick<Deps, "db" | "clock" | "config">,
  key: PassKey,
  result: { found: number; error?: string },
): Promise<void> {
  const now = deps.clock.now();
  const found = sql`${reconcileCheckpoints.found} + ${result.found}`;
  if (result.error === undefined) {
    await deps.db.update(reconcileCheckpoints).set({
      leaseUntil: null, failures: 0, backoffUntil: null, lastError: null, lastRunAt: now, found,
    }).where(keyIs(key));
    return;
  }
  const [row] = await deps.db.select({ failures: reconcileCheckpoints.failures })
    .from(reconcileCheckpoints).where(keyIs(key));
  const failures = (row?.failures ?? 0) + 1;
  await deps.db.update(reconcileCheckpoints).set({
    leaseUntil: null, failures, backoffUntil: backoffUntil(failures, now, deps.config.RECONCILE_INTERVAL_MINUTES),
    lastError: storableText(result.error, 1000), lastRunAt: now, found,
  }).where(keyIs(key));
}
