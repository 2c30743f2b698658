import { and, asc, eq, lt, sql } from "drizzle-orm";
import { clinics, conversations, deliveries, deliveryAttempts, outboundSlots, webhookEndpoints } from "../../db/schema";
import type { Executor } from "../db";
import type { Deps } from "../deps";
import { decideTurn, jitter, nextStep } from "../domain/webhook-delivery";
import { queueEmail } from "../effects/email";
import { type HttpResult, httpTransport, type Transport } from "./http";
import { acquireSlot, releaseSlot } from "./rate-limit";
import { signedHeaders } from "./sign";
import { type Lookup, RefusedTarget, resolveTarget } from "./ssrf";
import { type Delivery, type Endpoint, scheduleAttempt } from "./store";

export interface DeliverOptions {
  transport?: Transport;
  lookup?: Lookup;
  /** graphile-worker's abort signal: a stopping worker ends its attempts instead of waiting out the timeout. */
  signal?: AbortSignal;
}

export type SendResult = "sent" | "retry_scheduled" | "failed" | "waiting" | "not_pending";

/**
 * One step of a delivery: wait its turn (conversation order, endpoint slots) or make one attempt and record
 * it. Waiting reschedules the job without counting an attempt, so back-pressure never burns retries. The
 * database's clock is the only one: it stamps new deliveries, schedules retries and decides what is due.
 */
export async function sendDelivery(deps: Deps, deliveryId: string, opts: DeliverOptions = {}): Promise<SendResult> {
  const [delivery] = await deps.db.select().from(deliveries).where(eq(deliveries.id, deliveryId));
  if (!delivery || delivery.status !== "pending") return "not_pending";
  const [endpoint] = await deps.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, delivery.endpointId));
  if (!endpoint) return "not_pending";
  const log = deps.log.child({ deliveryId, endpointId: endpoint.id, webhookId: delivery.webhookId });

  if (endpoint.disabledAt) {
    await finish(deps, deps.db, delivery, {
      status: "failed", lastError: `endpoint disabled: ${endpoint.disabledReason ?? ""}`.trim(),
    });
    log.warn("delivery skipped: endpoint disabled");
    return "failed";
  }
  const turn = await takeTurn(deps, delivery, endpoint);
  if (turn.kind === "skip") return "not_pending";
  if (turn.kind === "wait") return "waiting";

  const t0 = performance.now();
  const { result, address } = await attempt(deps, turn.delivery, endpoint, turn.now, opts);
  const durationMs = Math.round(performance.now() - t0);
  const attempted = { slotId: turn.slotId, started: turn.now, durationMs, result, address };
  return record(deps, turn.delivery, endpoint, attempted, log);
}

type Taken = { kind: "skip" } | { kind: "wait" } | { kind: "go"; slotId: number; delivery: Delivery; now: Date };

/** Reads the facts under the delivery's row lock, decides (src/domain/webhook-delivery.ts), then takes a slot. */
async function takeTurn(deps: Deps, read: Delivery, endpoint: Endpoint): Promise<Taken> {
  return deps.db.transaction(async (tx) => {
    // A manual retry or the sweep can queue a second job for a delivery: re-read it under its row lock, so
    // only one attempt runs at a time and a job that finds the next retry not yet due waits for it.
    const [delivery] = await tx.select().from(deliveries).where(eq(deliveries.id, read.id)).for("update");
    if (!delivery) return { kind: "skip" };
    const now = await databaseNow(tx);
    const [busy] = await tx.select({ id: outboundSlots.id }).from(outboundSlots).where(and(
      eq(outboundSlots.deliveryId, delivery.id), sql`released_at is null and expires_at > clock_timestamp()`)).limit(1);
    // "Not yet attempted" is per round, so a replay of several failed deliveries also goes out in order.
    const [earlier] = delivery.orderKey && delivery.attempts === delivery.roundStart
      ? await tx.select({ nextAttemptAt: deliveries.nextAttemptAt }).from(deliveries).where(and(
        eq(deliveries.orderKey, delivery.orderKey), eq(deliveries.status, "pending"),
        eq(deliveries.attempts, deliveries.roundStart), lt(deliveries.seq, delivery.seq),
      )).orderBy(asc(deliveries.seq)).limit(1)
      : [];
    const turn = decideTurn({
      status: delivery.status, attemptsRead: read.attempts, attempts: delivery.attempts,
      nextAttemptAt: delivery.nextAttemptAt, inFlight: busy !== undefined, earlierDueAt: earlier?.nextAttemptAt,
      now, attemptTimeoutMs: deps.config.OUTBOUND_TIMEOUT_MS,
    });
    if (turn.kind === "skip") return turn;
    if (turn.kind === "wait") {
      const runAt = turn.reason === "not_due" ? delivery.nextAttemptAt : new Date(now.getTime() + turn.ms);
      await sleepUntil(tx, delivery.id, runAt, turn.hold);
      return turn;
    }
    const config = deps.config;
    const slot = await acquireSlot(tx, endpoint.id, delivery.id, {
      // An endpoint that has only failed lately (a hanging receiver times out every attempt) gets fewer workers.
      maxInFlight: endpoint.failingSince ? config.OUTBOUND_MAX_IN_FLIGHT_FAILING : config.OUTBOUND_MAX_IN_FLIGHT,
      maxPerWindow: config.OUTBOUND_MAX_PER_WINDOW, windowMs: config.OUTBOUND_WINDOW_MS,
      leaseMs: config.OUTBOUND_TIMEOUT_MS + 10_000,
    });
    if (!slot.ok) {
      const ms = jitter(slot.reason === "window" ? slot.retryInMs : 150, Math.random());
      await sleepUntil(tx, delivery.id, new Date(now.getTime() + ms), true);
      return { kind: "wait" };
    }
    return { kind: "go", slotId: slot.slotId, delivery, now };
  });
}

