import { type Static, type TSchema, Type as T } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { cidrMatcher } from "./domain/ip";
import { parseDelays } from "./domain/webhook-delivery";

// A `description` is the rule a bad value is told about; values themselves are never echoed for strings
// (secrets, URLs with passwords), only for the enumerations and numbers below.
const URL_RULE = { pattern: "^https?://[^\\s]+$", description: "an http:// or https:// URL" };
const Url = T.String(URL_RULE);
const Secret = T.String({ minLength: 8, description: "at least 8 characters (whsec_…)" });
const Int = (min: number, max: number, dflt: number, description?: string) =>
  T.Integer({ minimum: min, maximum: max, default: dflt, ...(description ? { description } : {}) });
const Minutes = (dflt: number, what: string) => Int(1, 7 * 24 * 60, dflt, `minutes (1 to 10080): ${what}`);
const Percent = (dflt: number, what: string) => Int(1, 100, dflt, `a percentage (1 to 100): ${what}`);

/** Every environment variable Switchboard reads. Validated once, in main.ts. */
export const EnvSchema = T.Object({
  NODE_ENV: T.Union([T.Literal("development"), T.Literal("production"), T.Literal("test")], { default: "development" }),
  ROLE: T.Union([T.Literal("web"), T.Literal("worker"), T.Literal("all")], { default: "all" }),
  PORT: Int(0, 65535, 3000),
  DATABASE_URL: T.Optional(
    T.String({ pattern: "^postgres(ql)?://", description: "a postgres:// or postgresql:// URL" }),
  ),
  /** How long start-up waits for DATABASE_URL to accept connections (retrying with backoff) before it gives up. */
  DATABASE_START_TIMEOUT_S: Int(0, 3600, 60),
  /** Where the embedded Postgres keeps its files when DATABASE_URL is unset. */
  DATA_DIR: T.String({ default: "./.data", minLength: 1 }),
  EMBEDDED_PG_PORT: Int(1, 65535, 54329),
  PUBLIC_URL: T.Optional(Url),
  API_KEY: T.Optional(T.String({ minLength: 16, description: "at least 16 characters" })),
  API_RATE_LIMIT: Int(1, 1_000_000, 600),
  /** Signs in to the operator console instead of API_KEY when set. */
  CONSOLE_PASSWORD: T.Optional(T.String({ minLength: 12 })),
  TWILIO_ACCOUNT_SID: T.Optional(
    T.String({ pattern: "^AC[0-9a-fA-F]{32}$", description: "AC followed by 32 hex digits" }),
  ),
  TWILIO_AUTH_TOKEN: T.Optional(T.String({ minLength: 8, description: "at least 8 characters" })),
  TWILIO_API_URL: T.String({ ...URL_RULE, default: "https://api.twilio.com" }),
  /** How long one Twilio REST call may take before the send counts as a timeout (and is retried). */
  TWILIO_TIMEOUT_MS: Int(100, 120_000, 15_000),
  /** Auto-reply loop guard: at most this many automatic replies from one clinic number to one number per window. */
  SMS_AUTO_REPLY_LIMIT: Int(0, 1000, 5),
  /** A send whose number's next pacing slot is further off than this is requeued for then instead of sleeping. */
  SMS_PACING_MAX_SLEEP_MS: Int(0, 600_000, 2_000),
  SMS_AUTO_REPLY_WINDOW_MINUTES: Int(1, 24 * 60, 10),
  STRIPE_WEBHOOK_SECRET: T.Optional(Secret),
  /** Optional second secret accepted during a Stripe signing-secret rotation. */
  STRIPE_WEBHOOK_SECRET_PREVIOUS: T.Optional(Secret),
  /** Secret (sk_) or restricted (rk_, read access to events) key: Stripe events are reconciled when it is set. */
  STRIPE_SECRET_KEY: T.Optional(T.String({
    pattern: "^(sk|rk)_(test|live)_[A-Za-z0-9_]+$", description: "a Stripe secret key (sk_live_…, sk_test_…, rk_…)",
  })),
  /** Where the stripe SDK sends its calls (host, port and protocol); unset: Stripe's own API. Tests use a fake. */
  STRIPE_API_URL: T.Optional(Url),
  STRIPE_TIMEOUT_MS: Int(100, 120_000, 15_000),
  /**
   * Reconciliation (src/reconcile/): how often the providers are asked for what we should have heard, how long an
   * SMS may wait for its final status before Twilio is asked, how far each listing reaches back before the last
   * checkpoint, how old an event must be before it is taken (its webhook may be on the way), and how many API calls
   * one pass may make per run.
   */
  RECONCILE_INTERVAL_MINUTES: Int(1, 60, 10),
  RECONCILE_SMS_AFTER_MINUTES: Int(1, 24 * 60, 30),
  RECONCILE_OVERLAP_MINUTES: Int(0, 24 * 60, 10),
  RECONCILE_GRACE_MINUTES: Int(0, 60, 2),
  RECONCILE_MAX_CALLS: Int(1, 10_000, 100),
  /** Records per listed page: Twilio takes up to 1000, Stripe up to 100 (the smaller is used there). */
  RECONCILE_PAGE_SIZE: Int(1, 1000, 1000),
  SMTP_URL: T.Optional(T.String({ pattern: "^smtps?://", description: "an smtp:// or smtps:// URL" })),
  EMAIL_FROM: T.String({
    default: "Switchboard <no-reply@switchboard.local>", minLength: 3, description: "an address, e.g. Name <a@b.c>",
  }),
  SUPPORT_EMAIL: T.Optional(T.String({ pattern: "^[^@\\s]+@[^@\\s]+$", description: "an email address" })),
  /** Value.Convert reads true/false and 1/0. */
  OUTBOUND_ALLOW_PRIVATE: T.Boolean({ default: false, description: "one of true, false, 1, 0" }),
  /** Outbound webhooks (SPEC 6): retry delays, attempt timeout and per-endpoint limits; tests shorten them. */
  OUTBOUND_RETRY_DELAYS_MS: T.String({
    pattern: "^\\d+(,\\d+)*$", default: "4000,8000,10000", description: "comma-separated milliseconds",
  }),
  OUTBOUND_TIMEOUT_MS: Int(50, 300_000, 30_000),
  OUTBOUND_MAX_IN_FLIGHT: Int(1, 1000, 10),
  /** In-flight limit of an endpoint whose recent attempts all failed (a hanging receiver holds fewer workers). */
  OUTBOUND_MAX_IN_FLIGHT_FAILING: Int(1, 1000, 2),
  /**
   * Delivery attempts one worker process runs at once, in a runner of their own: a hanging customer endpoint
   * can never take the workers that process webhooks, SMS, holds and reminders (WORKER_CONCURRENCY).
   */
  OUTBOUND_CONCURRENCY: Int(1, 1000, 40),
  OUTBOUND_MAX_PER_WINDOW: Int(1, 100_000, 100),
  OUTBOUND_WINDOW_MS: Int(100, 3_600_000, 60_000),
  /** An endpoint whose every attempt has failed for this long is disabled and the clinic emailed. */
  OUTBOUND_DISABLE_AFTER_MS: Int(1000, 30 * 86_400_000, 86_400_000),
  /** How long the previous secret keeps signing after a rotation. */
  OUTBOUND_SECRET_OVERLAP_MS: Int(0, 30 * 86_400_000, 86_400_000),
  INBOUND_ALLOW_CIDRS: T.Optional(T.String()),
  /** `fly`: the client address is Fly's `Fly-Client-IP` header (set by Fly's proxy); unset: the socket's address. */
  TRUST_PROXY: T.Optional(T.Literal("fly")),
  /** Bearer token `/metrics` on PORT requires; unset: /metrics is not served on PORT (use METRICS_PORT). */
  METRICS_TOKEN: T.Optional(T.String({ minLength: 16, description: "at least 16 characters" })),
  /** An internal port serving only /metrics, /healthz and /readyz (Fly's [metrics] scrapes it), without a token. */
  METRICS_PORT: T.Optional(T.Integer({ minimum: 1, maximum: 65535 })),
  HOLD_MINUTES: Int(1, 7 * 24 * 60, 120),
  /** How often the cron sweeps (holds, deliveries) and the reminder run happen: every N minutes. */
  SWEEP_INTERVAL_MINUTES: Int(1, 30, 5),
  REMINDER_HOURS: Int(1, 24 * 14, 24),
  /** pretty: readable lines; json: one JSON object a line. Unset: pretty when stdout is a terminal, else json. */
  LOG_FORMAT: T.Optional(T.Union([T.Literal("pretty"), T.Literal("json")])),
  LOG_LEVEL: T.Union(
    [T.Literal("debug"), T.Literal("info"), T.Literal("warn"), T.Literal("error"), T.Literal("silent")],
    { default: "info" },
  ),
  WORKER_CONCURRENCY: Int(1, 100, 10),
  /**
   * Worker processes refresh a heartbeat this often; the jobs and queues a process locked are freed by the others
   * once its heartbeat is WORKER_STALE_AFTER_MS old (it was killed without stopping).
   */
  WORKER_HEARTBEAT_INTERVAL_MS: Int(100, 600_000, 10_000),
  WORKER_STALE_AFTER_MS: Int(1000, 3_600_000, 60_000),
  /** A runner with a free slot that started no job while one was due for this long is restarted (it stalled). */
  WORKER_STALL_AFTER_MS: Int(1000, 3_600_000, 60_000),
  /** graphile-worker local queue: jobs fetched (and locked) per query; 0 or 1 fetches one at a time. */
  WORKER_LOCAL_QUEUE_SIZE: Int(0, 1000, 50),
  /** graphile-worker batches job completions (and failures) within this many ms; -1 writes each at once. */
  WORKER_COMPLETE_BATCH_MS: Int(0, 10_000, 5),
  /**
   * Raw webhook bodies and headers, attempt response bodies, SMS status payloads and sent email bodies older than
   * this are removed by the daily retention job (rows, keys and outcomes stay).
   */
  RETENTION_DAYS: Int(1, 3650, 30),
  /** Rows retention changes per statement: each batch is its own short transaction. */
  RETENTION_BATCH_SIZE: Int(1, 100_000, 1000),
  /** Group commit of inbound webhooks (src/ingest/group-commit.ts): batch size, wait for company, writes at once. */
  INGEST_BATCH_MAX: Int(1, 2000, 256),
  INGEST_BATCH_WAIT_MS: Int(0, 1000, 0),
  INGEST_BATCH_IN_FLIGHT: Int(1, 64, 2),
  /** A batch write the database has not answered within this many ms is answered 5xx (the provider retries). */
  INGEST_WRITE_TIMEOUT_MS: Int(100, 120_000, 10_000),
  /** Events per process-webhook job a group commit queues (processed in one transaction); 1: a job per event. */
  INGEST_JOB_BATCH: Int(1, 1000, 50),
  /**
   * Alert rules (src/alerts/rules): thresholds, windows, where notifications go. Defaults are in the README's
   * "Alerts" section; each `description` is what a bad value is told.
   */
  /** An open incident is notified again this often until it resolves or is acknowledged; 0: never. */
  ALERT_REPEAT_HOURS: Int(0, 24 * 30, 4, "hours (0 to 720); 0 sends no reminders"),
  /** Where `alert.opened` / `alert.resolved` go as Standard Webhooks, signed with ALERT_WEBHOOK_SECRET. */
  ALERT_WEBHOOK_URL: T.Optional(Url),
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
});

