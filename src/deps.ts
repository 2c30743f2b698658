import nodemailer, { type Transporter } from "nodemailer";
import Stripe from "stripe";
import twilio from "twilio";
import type RequestClient from "twilio/lib/base/RequestClient";
import type { Config } from "./config";
import { connect, type Db, type Sql } from "./db";
import { createIngestBatcher, type IngestBatcher } from "./ingest/ingest";
import { createResponseTimes, type ResponseTimes } from "./ingest/response-time";
import { createLogger, type Logger } from "./log";
import { createMetrics, type Metrics } from "./metrics";

export interface Clock { now(): Date }
export const systemClock: Clock = { now: () => new Date() };

export type Mailer = Pick<Transporter, "sendMail">;
export type TwilioClient = twilio.Twilio;

type RequestOptions<T> = RequestClient.RequestOptions<T>;
const TWILIO_ORIGIN = "https://api.twilio.com";

/**
 * twilio's own HTTP client, with the https://api.twilio.com origin rewritten to TWILIO_API_URL (a test fake, a proxy).
 */
export class TwilioHttpClient extends twilio.RequestClient {
  constructor(private readonly apiUrl: string, timeoutMs: number) {
    super({ timeout: timeoutMs });
  }

  override request<TData>(opts: RequestOptions<TData>) {
    const uri = opts.uri.startsWith(TWILIO_ORIGIN)
      ? this.apiUrl.replace(/\/+$/, "") + opts.uri.slice(TWILIO_ORIGIN.length) : opts.uri;
    return super.request<TData>({ ...opts, uri });
  }
}

/** Undefined without TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN: outbound SMS then stay recorded but unsent. */
export function createTwilioClient(config: Config): TwilioClient | undefined {
  if (!config.TWILIO_ACCOUNT_SID || !config.TWILIO_AUTH_TOKEN) return undefined;
  return twilio(config.TWILIO_ACCOUNT_SID, config.TWILIO_AUTH_TOKEN, {
    httpClient: new TwilioHttpClient(config.TWILIO_API_URL, config.TWILIO_TIMEOUT_MS),
  });
}

/**
 * The stripe SDK for reading events (reconciliation); undefined without STRIPE_SECRET_KEY. STRIPE_API_URL sets
 * the SDK's host, port and protocol. The SDK does not retry: a failed call ends the pass, and the next run (with
 * backoff) tries again, so a slow Stripe never holds a worker for long.
 */
export function createStripeClient(config: Config): Stripe | undefined {
  if (!config.STRIPE_SECRET_KEY) return undefined;
  const url = config.STRIPE_API_URL ? new URL(config.STRIPE_API_URL) : undefined;
  const protocol = url?.protocol === "http:" ? "http" : "https";
  return new Stripe(config.STRIPE_SECRET_KEY, {
    ...(url ? { host: url.hostname, port: url.port || (protocol === "http" ? 80 : 443), protocol } : {}),
    maxNetworkRetries: 0,
    timeout: config.STRIPE_TIMEOUT_MS,
    telemetry: false,
  });
}

/** Everything a route or task needs, built once in main.ts (or by a test) and passed down. */
export interface Deps {
  config: Config;
  databaseUrl: string;
  sql: Sql;
  db: Db;
  log: Logger;
  clock: Clock;
  /** Undefined when SMTP_URL is unset: emails stay in the outbox and are logged. */
  mailer?: Mailer;
  metrics: Metrics;
  /** Outbound SMS (SPEC 8); undefined when Twilio credentials are not configured. */
  twilio?: TwilioClient;
  /** Stripe's API (reconciliation only; webhooks are verified with the secret alone). */
  stripe?: Stripe;
  /** Waits between paced SMS sends; tests may replace it. */
  sleep(ms: number): Promise<void>;
  /** Group commit of inbound webhooks (used by `ingest`); stopped, after a last flush, by closeDeps. */
  ingestBatcher: IngestBatcher;
  /** response_ms of stored webhooks, written after their commit; stopped by closeDeps. */
  responseTimes: ResponseTimes;
}

export function buildDeps(config: Config, databaseUrl: string, overrides: Partial<Deps> = {}): Deps {
  const log = overrides.log ?? createLogger(config.LOG_LEVEL, { service: "switchboard" });
  // A worker runs up to WORKER_CONCURRENCY tasks, each in its own transaction: one connection each, or they queue.
  // Delivery attempts hold a connection only for their short bookkeeping transactions, not while the HTTP runs.
  const { sql, db } = connect(databaseUrl, config.ROLE === "worker" ? config.WORKER_CONCURRENCY + 10 : 20);
  const shared = {
    config,
    databaseUrl,
    sql,
    db,
    log,
    clock: systemClock,
    mailer: config.SMTP_URL ? nodemailer.createTransport(config.SMTP_URL) : undefined,
    metrics: createMetrics(),
    twilio: createTwilioClient(config),
    stripe: createStripeClient(config),
    sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    ...overrides,
  };
  // The batchers are given this same object and read its db when they write, so an override of db is honoured.
  return Object.assign(shared, {
    ingestBatcher: overrides.ingestBatcher ?? createIngestBatcher(shared),
    responseTimes: overrides.responseTimes ?? createResponseTimes(shared),
  });
}

export async function closeDeps(deps: Deps): Promise<void> {
  // Webhooks waiting for a shared commit are written (and answered) before the pool goes.
  await deps.ingestBatcher.stop();
  await deps.responseTimes.stop();
  await deps.sql.end({ timeout: 5 });
  (deps.mailer as Transporter | undefined)?.close?.();
}
