import { index, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * The reply decision for each inbound SMS (one row per MessageSid): how the reply went out (`twiml` in the
 * webhook answer, `sms` sent by the worker) or that the loop guard held it back (`suppressed`).
 * Rows that did go out are what the auto-reply loop guard counts per pair of numbers.
 */
export const smsReplies = pgTable("sms_replies", {
  inboundSid: text("inbound_sid").primaryKey(),
  /** The number the reply goes to (E.164, without a whatsapp: prefix). */
  recipient: text("recipient").notNull(),
  /** The clinic number the reply is sent from. */
  sender: text("sender").notNull(),
  via: text("via").notNull(),
  body: text("body").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
}, (t) => [index("sms_replies_pair_idx").on(t.recipient, t.sender, t.createdAt)]);

/** Per sending number, the earliest time its next SMS may go out (pacing shared by every worker). */
export const smsSenders = pgTable("sms_senders", {
  phone: text("phone").primaryKey(),
  nextSendAt: timestamp("next_send_at", { withTimezone: true }).notNull(),
});
