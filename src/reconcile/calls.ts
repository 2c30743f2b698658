import Stripe from "stripe";
import twilio from "twilio";
import { unlessAborted } from "../abort";

/** The API calls one pass may still make in this run (RECONCILE_MAX_CALLS). */
export interface Budget {
  readonly max: number;
  used: number;
  /** Takes one call; false when none is left, or the worker is stopping. */
  take(): boolean;
  /** graphile-worker's abort signal: a stopping worker gives up waiting for a call (the pass ends for this run). */
  readonly signal?: AbortSignal;
}

export function callBudget(max: number, signal?: AbortSignal): Budget {
  return {
    max,
    used: 0,
    signal,
    take() {
      if (this.used >= this.max || signal?.aborted) return false;
      this.used++;
      return true;
    },
  };
}

/**
 * Why a provider call failed: `throttled` (429) and `unavailable` (5xx, network, timeout) are the provider's
 * trouble and are retried by a later run with backoff; `refused` (any other 4xx: credentials, a stale cursor)
 * needs a person or a fresh start, and is retried the same way meanwhile.
 */
export interface CallFailure {
  kind: "throttled" | "unavailable" | "refused";
  status?: number;
  message: string;
}

export function callFailure(error: unknown): CallFailure {
  const message = (error instanceof Error ? error.message : String(error)).split("\n")[0]!.slice(0, 500);
  const status = error instanceof twilio.RestException ? error.status
    : error instanceof Stripe.errors.StripeError ? error.statusCode : undefined;
  if (status === 429) return { kind: "throttled", status, message };
  if (status === undefined || status >= 500) return { kind: "unavailable", status, message };
  return { kind: "refused", status, message };
}

export const describeFailure = (f: CallFailure) => `${f.kind}${f.status ? ` (HTTP ${f.status})` : ""}: ${f.message}`;

/** A call the budget allowed, and its result or failure, as a value: passes stop on the first failure. */
export type Called<T> = { kind: "ok"; value: T } | { kind: "exhausted" } | { kind: "failed"; failure: CallFailure };

export async function call<T>(budget: Budget, fn: () => Promise<T>): Promise<Called<T>> {
  if (!budget.take()) return { kind: "exhausted" };
  try {
    return { kind: "ok", value: await unlessAborted(budget.signal, fn) };
  } catch (error) {
    return { kind: "failed", failure: callFailure(error) };
  }
}
