import { Type as T } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { and, asc, eq, lte } from "drizzle-orm";
import type { Task } from "graphile-worker";
import { appointments } from "../../db/schema";
import type { Deps } from "../deps";
import type { Cause } from "../domain/appointments";
import { formatWhen } from "../domain/time";
import { changeStatus, loadParties, lockAppointment } from "../effects/appointments";
import { queueEmail } from "../effects/email";
import { enqueue } from "../queue";

const Payload = T.Object({ appointmentId: T.String({ pattern: "^[0-9a-fA-F-]{36}$" }) });

export type HoldResult = "cancelled" | "paid" | "not_held" | "not_yet";

/** Cancels an appointment whose payment hold has run out; re-checks everything under a row lock. */
export async function expireHold(deps: Deps, appointmentId: string, cause: Cause): Promise<HoldResult> {
  return deps.db.transaction(async (tx) => {
    const appointment = await lockAppointment(tx, appointmentId);
    if (!appointment || appointment.status !== "payment_pending" || !appointment.holdExpiresAt) return "not_held";
    if (appointment.depositPaid) return "paid";
    if (appointment.holdExpiresAt > deps.clock.now()) {
      // Woken early (clock skew, or a later hold): come back when it really expires.
      await enqueue(
        tx, "expire-hold", { appointmentId }, { runAt: appointment.holdExpiresAt, jobKey: `hold:${appointmentId}` },
      );
      return "not_yet";
    }
    await changeStatus(tx, appointment, "cancelled", cause, { holdExpiresAt: null });
    const { patient, clinic } = await loadParties(tx, appointment);
    if (patient.email) {
      await queueEmail(tx, {
        dedupeKey: `hold-expired:${appointment.id}`,
        kind: "hold_expired",
        to: patient.email,
        subject: `${clinic.name}: appointment cancelled`,
        body: `Your appointment on ${formatWhen(appointment.startsAt, clinic.timezone)} has been `
          + `cancelled because the deposit `
          + `was not paid within ${deps.config.HOLD_MINUTES / 60} hours. Please contact ${clinic.name} to book again.`,
      });
    }
    return "cancelled";
  });
}

export function expireHoldTask(deps: Deps): Task {
  return async (payload) => {
    if (!Value.Check(Payload, payload)) {
      deps.log.error("expire-hold: bad payload, giving up", { payload });
      return;
    }
    const result = await expireHold(deps, payload.appointmentId, { type: "job", id: "expire-hold" });
    deps.log.info("hold checked", { appointmentId: payload.appointmentId, result });
  };
}

/** Cron safety net: cancels every expired hold, even one whose scheduled job was lost. */
export function sweepHoldsTask(deps: Deps): Task {
  return async () => {
    const due = await deps.db.select({ id: appointments.id }).from(appointments)
      .where(and(
        eq(appointments.status, "payment_pending"), eq(appointments.depositPaid, false),
        lte(appointments.holdExpiresAt, deps.clock.now()),
      ))
      .orderBy(asc(appointments.holdExpiresAt)).limit(500);
    let cancelled = 0;
    for (const { id } of due) {
      if ((await expireHold(deps, id, { type: "job", id: "sweep-holds" })) === "cancelled") cancelled++;
    }
    if (due.length > 0) deps.log.info("hold sweep", { due: due.length, cancelled });
  };
}