type Env = Static<typeof EnvSchema>;
/** The environment, parsed: OUTBOUND_RETRY_DELAYS_MS as the list of delays. */
export type Config = Omit<Env, "OUTBOUND_RETRY_DELAYS_MS"> & { OUTBOUND_RETRY_DELAYS_MS: number[] };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join("; ")}`);
    this.name = "ConfigError";
  }
}

/** The rule a key's value must follow, in words, from its schema. */
function ruleOf(schema: TSchema): string {
  if (typeof schema.description === "string" && !schema.description.includes("\n")) return schema.description;
  if (typeof schema.const === "string") return schema.const;
  const literals = (schema.anyOf as TSchema[] | undefined)?.map((s) => s.const);
  if (literals?.every((v) => typeof v === "string")) return `one of ${literals.join(", ")}`;
  if (schema.type === "integer") return `an integer from ${schema.minimum} to ${schema.maximum}`;
  if (schema.minLength !== undefined) return `at least ${schema.minLength} characters`;
  if (schema.pattern !== undefined) return `text matching ${schema.pattern}`;
  return "a valid value";
}

/** Enumerations and numbers are echoed back (never a secret); strings never are (keys, URLs with passwords). */
function shownValue(schema: TSchema, value: unknown): string {
  const echo = schema.anyOf !== undefined || schema.const !== undefined || ["integer", "boolean"].includes(schema.type);
  return echo && value !== undefined ? ` (got ${JSON.stringify(String(value).slice(0, 40))})` : "";
}

/** Parses the environment once; throws a ConfigError naming every bad key and its rule, never a string value. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const known = Object.keys(EnvSchema.properties);
  const input: Record<string, unknown> = {};
  for (const key of known) {
    const value = env[key];
    if (value !== undefined && value !== "") input[key] = value;
  }
  const converted = Value.Convert(EnvSchema, Value.Default(EnvSchema, input));
  const problems = new Map<string, string>();
  for (const error of Value.Errors(EnvSchema, converted)) {
    const key = error.path.replace(/^\//, "").split("/")[0] || "(root)";
    const schema = (EnvSchema.properties as Record<string, TSchema>)[key];
    if (problems.has(key) || !schema) continue;
    problems.set(key, `${key}: must be ${ruleOf(schema)}${shownValue(schema, input[key])}`);
  }
  const parsed = converted as Env;
  if (parsed.INBOUND_ALLOW_CIDRS && !problems.has("INBOUND_ALLOW_CIDRS")) {
    try {
      cidrMatcher(parsed.INBOUND_ALLOW_CIDRS);
    } catch (error) {
      problems.set("INBOUND_ALLOW_CIDRS", (error as Error).message);
    }
  }
  if (parsed.METRICS_PORT !== undefined && parsed.METRICS_PORT === parsed.PORT && !problems.has("METRICS_PORT")) {
    problems.set("METRICS_PORT", "METRICS_PORT: must differ from PORT");
  }
  for (const [key, problem] of alertProblems(parsed)) if (!problems.has(key)) problems.set(key, problem);
  // A heartbeat late by a beat or two must not free a live worker's jobs.
  const staleTooSoon = parsed.WORKER_STALE_AFTER_MS < 3 * parsed.WORKER_HEARTBEAT_INTERVAL_MS;
  if (staleTooSoon && !problems.has("WORKER_STALE_AFTER_MS")) {
    problems.set("WORKER_STALE_AFTER_MS", "WORKER_STALE_AFTER_MS: must be at least 3 × WORKER_HEARTBEAT_INTERVAL_MS");
  }
  // One endpoint must never be able to hold every delivery worker.
  if (parsed.OUTBOUND_MAX_IN_FLIGHT >= parsed.OUTBOUND_CONCURRENCY && !problems.has("OUTBOUND_MAX_IN_FLIGHT")) {
    problems.set("OUTBOUND_MAX_IN_FLIGHT", "OUTBOUND_MAX_IN_FLIGHT: must be below OUTBOUND_CONCURRENCY");
  }
  if (parsed.NODE_ENV === "production") {
    // DATABASE_URL too: the production image has no embedded Postgres (a development dependency).
    const required = [
      "DATABASE_URL", "API_KEY", "PUBLIC_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "STRIPE_WEBHOOK_SECRET",
    ] as const;
    for (const key of required) {
      if (!parsed[key] && !problems.has(key)) problems.set(key, `${key}: required when NODE_ENV=production`);
    }
    if (parsed.PUBLIC_URL && !parsed.PUBLIC_URL.startsWith("https://") && !problems.has("PUBLIC_URL")) {
      problems.set("PUBLIC_URL", "PUBLIC_URL: must be https when NODE_ENV=production");
    }
  }
  if (problems.size > 0) throw new ConfigError([...problems.values()]);
  return { ...parsed, OUTBOUND_RETRY_DELAYS_MS: parseDelays(parsed.OUTBOUND_RETRY_DELAYS_MS) };
}

/**
 * Cross-key rules of the alert settings. The alert URL is refused at start where every delivery to it would be
 * refused anyway (src/outbound/ssrf.ts: http only to loopback, and only with OUTBOUND_ALLOW_PRIVATE).
 */
function alertProblems(env: Env): [string, string][] {
  const problems: [string, string][] = [];
  if (env.ALERT_WEBHOOK_URL && !env.ALERT_WEBHOOK_SECRET) {
    problems.push(["ALERT_WEBHOOK_SECRET", "ALERT_WEBHOOK_SECRET: required when ALERT_WEBHOOK_URL is set"]);
  }
  if (env.ALERT_WEBHOOK_URL?.startsWith("http://") && env.OUTBOUND_ALLOW_PRIVATE !== true) {
    const rule = "must be https (http only to loopback, with OUTBOUND_ALLOW_PRIVATE)";
    problems.push(["ALERT_WEBHOOK_URL", `ALERT_WEBHOOK_URL: ${rule}`]);
  }
  return problems;
}
