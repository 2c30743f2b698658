import { Type as T } from "@sinclair/typebox";

const Int = (min: number, max: number, dflt: number, description: string) =>
  T.Integer({ minimum: min, maximum: max, default: dflt, description });
const Minutes = (dflt: number, what: string) => Int(1, 7 * 24 * 60, dflt, `minutes (1 to 10080): ${what}`);
const Percent = (dflt: number, what: string) => Int(1, 100, dflt, `a percentage (1 to 100): ${what}`);

/**
 * The alert rules' thresholds and windows (src/alerts/rules), spread into the environment schema of src/config.ts.
 * Defaults are in the README's "Alerts" section; each `description` is what a bad value is told.
 */
export const AlertEnv = {
  /** An open incident is notified again this often until it resolves or is acknowledged; 0: never. */
  ALERT_REPEAT_HOURS: Int(0, 24 * 30, 4, "hours (0 to 720); 0 sends no reminders"),
  /** Where `alert.opened` / `alert.resolved` go as Standard Webhooks, signed with ALERT_WEBHOOK_SECRET. */
  ALERT_WEBHOOK_URL: T.Optional(T.String({ pattern: "^https?://[^\\s]+$", description: "an http:// or https:// URL" })),
  ALERT_WEBHOOK_SECRET: T.Optional(T.String({
    pattern: "^(whsec_)?[A-Za-z0-9+/]{16,}={0,2}$", description: "a Standard Webhooks secret: whsec_ and base64",
  })),
  ALERT_FAILURE_PERCENT: Percent(10, "share of a provider's finished events that failed"),
  ALERT_FAILURE_WINDOW_MINUTES: Minutes(15, "window of the failure share"),
  ALERT_FAILURE_MIN_EVENTS: Int(1, 1_000_000, 5, "finished events a provider needs in the window to be judged"),
  ALERT_BACKLOG_SECONDS: Int(10, 7 * 86_400, 300, "seconds: age of the oldest waiting webhook event or due job"),
  ALERT_INGEST_P99_MS: Int(1, 600_000, 1000, "milliseconds: p99 of the stored answer times"),
  ALERT_INGEST_WINDOW_MINUTES: Minutes(15, "window of the ingest p99"),
  ALERT_INGEST_MIN_EVENTS: Int(1, 1_000_000, 20, "events a provider needs in the window before its p99 counts"),
  ALERT_DELIVERY_FAILURES: Int(1, 1_000_000, 5, "failed deliveries to one endpoint within the window"),
  ALERT_DELIVERY_WINDOW_MINUTES: Minutes(15, "window of failed deliveries per endpoint"),
  ALERT_RETRIES_PER_MINUTE: Int(1, 1_000_000, 10, "outbound retries per minute, averaged over the window"),
  ALERT_RETRY_WINDOW_MINUTES: Minutes(5, "window of the retry rate"),
  ALERT_SMS_FAILURE_PERCENT: Percent(10, "share of finished SMS that ended undelivered or failed"),
  ALERT_SMS_WINDOW_MINUTES: Minutes(60, "window of the SMS failure share"),
  ALERT_SMS_MIN_MESSAGES: Int(1, 1_000_000, 10, "finished SMS needed in the window before the share counts"),
  ALERT_EMAIL_FAILURES: Int(1, 1_000_000, 3, "emails that ended failed within the window"),
  ALERT_EMAIL_WINDOW_MINUTES: Minutes(60, "window of failed emails"),
  ALERT_EMAIL_PENDING_MINUTES: Minutes(15, "how long an email may wait in the outbox"),
  /** 0 (default) turns the rule off. */
  ALERT_SILENCE_HOURS: Int(0, 7 * 24, 0, "hours (0 to 168) without a webhook from a usual sender; 0: off"),
  ALERT_DEBUGGER_MIN_EVENTS: Int(1, 1_000_000, 1, "Twilio Debugger events with one error code within the window"),
  ALERT_DEBUGGER_WINDOW_MINUTES: Minutes(60, "window of Twilio Debugger events"),
};

/**
 * Cross-key rules of the alert settings, as [key, problem] pairs for ConfigError. The alert URL is refused at start
 * where every delivery to it would be refused anyway (src/outbound/ssrf.ts: http only to loopback, and only with
 * OUTBOUND_ALLOW_PRIVATE).
 */
export function alertConfigProblems(
  env: { ALERT_WEBHOOK_URL?: string; ALERT_WEBHOOK_SECRET?: string; OUTBOUND_ALLOW_PRIVATE?: string },
): [string, string][] {
  const problems: [string, string][] = [];
  if (env.ALERT_WEBHOOK_URL && !env.ALERT_WEBHOOK_SECRET) {
    problems.push(["ALERT_WEBHOOK_SECRET", "ALERT_WEBHOOK_SECRET: required when ALERT_WEBHOOK_URL is set"]);
  }
  const allowPrivate = env.OUTBOUND_ALLOW_PRIVATE === "true" || env.OUTBOUND_ALLOW_PRIVATE === "1";
  if (env.ALERT_WEBHOOK_URL?.startsWith("http://") && !allowPrivate) {
    const rule = "must be https (http only to loopback, with OUTBOUND_ALLOW_PRIVATE)";
    problems.push(["ALERT_WEBHOOK_URL", `ALERT_WEBHOOK_URL: ${rule}`]);
  }
  return problems;
}
