// The benchmark's Postgres: DATABASE_URL, or an embedded one in a temporary directory. Every cell (and every step
// of a sustained search) gets a fresh database cloned from one migrated template.
import { join } from "node:path";
import postgres from "postgres";
import { migrate, startDatabase } from "../src/db";
import { createLogger } from "../src/log";
import { freePort, postgresCpuSeconds } from "./support";

export interface Fresh {
  url: string;
  sql: postgres.Sql;
  drop(): Promise<void>;
}

export interface Statement {
  calls: number;
  totalMs: number;
  meanMs: number;
  rows: number;
  /** WAL this statement wrote: records, full-page images, kilobytes. */
  wal: { records: number; fpi: number; kb: number };
  query: string;
}

export interface BenchDatabase {
  version: string;
  /** Whether pg_stat_statements is loaded (BENCH_PG_STATEMENTS=1, embedded Postgres only). */
  statements: boolean;
  /** CPU seconds Postgres used so far (NaN with DATABASE_URL: its processes are not ours to read). */
  cpuSeconds(): number;
  fresh(name: string): Promise<Fresh>;
  stop(): Promise<void>;
}

export async function startBenchDatabase(workDir: string, opts: { statements: boolean }): Promise<BenchDatabase> {
  const dataDir = join(workDir, "pg");
  const log = createLogger("silent");
  const at = { url: process.env.DATABASE_URL, dataDir, port: await freePort() };
  let database = await startDatabase(at, log);
  let admin = postgres(database.url, { max: 1, onnotice: () => {} });
  const statements = opts.statements && !at.url;
  if (statements) {
    // pg_stat_statements must be preloaded: set it, then start the same data directory again.
    await admin.unsafe("alter system set shared_preload_libraries = 'pg_stat_statements'");
    await admin.end();
    await database.stop();
    database = await startDatabase(at, log);
    admin = postgres(database.url, { max: 1, onnotice: () => {} });
  }
  const urlOf = (name: string) => {
    const u = new URL(database.url);
    u.pathname = `/${name}`;
    return u.toString();
  };
  const template = `sb_bench_template_${process.pid}`;
  await admin.unsafe(`drop database if exists ${template}`);
  await admin.unsafe(`create database ${template}`);
  await migrate(urlOf(template));
  const experiment = process.env.BENCH_EXPERIMENT_SQL;
  if (experiment) {
    // A schema change to try before writing its migration (an index dropped, a storage parameter): every cell's
    // database is cloned from this template, so all of them run with it.
    const t = postgres(urlOf(template), { max: 1, onnotice: () => {} });
    await t.unsafe(experiment).simple();
    await t.end();
  }
  if (statements) {
    const t = postgres(urlOf(template), { max: 1, onnotice: () => {} });
    await t`create extension if not exists pg_stat_statements`;
    await t.end();
  }
  const [{ version }] = await admin`select current_setting('server_version') as version`;
  return {
    version: String(version),
    statements,
    cpuSeconds: () => postgresCpuSeconds(dataDir),
    async fresh(name) {
      const db = `sb_bench_${name.replace(/\W/g, "_")}`;
      await admin.unsafe(`drop database if exists ${db} with (force)`);
      await admin.unsafe(`create database ${db} template ${template}`);
      const url = urlOf(db);
      const sql = postgres(url, { max: 2, onnotice: () => {} });
      return {
        url, sql,
        async drop() {
          await sql.end();
          await admin.unsafe(`drop database if exists ${db} with (force)`);
        },
      };
    },
    async stop() {
      await admin.unsafe(`drop database if exists ${template} with (force)`).catch(() => {});
      await admin.end();
      await database.stop();
    },
  };
}

/** Clears pg_stat_statements (every database's). */
export async function resetStatements(sql: postgres.Sql): Promise<void> {
  await sql`select pg_stat_statements_reset()`;
}

/** The statements of `sql`'s database that took the most time since the last reset. */
export async function topStatements(sql: postgres.Sql, limit = 25): Promise<Statement[]> {
  const rows = await sql`
    select calls::int, total_exec_time as total, mean_exec_time as mean, rows::int, query,
      wal_records::float8 as wal_records, wal_fpi::float8 as wal_fpi, wal_bytes::float8 as wal_bytes
    from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())
    order by total_exec_time desc limit ${limit}`;
  return rows.map((r) => ({
    calls: r.calls, totalMs: Math.round(r.total), meanMs: Number(Number(r.mean).toFixed(3)), rows: r.rows,
    wal: { records: r.wal_records, fpi: r.wal_fpi, kb: Math.round(r.wal_bytes / 1024) },
    query: String(r.query).replace(/\s+/g, " ").slice(0, 300),
  }));
}
