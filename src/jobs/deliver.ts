import { Type as T } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { and, asc, eq, sql } from "drizzle-orm";
import type { Task } from "graphile-worker";
import { clinicEvents, deliveries, messages } from "../../db/schema";
import type { Deps } from "../deps";
import { type DeliverOptions, sendDelivery } from "../outbound/deliver";
import { clinicEndpoint, createDelivery, scheduleAttempt } from "../outbound/store";
import { deliverMessage } from "../effects/messages";

const Uuid = T.String({ pattern: "^[0-9a-fA-F-]{36}$" });
const MessagePayload = T.Object({
  messageId: Uuid,
  event: T.String({ minLength: 1, maxLength: 100 }),
  /** The message's state when the event happened (absent in jobs queued before this field existed). */
  status: T.Optional(T.String()),
  updatedBy: T.Optional(T.String()),
  updatedAt: T.Optional(T.String()),
});
const ClinicEventPayload = T.Object({ clinicEventId: Uuid });
const SendPayload = T.Object({ deliveryId: Uuid });

function badPayload(deps: Deps, task: string, payload: unknown) {
  deps.log.error(`${task}: bad payload, giving up`, { payload });
}

/**
 * `deliver-message`: jobs queued by versions that built a message's delivery in a job. New events build it in
 * their own transaction (src/effects/messages.ts); this drains what an older version left in the queue.
 */
export function deliverMessageTask(deps: Deps): Task {
  return async (payload) => {
    if (!Value.Check(MessagePayload, payload)) return badPayload(deps, "deliver-message", payload);
    const outcome = await deps.db.transaction(async (tx) => {
      const [current] = await tx.select().from(messages).where(eq(messages.id, payload.messageId));
      if (!current) return "unknown message";
      return deliverMessage(tx, payload.event, {
        ...current,
        status: payload.status ?? current.status,
        updatedBy: payload.updatedBy ?? current.updatedBy,
        updatedAt: payload.updatedAt ? new Date(payload.updatedAt) : current.updatedAt,
      });
    });
    deps.log.debug(
      "deliver-message", { messageId: payload.messageId, event: payload.event, outcome: outcome ?? "none" },
    );
  };
}

/** `deliver-clinic-event`: `{type, clinic_id, data, timestamp}` to the clinic's default callback_url. */
export function deliverClinicEventTask(deps: Deps): Task {
  return async (payload) => {
    if (!Value.Check(ClinicEventPayload, payload)) return badPayload(deps, "deliver-clinic-event", payload);
    await deps.db.transaction(async (tx) => {
      const [event] = await tx.select().from(clinicEvents).where(eq(clinicEvents.id, payload.clinicEventId));
      if (!event) return;
      const endpoint = await clinicEndpoint(tx, event.clinicId);
      if (!endpoint) return;
      await createDelivery(tx, {
        endpointId: endpoint.id,
        eventType: event.type,
        dedupeKey: `clinic-event:${event.id}`,
        body: JSON.stringify(
          { type: event.type, clinic_id: event.clinicId, data: event.data, timestamp: deps.clock.now().toISOString() },
        ),
        clinicEventId: event.id,
      });
    });
  };
}

/** `send-delivery`: one attempt (or one wait) of a delivery; see src/outbound/deliver.ts. */
export function sendDeliveryTask(deps: Deps, opts: DeliverOptions = {}): Task {
  return async (payload, helpers) => {
    if (!Value.Check(SendPayload, payload)) return badPayload(deps, "send-delivery", payload);
    await sendDelivery(deps, payload.deliveryId, { signal: helpers.abortSignal, ...opts });
  };
}

/**
 * Cron safety net: a pending delivery whose job is gone (it exhausted graphile-worker's own attempts on
 * database errors, or was deleted) would wait for ever and hold up its conversation; queue it again.
 */
export function sweepDeliveriesTask(deps: Deps): Task {
  return async () => {
    const rows = await deps.db.select({ id: deliveries.id }).from(deliveries)
      .where(and(eq(deliveries.status, "pending"), sql`${deliveries.nextAttemptAt} < now() - interval '5 minutes'`))
      .orderBy(asc(deliveries.nextAttemptAt)).limit(500);
    for (const { id } of rows) await scheduleAttempt(deps.db, id);
    if (rows.length > 0) deps.log.info("delivery sweep requeued", { count: rows.length });
  };
}
