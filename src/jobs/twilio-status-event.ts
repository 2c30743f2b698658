import { eq } from "drizzle-orm";
import { smsMessages } from "../../db/schema";
import { advances, FAILURE_STATUSES, historyOnly, isSmsStatus, parseStatusCallback } from "../domain/sms-status";
import { changeMessageStatus } from "../effects/messages";
import { handleSmsFailure } from "../effects/sms-failure";
import {
  applyToAppointment, lockSid, recordStatusEvent, replyMessageId, UNKNOWN_SID,
} from "../effects/sms-status";
import type { Processor } from "./event-processor";

/**
 * A Twilio status callback (SPEC 4): kept in the SMS's status history, then the SMS moves forward only (rank table
 * in src/domain/sms-status.ts), and with it the appointment it was about and the conversation's BOT message.
 * A move to failed / undelivered brings the email fallback and the support alert.
 */
export const processTwilioStatus: Processor = async (deps, tx, event) => {
  const cb = parseStatusCallback(new URLSearchParams(event.rawBody));
  if (!cb) return { status: "failed", reason: "no MessageSid or MessageStatus" };
  await lockSid(tx, cb.sid);
  const [sms] = await tx.select().from(smsMessages).where(eq(smsMessages.twilioSid, cb.sid)).for("update");
  await recordStatusEvent(tx, event.id, cb, sms?.id);
  // Not an error: a message sent from the Twilio console, or by another system on the same account. If our send
  // job stores this sid later (the callback outran its API answer), it queues this event again.
  if (!sms) return { status: "ignored", reason: UNKNOWN_SID };
  if (!isSmsStatus(cb.status)) return {
    status: "ignored", reason: `unknown MessageStatus ${cb.status}; kept in history`,
  };
  if (!advances(sms.status, cb.status)) {
    return { status: "processed", reason: historyOnly(sms.status, cb.status) };
  }

  const at = event.receivedAt;
  await tx.update(smsMessages).set({
    status: cb.status, updatedAt: deps.clock.now(),
    ...(cb.errorCode ? {
      errorCode: cb.errorCode, errorMessage: `Twilio reported ${cb.status} with error ${cb.errorCode}`,
    } : {}),
  }).where(eq(smsMessages.id, sms.id));
  deps.metrics.smsStatus.inc({ status: cb.status });
  await applyToAppointment(tx, sms, cb.status, at);
  const messageId = await replyMessageId(tx, sms);
  if (messageId) await changeMessageStatus(tx, messageId, cb.status, "twilio");

  if (!FAILURE_STATUSES.has(cb.status)) return { status: "processed" };
  const fallback = await handleSmsFailure(deps, tx, sms, { status: cb.status, errorCode: cb.errorCode });
  return { status: "processed", reason: `sms ${cb.status}; email fallback: ${fallback}` };
};
