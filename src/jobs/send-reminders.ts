import { sql } from "drizzle-orm";
import type { Task } from "graphile-worker";
import type { Deps } from "../deps";
import { formatWhen } from "../domain/time";
import { loadParties, lockAppointment } from "../effects/appointments";
import { queueSms } from "../effects/sms";

const BATCH = 100;
const MAX_BATCHES = 50;

/** The reminder text; CONFIRM is left out, the appointment is already confirmed. */
export const reminderText = (clinic: { name: string; timezone: string }, startsAt: Date) =>
  `${clinic.name}: reminder of your appointment on ${formatWhen(startsAt, clinic.timezone)}. `
  + "Reply CANCEL to cancel or RESCHEDULE to change it, HELP for help.";

/**
 * Claims up to BATCH confirmed appointments that start within REMINDER_HOURS and have had no reminder, and queues
 * one reminder SMS for each, in one transaction. Safe in any number of worker processes at once: a row another
 * transaction holds is skipped (`for update skip locked`), reminder_sent_at is set by the claim itself, and the
 * SMS dedupe key (appointment and start time) would refuse a second text anyway. Opted-out patients are not
 * claimed, so one who opts back in before the appointment still gets the reminder.
 */
export async function sendDueReminders(deps: Deps): Promise<number> {
  const now = deps.clock.now();
  const until = new Date(now.getTime() + deps.config.REMINDER_HOURS * 3_600_000);
  return deps.db.transaction(async (tx) => {
    const claimed = await tx.execute<{ id: string }>(sql`
      update appointments set reminder_sent_at = ${now.toISOString()}::timestamptz
      where id in (
        select a.id from appointments a join patients p on p.id = a.patient_id
        where a.status = 'confirmed' and a.reminder_sent_at is null and not p.opted_out
          and a.starts_at > ${now.toISOString()}::timestamptz and a.starts_at <= ${until.toISOString()}::timestamptz
        order by a.starts_at limit ${BATCH}
        for update of a skip locked)
      and reminder_sent_at is null
      returning id`);
    for (const { id } of claimed) {
      const appointment = (await lockAppointment(tx, id))!;
      const { patient, clinic } = await loadParties(tx, appointment);
      await queueSms(tx, {
        dedupeKey: `reminder:${appointment.id}:${appointment.startsAt.toISOString()}`,
        kind: "reminder", clinic, patient, appointmentId: appointment.id,
        body: reminderText(clinic, appointment.startsAt),
      });
    }
    return claimed.length;
  });
}

/** Cron task `send-reminders`: works through every due reminder in batches (bounded). */
export function sendRemindersTask(deps: Deps): Task {
  return async () => {
    let total = 0;
    for (let i = 0; i < MAX_BATCHES; i++) {
      const sent = await sendDueReminders(deps);
      total += sent;
      if (sent < BATCH) break;
    }
    if (total > 0) deps.log.info("appointment reminders queued", { count: total });
  };
}
