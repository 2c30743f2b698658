import { and, asc, eq, gt, notInArray } from "drizzle-orm";
import { appointments, conversations } from "../../db/schema";
import type { Tx } from "../db";
import type { Deps } from "../deps";
import type { Cause } from "../domain/appointments";
import { contentTypeOf, type InboundSms, parseInboundSms } from "../domain/inbound-sms";
import { type AppointmentCommand, isAppointmentCommand, parseCommand, replies } from "../domain/sms-commands";
import { formatWhen } from "../domain/time";
import { type Appointment, changeStatus } from "../effects/appointments";
import { queueEmail } from "../effects/email";
import { queueClinicEvent, recordMessage } from "../effects/messages";
import { queueSms } from "../effects/sms";
import { type Clinic, claimAutoReply, decidedReply, findParties, type Patient } from "../effects/sms-replies";
import type { Processor } from "./event-processor";

interface Ctx { deps: Deps; tx: Tx; sms: InboundSms; clinic: Clinic; patient: Patient; conversationId: string }

/**
 * An inbound SMS, after its answer was given: the message goes into the patient's conversation (with the
 * TwiML reply it got, if any), and CONFIRM / CANCEL / RESCHEDULE change the next appointment and are answered
 * by SMS. Opt-out and opt-in were recorded when the message was acknowledged (src/effects/sms-answer.ts).
 */
export const processTwilioSms: Processor = async (deps, tx, event) => {
  const sms = parseInboundSms(new URLSearchParams(event.rawBody));
  if (!sms) return { status: "failed", reason: "no MessageSid, From or To" };
  const { clinic, patient } = await findParties(tx, sms);
  if (!clinic) return { status: "ignored", reason: `no clinic uses the number ${sms.to}` };
  if (!patient) return {
    status: "ignored", reason: "sender is not a patient of this clinic; answered with the unknown-number reply",
  };

  const conversationId = await patientConversation(tx, clinic, patient, sms.channel);
  const command = parseCommand(sms.body, sms.optOutType);
  const author = `patient:${patient.id}`;
  await recordMessage(tx, {
    conversationId, content: sms.body, contentType: contentTypeOf(sms.media), type: "USER_INPUT", channel: sms.channel,
    status: "received", media: sms.media, externalId: sms.sid, createdBy: author, updatedBy: author,
    metadata: {
      message_sid: sms.sid, from: sms.from, to: sms.to, command,
      ...(sms.optOutType ? { opt_out_type: sms.optOutType } : {}),
      ...(sms.errorCode ? { twilio_error_code: sms.errorCode, twilio_error_url: sms.errorUrl } : {}),
    },
  });
  const ctx: Ctx = { deps, tx, sms, clinic, patient, conversationId };
  const answered = await decidedReply(tx, sms.sid);
  if (answered?.via === "twiml") await recordReply(ctx, answered.body, "sent");
  // A reconciled message's reply was queued as an SMS when it was stored (src/effects/sms-answer.ts).
  else if (answered?.via === "sms" && !isAppointmentCommand(command)) await recordReply(ctx, answered.body, "queued");
  if (isAppointmentCommand(command)) await appointmentCommand(ctx, command);
  return { status: "processed" };
};

/** The patient's conversation on this channel, created on their first message. */
async function patientConversation(
  tx: Tx, clinic: Clinic, patient: Patient, channel: InboundSms["channel"],
): Promise<string> {
  await tx.insert(conversations).values({ channel, usecase: "patient_sms", clinicId: clinic.id, patientId: patient.id })
    .onConflictDoNothing();
  const [row] = await tx.select({ id: conversations.id }).from(conversations)
    .where(and(eq(conversations.patientId, patient.id), eq(conversations.channel, channel)));
  return row!.id;
}

