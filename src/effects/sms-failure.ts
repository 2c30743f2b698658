import { eq } from "drizzle-orm";
import { clinics, patients, smsMessages } from "../../db/schema";
import type { Executor } from "../db";
import type { Deps } from "../deps";
import { queueEmail } from "./email";
import { queueClinicEvent } from "./messages";
import type { SmsRow } from "./sms-status";

export interface FailureReport { status: string; errorCode?: string }

/**
 * An SMS that failed or was undelivered (SPEC 4): the patient gets the same content by email when an email is
 * known, support gets an email, and the clinic's callback URL an `sms.failed` event. Each is keyed on the SMS, so
 * a duplicate, late or replayed callback (failed after undelivered) never sends a second one. Returns what became
 * of the fallback, for the event's outcome.
 */
export async function handleSmsFailure(deps: Deps, tx: Executor, sms: SmsRow, report: FailureReport): Promise<string> {
  const [clinic] = await tx.select().from(clinics).where(eq(clinics.id, sms.clinicId));
  const [patient] = sms.patientId ? await tx.select().from(patients).where(eq(patients.id, sms.patientId)) : [];
  const clinicName = clinic?.name ?? "Your clinic";

  let fallback = sms.fallbackStatus;
  if (!fallback) {
    if (patient?.email) {
      const emailId = await queueEmail(tx, {
        dedupeKey: `sms-fallback:${sms.id}`,
        kind: "sms_fallback",
        to: patient.email,
        subject: `${clinicName}: a message we could not text you`,
        body: `${sms.body}\n\n--\nWe tried to send you this by text message, but it could not be delivered. `
          + `You can reach ${clinicName} at ${clinic?.phone ?? "the number on your appointment"}.`,
      });
      fallback = "email_queued";
      await tx.update(smsMessages).set({ fallbackStatus: fallback, fallbackEmailId: emailId ?? null })
        .where(eq(smsMessages.id, sms.id));
    } else {
      fallback = `not_possible: ${patient ? "patient has no email" : "no patient on this SMS"}`;
      await tx.update(smsMessages).set({ fallbackStatus: fallback }).where(eq(smsMessages.id, sms.id));
      deps.log.warn(
        "sms failed and no email fallback is possible", { smsId: sms.id, sid: sms.twilioSid, reason: fallback },
      );
    }
  }

  const data = {
    sms_id: sms.id, message_sid: sms.twilioSid, status: report.status, error_code: report.errorCode ?? null,
    kind: sms.kind,
    appointment_id: sms.appointmentId, patient_id: sms.patientId, to: sms.to, from: sms.from, fallback,
  };
  await queueClinicEvent(tx, { clinicId: sms.clinicId, type: "sms.failed", dedupeKey: `sms-failed:${sms.id}`, data });
  if (deps.config.SUPPORT_EMAIL) {
    await queueEmail(tx, {
      dedupeKey: `sms-failed-alert:${sms.id}`,
      kind: "sms_failed_alert",
      to: deps.config.SUPPORT_EMAIL,
      subject: `SMS ${report.status}: ${sms.kind} from `
        + `${clinicName}${report.errorCode ? ` (Twilio error ${report.errorCode})` : ""}`,
      body: [
        `An SMS could not be delivered `
          + `(${report.status}${report.errorCode ? `, Twilio error ${report.errorCode}` : ""}).`,
        `Clinic: ${clinicName} (${sms.clinicId})`,
        `Patient: ${patient ? `${patient.name} (${patient.id})` : "none"}, to ${sms.to}`,
        `Appointment: ${sms.appointmentId ?? "none"}`,
        `MessageSid: ${sms.twilioSid}; SMS id: ${sms.id}; kind: ${sms.kind}`,
        `Email fallback to the patient: ${fallback}`,
        "", "Text:", sms.body,
      ].join("\n"),
    });
  } else {
    deps.log.warn(
      "sms failed; SUPPORT_EMAIL is unset, so support is not emailed", { smsId: sms.id, sid: sms.twilioSid },
    );
  }
  return fallback;
}

/**
 * An SMS whose send job ran out of attempts without Twilio ever saying whether it has the message (answers timed
 * out or failed, look-ups failed). It may have reached the patient, so it is not treated as failed: no fallback
 * email to the patient (that would say we could not text them). Support is told, once, to check it on Twilio.
 */
export async function alertSmsUnconfirmed(
  deps: Pick<Deps, "config" | "log">, tx: Executor, sms: SmsRow, lastError: string,
): Promise<void> {
  if (!deps.config.SUPPORT_EMAIL) {
    deps.log.warn("sms unconfirmed; SUPPORT_EMAIL is unset, so support is not emailed", { smsId: sms.id });
    return;
  }
  const [clinic] = await tx.select().from(clinics).where(eq(clinics.id, sms.clinicId));
  await queueEmail(tx, {
    dedupeKey: `sms-unconfirmed-alert:${sms.id}`,
    kind: "sms_unconfirmed_alert",
    to: deps.config.SUPPORT_EMAIL,
    subject: `SMS unconfirmed: ${sms.kind} from ${clinic?.name ?? sms.clinicId} may or may not have been sent`,
    body: [
      `After ${sms.attempts} attempts Twilio never confirmed whether it has this SMS: it may have reached the patient.`,
      "It is not sent again and no fallback email went to the patient. Check the number's messages in the Twilio",
      "console (same From, To and text) and contact the patient if it is not there.",
      `Clinic: ${clinic?.name ?? "unknown"} (${sms.clinicId})`,
      `To: ${sms.to}; from: ${sms.from}; appointment: ${sms.appointmentId ?? "none"}`,
      `SMS id: ${sms.id}; kind: ${sms.kind}; last error: ${lastError}`,
      "", "Text:", sms.body,
    ].join("\n"),
  });
}
