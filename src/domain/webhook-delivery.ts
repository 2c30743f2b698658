/** Pure rules for outbound webhook attempts (SPEC 6): what an answer means and what happens next. */

/** A delivery is pending until it succeeds or runs out of attempts. */
export type DeliveryStatus = "pending" | "succeeded" | "failed";

export type AttemptErrorType = "timeout" | "network" | "http_status" | "redirect" | "refused" | "gone";

export interface AttemptOutcome {
  status?: number;
  errorType?: "timeout" | "network" | "refused";
  retryAfter?: string;
}

export type NextStep =
  | { kind: "succeeded" }
  | { kind: "retry"; delayMs: number; errorType: AttemptErrorType }
  | { kind: "failed"; errorType: AttemptErrorType; disableEndpoint: boolean };

/** "4000,8000,10000" → [4000, 8000, 10000]: one entry per retry after the first attempt. */
export function parseDelays(text: string): number[] {
  return text.split(",").map((s) => Number(s.trim())).filter((n) => Number.isFinite(n) && n >= 0);
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unreadable. Capped at an hour. */
export function retryAfterMs(value: string | undefined, now: Date): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value.trim());
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now.getTime();
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  return Math.min(ms, 3_600_000);
}

export function errorTypeOf(outcome: AttemptOutcome): AttemptErrorType | undefined {
  if (outcome.errorType) return outcome.errorType;
  const status = outcome.status ?? 0;
  if (status >= 200 && status < 300) return undefined;
  if (status === 410) return "gone";
  if (status >= 300 && status < 400) return "redirect";
  return "http_status";
}

/**
 * After attempt number `attemptInRound` (1-based within the current round) ends in `outcome`:
 * 2xx succeeds; 410 fails and disables the endpoint at once; a refused target fails without retry (it is
 * not transient); anything else is retried after the next configured delay, or the longer Retry-After a
 * 429/503 asks for, until the delays run out.
 */
export function nextStep(attemptInRound: number, delays: number[], outcome: AttemptOutcome, now: Date): NextStep {
  const errorType = errorTypeOf(outcome);
  if (!errorType) return { kind: "succeeded" };
  if (errorType === "gone") return { kind: "failed", errorType, disableEndpoint: true };
  if (errorType === "refused") return { kind: "failed", errorType, disableEndpoint: false };
  const scheduled = delays[attemptInRound - 1];
  if (scheduled === undefined) return { kind: "failed", errorType, disableEndpoint: false };
  const asked = outcome.status === 429 || outcome.status === 503 ? retryAfterMs(outcome.retryAfter, now) : undefined;
  return { kind: "retry", delayMs: Math.max(scheduled, asked ?? 0), errorType };
}

/** What one `send-delivery` job does now. */
export type Turn =
  | { kind: "skip" }
  /**
   * Sleep `ms`; `hold` also moves the delivery's own schedule (the next one in its conversation times itself by it).
   */
  | { kind: "wait"; ms: number; hold: boolean; reason: "not_due" | "in_flight" | "order" }
  | { kind: "go" };

export interface TurnFacts {
  status: string;
  /** Attempts when the job read the delivery, and now under its row lock (another job may have attempted since). */
  attemptsRead: number;
  attempts: number;
  nextAttemptAt: Date;
  /** Another job's attempt of this delivery holds a slot. */
  inFlight: boolean;
  /** When the delivery before it in its conversation is due, if that one has not been attempted in its round. */
  earlierDueAt?: Date;
  now: Date;
  /** How long an attempt may take: a job that finds one in flight looks again after about that long. */
  attemptTimeoutMs: number;
}

/** Back-pressure waits are short and jittered so waiting jobs do not all wake at once. */
export const jitter = (base: number, random: number) => base + Math.floor(random * Math.max(50, base / 2));

/**
 * Whether a delivery may be attempted now: only while pending, when due, with no other attempt of it in flight,
 * and after the delivery before it in its conversation was attempted in this round. Then an endpoint slot decides.
 */
export function decideTurn(f: TurnFacts, random = Math.random()): Turn {
  if (f.status !== "pending") return { kind: "skip" };
  const early = f.nextAttemptAt.getTime() - f.now.getTime();
  if (f.attempts > f.attemptsRead || early > 25) return {
    kind: "wait", ms: Math.max(early, 1), hold: false, reason: "not_due",
  };
  if (f.inFlight) return { kind: "wait", ms: jitter(f.attemptTimeoutMs, random), hold: false, reason: "in_flight" };
  if (f.earlierDueAt) {
    // Wake about when the one ahead is due, not in a tight loop behind a rate-limited endpoint.
    const ms = Math.max(100, f.earlierDueAt.getTime() - f.now.getTime());
    return { kind: "wait", ms: jitter(ms, random), hold: true, reason: "order" };
  }
  return { kind: "go" };
}