/** Every reply is kept in the conversation as a BOT message; its external_id is the MessageSid it answers. */
async function recordReply({ tx, sms, conversationId }: Ctx, body: string, status: "sent" | "queued") {
  await recordMessage(tx, {
    conversationId, content: body, contentType: "TEXT", type: "BOT", channel: sms.channel, status,
    externalId: sms.sid, metadata: { in_reply_to: sms.sid, via: status === "sent" ? "twiml" : "sms" },
    createdBy: "switchboard", updatedBy: "switchboard",
  });
}

async function nextAppointment(tx: Tx, patientId: string, now: Date): Promise<Appointment | undefined> {
  const [row] = await tx.select().from(appointments)
    .where(and(
      eq(appointments.patientId, patientId), gt(appointments.startsAt, now),
      notInArray(appointments.status, ["cancelled", "completed"]),
    ))
    .orderBy(asc(appointments.startsAt)).limit(1).for("update");
  return row;
}

const REQUESTS = {
  CANCEL: {
    status: "cancellation_requested", event: "appointment.cancellation_requested", verb: "cancel",
    text: replies.cancelRequested,
  },
  RESCHEDULE: {
    status: "reschedule_requested", event: "appointment.reschedule_requested", verb: "reschedule",
    text: replies.rescheduleRequested,
  },
} as const;

/** Makes the change, then replies by SMS with what really happened (unless opted out or held by the loop guard). */
async function appointmentCommand(ctx: Ctx, command: AppointmentCommand) {
  const { deps, tx, sms, clinic, patient } = ctx;
  const cause: Cause = { type: "sms", id: sms.sid };
  const appointment = await nextAppointment(tx, patient.id, deps.clock.now());
  let body: string;
  if (!appointment) {
    body = replies.noAppointment(clinic);
  } else if (command === "CONFIRM") {
    // A held slot waits for its deposit: a text does not stand in for the payment.
    const unpaid = appointment.status === "payment_pending" && !appointment.depositPaid;
    if (!unpaid) await changeStatus(tx, appointment, "confirmed", cause);
    body = unpaid ? replies.awaitingDeposit(clinic, appointment.startsAt)
      : replies.confirmed(clinic, appointment.startsAt);
  } else {
    const request = REQUESTS[command];
    if (await changeStatus(tx, appointment, request.status, cause)) await notifyClinic(ctx, appointment, request);
    body = request.text(clinic, appointment.startsAt);
  }
  if (patient.optedOut) return;
  const reply = { inboundSid: sms.sid, recipient: sms.from, sender: sms.to, via: "sms" as const, body };
  if (!(await claimAutoReply(deps, tx, reply))) return;
  await queueSms(tx, {
    dedupeKey: `reply:${sms.sid}`, kind: "reply", clinic, patient, appointmentId: appointment?.id, channel: sms.channel,
    body,
  });
  await recordReply(ctx, body, "queued");
}

/** The clinic hears of a cancel or reschedule request by email and on its callback URL. */
async function notifyClinic(
  { tx, sms, clinic, patient }: Ctx, appointment: Appointment, request: (typeof REQUESTS)[keyof typeof REQUESTS],
) {
  const when = formatWhen(appointment.startsAt, clinic.timezone);
  await queueClinicEvent(tx, {
    clinicId: clinic.id, type: request.event, dedupeKey: `sms-request:${sms.sid}`,
    data: {
      appointment_id: appointment.id, patient_id: patient.id, starts_at: appointment.startsAt.toISOString(),
      status: request.status, message_sid: sms.sid, message: sms.body,
    },
  });
  if (!clinic.email) return;
  await queueEmail(tx, {
    dedupeKey: `sms-request:${sms.sid}`,
    kind: `${request.verb}_request`,
    to: clinic.email,
    subject: `${patient.name} asks to ${request.verb} their appointment on ${when}`,
    body: `${patient.name} (${patient.phone}) `
      + `texted "${sms.body}" asking to ${request.verb} their appointment on ${when}.\n`
      + `The appointment is now marked ${request.status}. Appointment id: ${appointment.id}`,
  });
}
