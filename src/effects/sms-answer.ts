import type { Tx } from "../db";
import type { Deps } from "../deps";
import type { InboundSms } from "../domain/inbound-sms";
import {
  isAppointmentCommand, optInOutcome, parseCommand, replies, subscriptionChange, twiml, UNKNOWN_NUMBER_REPLY,
} from "../domain/sms-commands";
import type { Answer } from "../domain/webhooks";
import { queueSms } from "./sms";
import { changeSubscription, claimAutoReply, findParties } from "./sms-replies";

export const twimlAnswer = (status: number, message?: string): Answer =>
  ({ status, body: twiml(message), contentType: "text/xml; charset=utf-8" });

/**
 * Decides the TwiML answer to a new inbound SMS inside its ingest transaction (README, "Inbound SMS: how
 * patients get their reply"): replies that need no appointment change go back in the answer, guarded against
 * loops; an opt-out or opt-in is recorded here, so that no reply or send after the acknowledgement can miss it.
 * CONFIRM, CANCEL and RESCHEDULE get an empty answer: the worker replies by SMS once it has made the change.
 *
 * `replyBy: "sms"` is for a message found by reconciliation: nobody reads its answer, so the same reply is
 * queued as an SMS (dedupe key `reply:<MessageSid>`, as the worker's replies) in this transaction instead, and
 * the stored answer is empty, which is what a late webhook delivery of the message then gets.
 */
export function decideAnswer(deps: Deps, sms: InboundSms, replyBy: "twiml" | "sms" = "twiml") {
  return async (tx: Tx): Promise<Answer> => {
    const { clinic, patient } = await findParties(tx, sms);
    // Unknown `To`: no clinic to speak for. The worker marks the event ignored.
    if (!clinic) return twimlAnswer(200);
    // Only called where a reply is due: the sender is not opted out (or has just opted back in).
    const reply = async (body: string) => {
      const claim = { inboundSid: sms.sid, recipient: sms.from, sender: sms.to, via: replyBy, body };
      const allowed = await claimAutoReply(deps, tx, claim);
      if (!allowed || replyBy === "twiml") return twimlAnswer(200, allowed ? body : undefined);
      await queueSms(tx, {
        dedupeKey: `reply:${sms.sid}`, kind: "reply", clinic, channel: sms.channel, body,
        patient: { id: patient?.id ?? null, phone: sms.from, optedOut: false },
      });
      return twimlAnswer(200);
    };
    if (!patient) return reply(UNKNOWN_NUMBER_REPLY);

    const command = parseCommand(sms.body, sms.optOutType);
    const change = subscriptionChange(command, sms.optOutType);
    if (change === "opt_out") {
      // Twilio and the carrier answer an opt-out themselves.
      await changeSubscription(tx, patient, "opt_out", deps.clock.now(), sms.optOutType?.toUpperCase() ?? "STOP");
      return twimlAnswer(200);
    }
    const optIn = change === "opt_in" ? optInOutcome(sms.body, patient.optedOut) : undefined;
    if (optIn === "resubscribed") {
      await changeSubscription(tx, patient, "opt_in", deps.clock.now(), "");
      return reply(replies.resubscribed(clinic));
    }
    if (optIn === "already_subscribed") return reply(replies.alreadySubscribed(clinic));
    if (patient.optedOut || isAppointmentCommand(command)) return twimlAnswer(200);
    return reply(command === "HELP" ? replies.help(clinic) : replies.autoReply(clinic));
  };
}
