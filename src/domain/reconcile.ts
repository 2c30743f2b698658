/** When reconciliation looks, how far back, and how it backs off (SPEC 11). Pure: every time is passed in. */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Statuses after which Twilio sends no further callback for an SMS: nothing left to reconcile. */
export const FINAL_SMS_STATUSES = ["delivered", "undelivered", "failed", "read", "canceled"] as const;
export const isFinalSmsStatus = (status: string) => (FINAL_SMS_STATUSES as readonly string[]).includes(status);

/** An SMS is looked up until it is this old; a status still missing by then is not coming. */
export const STATUS_CHECK_HORIZON_MS = 72 * HOUR;
const STATUS_CHECK_MAX_GAP_MS = 12 * HOUR;

export type NextCheck = { kind: "at"; at: Date } | { kind: "stop" };

/**
 * After the `checks`-th look found an SMS still without a final status: the next look waits twice as long as the
 * one before (RECONCILE_SMS_AFTER_MINUTES, then double that, …, at most 12 hours), with a last look when the SMS
 * turns 72 hours old, and none after that.
 */
export function nextStatusCheck(acceptedAt: Date, checks: number, now: Date, afterMinutes: number): NextCheck {
  const horizon = acceptedAt.getTime() + STATUS_CHECK_HORIZON_MS;
  if (now.getTime() >= horizon) return { kind: "stop" };
  const gap = Math.min(afterMinutes * MINUTE * 2 ** Math.max(checks - 1, 0), STATUS_CHECK_MAX_GAP_MS);
  return { kind: "at", at: new Date(Math.min(now.getTime() + gap, horizon)) };
}

/**
 * When a pass that failed `failures` times in a row (429, 5xx, network) may run again: the first failure is
 * retried by the next run, then 1, 3, 7, … runs are skipped, up to about an hour. The half interval on top puts
 * the time between two cron ticks, so a run that took a while to fail still skips exactly that many.
 */
export function backoffUntil(failures: number, now: Date, intervalMinutes: number): Date {
  const skipped = 2 ** Math.max(failures - 1, 0) - 1;
  const interval = intervalMinutes * MINUTE;
  return new Date(now.getTime() + Math.min((skipped + 0.5) * interval, HOUR + interval / 2));
}

export interface Window { from: Date; until: Date }

export interface WindowSettings {
  RECONCILE_OVERLAP_MINUTES: number;
  RECONCILE_GRACE_MINUTES: number;
}

/**
 * Where a pass with no checkpoint yet starts: one interval back, never before `notBefore` (when the clinic was
 * added: messages from before Switchboard answered for a number are not its to answer). Stored before the first
 * listing, so a first run that fails does not let the start slide forward with the clock.
 */
export function firstCheckpoint(now: Date, intervalMinutes: number, notBefore?: Date): Date {
  return new Date(Math.max(now.getTime() - intervalMinutes * MINUTE, notBefore?.getTime() ?? 0));
}

/**
 * The window a listing pass asks for. It reaches RECONCILE_OVERLAP_MINUTES before the checkpoint (a provider may
 * list an event late), not before `notBefore`, and stops RECONCILE_GRACE_MINUTES before now (its webhook may still
 * be on the way; the webhook then wins). `none` when the window is empty.
 */
export function listingWindow(
  checkpointAt: Date,
  now: Date,
  settings: WindowSettings,
  notBefore?: Date,
): ({ kind: "list" } & Window) | { kind: "none" } {
  const overlap = settings.RECONCILE_OVERLAP_MINUTES * MINUTE;
  const from = Math.max(checkpointAt.getTime() - overlap, notBefore?.getTime() ?? 0);
  const until = now.getTime() - settings.RECONCILE_GRACE_MINUTES * MINUTE;
  return until > from ? { kind: "list", from: new Date(from), until: new Date(until) } : { kind: "none" };
}

/** Cron pattern for a pass every `minutes` (1-60), at the same minutes of every hour. */
export const everyMinutes = (minutes: number) => (minutes >= 60 ? "0 * * * *" : `*/${minutes} * * * *`);