async function databaseNow(tx: Executor): Promise<Date> {
  const [row] = await tx.execute<{ now: Date | string }>(sql`select clock_timestamp() as now`);
  return new Date(row!.now);
}

/** Re-queues the job for `runAt`; with `hold`, the delivery's own schedule moves too. */
async function sleepUntil(tx: Executor, deliveryId: string, runAt: Date, hold: boolean) {
  if (hold) await tx.update(deliveries).set({ nextAttemptAt: runAt }).where(eq(deliveries.id, deliveryId));
  await scheduleAttempt(tx, deliveryId, runAt);
}

async function attempt(deps: Deps, delivery: Delivery, endpoint: Endpoint, now: Date, opts: DeliverOptions) {
  let target;
  try {
    // Checked on every attempt, after DNS: the answer may have changed since the endpoint was created.
    target = await resolveTarget(
      endpoint.url, { allowPrivate: deps.config.OUTBOUND_ALLOW_PRIVATE, lookup: opts.lookup },
    );
  } catch (error) {
    if (!(error instanceof RefusedTarget)) throw error;
    return {
      result: { error: error.message, errorType: "refused" } as HttpResult & { errorType: "refused" }, address: null,
    };
  }
  const headers = {
    "content-type": "application/json",
    "user-agent": "Switchboard-Webhooks/1.0",
    "switchboard-event": delivery.eventType,
    ...signedHeaders(endpoint, delivery.webhookId, now, delivery.body),
  };
  const transport = opts.transport ?? httpTransport;
  const result = await transport(target, headers, delivery.body, deps.config.OUTBOUND_TIMEOUT_MS, opts.signal);
  return { result, address: target.address };
}

interface Attempted {
  slotId: number; started: Date; durationMs: number; result: HttpResult & { errorType?: string };
  address: string | null;
}

async function record(
  deps: Deps, delivery: Delivery, endpoint: Endpoint, a: Attempted, log: Deps["log"],
): Promise<SendResult> {
  const attemptNo = delivery.attempts + 1;
  const retryAfter = a.result.headers?.["retry-after"];
  const step = nextStep(attemptNo - delivery.roundStart, deps.config.OUTBOUND_RETRY_DELAYS_MS, {
    status: a.result.status, errorType: a.result.errorType as "timeout" | "network" | "refused" | undefined,
    retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
  }, a.started);
  const error = step.kind === "succeeded" ? null
    : a.result.error
      ?? `HTTP ${a.result.status}${step.errorType === "redirect" ? " (redirects are not followed)" : ""}`;
  const m = deps.metrics;
  m.outboundAttemptSeconds.observe({ result: step.kind === "succeeded" ? "success" : "failure" }, a.durationMs / 1000);
  if (step.kind !== "succeeded") m.outboundErrors.inc({ type: step.errorType });

  const outcome = await deps.db.transaction(async (tx) => {
    await releaseSlot(tx, a.slotId);
    await tx.insert(deliveryAttempts).values({
      deliveryId: delivery.id, attempt: attemptNo, startedAt: a.started, durationMs: a.durationMs, address: a.address,
      statusCode: a.result.status ?? null, errorType: step.kind === "succeeded" ? null : step.errorType,
      error, responseBody: a.result.body ?? null,
    });
    const base = { attempts: attemptNo, lastStatus: a.result.status ?? null, lastError: error };
    if (step.kind === "succeeded") {
      await tx.update(webhookEndpoints).set({ failingSince: null }).where(eq(webhookEndpoints.id, endpoint.id));
      await finish(deps, tx, delivery, { ...base, status: "succeeded" });
      return "sent" as const;
    }
    const disabledNow = await noteFailure(deps, tx, endpoint, step.kind === "failed" && step.disableEndpoint);
    if (step.kind === "retry" && !disabledNow) {
      const runAt = new Date((await databaseNow(tx)).getTime() + step.delayMs);
      await tx.update(deliveries).set({ ...base, nextAttemptAt: runAt }).where(eq(deliveries.id, delivery.id));
      await scheduleAttempt(tx, delivery.id, runAt);
      return "retry_scheduled" as const;
    }
    await finish(deps, tx, delivery, { ...base, status: "failed" });
    return "failed" as const;
  });
  if (delivery.orderKey && delivery.attempts === delivery.roundStart) await wakeNextInOrder(deps.db, delivery);
  if (outcome === "retry_scheduled") m.outboundRetries.inc();
  const fields = { attempt: attemptNo, status: a.result.status, error, durationMs: a.durationMs, outcome };
  if (outcome === "sent") log.info("webhook delivered", fields);
  else log.warn("webhook attempt failed", fields);
  return outcome;
}

