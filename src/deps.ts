import nodemailer from "nodemailer";
import type { Config } from "./config";
import { connect, type Db, type Sql } from "./db";
import { createLogger, type Logger } from "./log";
import { createMetrics, type Metrics } from "./metrics";
import { oldestWaitingSeconds } from "./outbound/store";

export interface Clock { now(): Date }
export const systemClock: Clock = { now: () => new Date() };

export type Mailer = Pick<nodemailer.Transporter, "sendMail">;

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
  fetch: typeof fetch;
  metrics: Metrics;
}

export function buildDeps(config: Config, databaseUrl: string, overrides: Partial<Deps> = {}): Deps {
  const log = overrides.log ?? createLogger(config.LOG_LEVEL, { service: "switchboard" });
  const { sql, db } = connect(databaseUrl, config.ROLE === "worker" ? 5 : 20);
  return {
    config,
    databaseUrl,
    sql,
    db,
    log,
    clock: systemClock,
    mailer: config.SMTP_URL ? nodemailer.createTransport(config.SMTP_URL) : undefined,
    fetch: globalThis.fetch,
    metrics: createMetrics({ outboundOldestWaiting: () => oldestWaitingSeconds(sql) }),
    ...overrides,
  };
}

export async function closeDeps(deps: Deps): Promise<void> {
  await deps.sql.end({ timeout: 5 });
  (deps.mailer as nodemailer.Transporter | undefined)?.close?.();
}
