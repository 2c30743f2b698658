import { and, count, eq, gt, ne, sql } from "drizzle-orm";
import { clinics, patients, smsReplies } from "../../db/schema";
import type { Executor } from "../db";
import type { Deps } from "../deps";
import type { InboundSms } from "../domain/inbound-sms";

export type Clinic = typeof clinics.$inferSelect;
export type Patient = typeof patients.$inferSelect;

/** The clinic whose number the SMS was sent to, and its patient who sent it (either may be missing). */
export async function findParties(tx: Executor, sms: Pick<InboundSms, "from" | "to">) {
  const [clinic] = await tx.select().from(clinics).where(eq(clinics.phone, sms.to));
  if (!clinic) return { clinic: undefined, patient: undefined };
  const [patient] = await tx.select().from(patients)
    .where(and(eq(patients.clinicId, clinic.id), eq(patients.phone, sms.from)));
  return { clinic, patient };
}

/**
 * The auto-reply loop guard (SPEC 3): decides once per inbound message whether its automatic reply may go out,
 * at most SMS_AUTO_REPLY_LIMIT from one clinic number to one number per window, so two auto-responders cannot
 * ping-pong. The decision is stored with the reply; asking again for the same message returns it. Serialised per
 * pair of numbers by an advisory lock.
 */
export async function claimAutoReply(
  deps: Deps,
  tx: Executor,
  reply: { inboundSid: string; recipient: string; sender: string; via: "twiml" | "sms"; body: string },
): Promise<boolean> {
  const [decided] = await tx.select({ via: smsReplies.via }).from(smsReplies)
    .where(eq(smsReplies.inboundSid, reply.inboundSid));
  if (decided) return decided.via !== "suppressed";
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`sms-reply:${reply.sender}:${reply.recipient}`}))`);
  const now = deps.clock.now();
  const since = new Date(now.getTime() - deps.config.SMS_AUTO_REPLY_WINDOW_MINUTES * 60_000);
  const [recent] = await tx.select({ n: count() }).from(smsReplies).where(and(
    eq(smsReplies.recipient, reply.recipient), eq(smsReplies.sender, reply.sender), ne(smsReplies.via, "suppressed"),
    gt(smsReplies.createdAt, since),
  ));
  const allowed = (recent?.n ?? 0) < deps.config.SMS_AUTO_REPLY_LIMIT;
  await tx.insert(smsReplies).values({ ...reply, via: allowed ? reply.via : "suppressed", createdAt: now });
  if (!allowed) deps.log.warn("auto-reply suppressed by the loop guard", {
    to: reply.recipient, from: reply.sender, inboundSid: reply.inboundSid,
  });
  return allowed;
}

/** The reply decided for an inbound message, if any (the worker records it in the conversation). */
export async function decidedReply(tx: Executor, inboundSid: string) {
  const [row] = await tx.select().from(smsReplies).where(eq(smsReplies.inboundSid, inboundSid));
  return row;
}

/** Records an opt-out (with Twilio's OptOutType, else the keyword) or an opt-in; a no-op when nothing changes. */
export async function changeSubscription(
  tx: Executor,
  patient: Patient,
  change: "opt_out" | "opt_in",
  at: Date,
  optOutType: string,
): Promise<boolean> {
  if ((change === "opt_out") === patient.optedOut) return false;
  const fields = change === "opt_out"
    ? { optedOut: true, optedOutAt: at, optOutType }
    : { optedOut: false, optedOutAt: null, optOutType: null };
  await tx.update(patients).set(fields).where(eq(patients.id, patient.id));
  return true;
}