/**
 * The delivery after this one in its conversation waits until this one has been attempted in its round; it was
 * put back to sleep for a guess of how long that takes, so wake it now that the attempt is recorded.
 */
async function wakeNextInOrder(db: Executor, delivery: Delivery) {
  const [next] = await db.select({ id: deliveries.id }).from(deliveries).where(and(
    eq(deliveries.orderKey, delivery.orderKey!), eq(deliveries.status, "pending"),
    sql`${deliveries.seq} > ${delivery.seq}`,
    eq(deliveries.attempts, deliveries.roundStart),
  )).orderBy(asc(deliveries.seq)).limit(1);
  if (next) await scheduleAttempt(db, next.id);
}

async function finish(
  deps: Deps, tx: Executor, delivery: Delivery, fields: Partial<Delivery> & { status: "succeeded" | "failed" },
) {
  await tx.update(deliveries).set({ ...fields, completedAt: sql`now()` }).where(eq(deliveries.id, delivery.id));
  deps.metrics.outboundDeliveries.inc({ outcome: fields.status });
}

/**
 * Tracks the endpoint's run of failures; disables it when the run reaches OUTBOUND_DISABLE_AFTER_MS (or at once
 * on 410 Gone) and emails the clinic. Returns true when this failure disabled it.
 */
async function noteFailure(deps: Deps, tx: Executor, endpoint: Endpoint, gone: boolean): Promise<boolean> {
  const after = `${deps.config.OUTBOUND_DISABLE_AFTER_MS} milliseconds`;
  const [row] = await tx.execute<{ disabled_at: Date | string | null }>(sql`
    update webhook_endpoints set
      failing_since = coalesce(failing_since, now()),
      disabled_at = case when disabled_at is null and (${gone} or failing_since <= now() - ${after}::interval)
        then now() else disabled_at end,
      disabled_reason = case when disabled_at is null and ${gone} then 'the receiver answered 410 Gone'
        when disabled_at is null and failing_since <= now() - ${after}::interval
          then 'every attempt failed for ' || ${after}
        else disabled_reason end
    where id = ${endpoint.id} and disabled_at is null
    returning disabled_at`);
  if (!row?.disabled_at) return false;
  await notifyDisabled(deps, tx, endpoint, gone, new Date(row.disabled_at));
  return true;
}

async function notifyDisabled(deps: Deps, tx: Executor, endpoint: Endpoint, gone: boolean, at: Date) {
  let clinicId = endpoint.clinicId;
  if (!clinicId && endpoint.conversationId) {
    const [c] = await tx.select({ clinicId: conversations.clinicId }).from(conversations)
      .where(eq(conversations.id, endpoint.conversationId));
    clinicId = c?.clinicId ?? null;
  }
  const [clinic] = clinicId ? await tx.select().from(clinics).where(eq(clinics.id, clinicId)) : [];
  const to = clinic?.email ?? deps.config.SUPPORT_EMAIL;
  deps.log.warn("webhook endpoint disabled", { endpointId: endpoint.id, gone, notify: to ?? null });
  if (!to) return;
  const reason = gone ? "it answered 410 Gone" : "every delivery attempt to it has failed for 24 hours";
  await queueEmail(tx, {
    // One notice per time it was disabled (it may be re-enabled and disabled again), by the database clock.
    dedupeKey: `endpoint-disabled:${endpoint.id}:${at.getTime()}`,
    kind: "endpoint_disabled",
    to,
    subject: `${clinic?.name ?? "Switchboard"}: webhook endpoint disabled`,
    body: `Switchboard stopped sending webhooks to ${endpoint.url} because ${reason}.\n\n`
      + `Fix the receiver, re-enable the endpoint (POST /v1/endpoints/${endpoint.id}/enable) and replay the failed `
      + `deliveries (POST /v1/endpoints/${endpoint.id}/replay).`,
  });
}

/** Deliveries of this endpoint whose slot row still says in flight: used by tests and diagnostics. */
export async function slotsInFlight(deps: Deps, endpointId: string): Promise<number> {
  const rows = await deps.db.select({ id: outboundSlots.id }).from(outboundSlots)
    .where(and(eq(outboundSlots.endpointId, endpointId), sql`released_at is null and expires_at > clock_timestamp()`));
  return rows.length;
}
