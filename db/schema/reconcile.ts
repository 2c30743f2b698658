import { integer, pgTable, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { smsMessages } from "./messaging";

const at = (name: string) => timestamp(name, { withTimezone: true });

/**
 * Where each reconciliation pass has got to (src/reconcile/): one row per provider, account and number listed
 * (`number` is '' for a pass over the whole account). `checkpoint_at` only moves once every event before it is
 * stored; a pass that stopped part-way (API call cap) keeps the provider's own page cursor and the window it
 * belongs to, so the next run resumes there. The lease keeps a pass to one run at a time across processes.
 */
export const reconcileCheckpoints = pgTable("reconcile_checkpoints", {
  /** `twilio-sms` (inbound messages per number), `twilio-status` (status checks), `stripe` (events). */
  provider: text("provider").notNull(),
  /** Twilio account sid; for Stripe, the key's mode (`live` or `test`). */
  account: text("account").notNull(),
  number: text("number").notNull(),
  checkpointAt: at("checkpoint_at"),
  windowFrom: at("window_from"),
  windowUntil: at("window_until"),
  /** The provider's cursor of the next page of that window (Twilio next_page_uri, Stripe starting_after). */
  cursor: text("cursor"),
  leaseUntil: at("lease_until"),
  /** Consecutive runs that failed (429, 5xx, network); the pass waits until backoff_until before trying again. */
  failures: integer("failures").notNull().default(0),
  backoffUntil: at("backoff_until"),
  lastRunAt: at("last_run_at"),
  lastError: text("last_error"),
  /** Events found missing and stored, all runs. */
  found: integer("found").notNull().default(0),
}, (t) => [primaryKey({ columns: [t.provider, t.account, t.number] })]);

/** Status look-ups of an SMS whose final status never came (src/reconcile/sms-status.ts). */
export const smsStatusChecks = pgTable("sms_status_checks", {
  smsId: uuid("sms_id").primaryKey().references(() => smsMessages.id),
  checks: integer("checks").notNull().default(0),
  /** Null once Twilio reported a final status, the SMS is 72 hours old, or Twilio no longer knows it. */
  nextCheckAt: at("next_check_at"),
  lastCheckedAt: at("last_checked_at"),
  /** What Twilio said at the last look (`not_found` when it answered 404). */
  lastStatus: text("last_status"),
});
