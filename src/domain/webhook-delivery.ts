/** Pure rules for outbound webhook attempts (SPEC 6): what an answer means and what happens next. */

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
