// `npm run chaos`: the fault scenarios against real processes on one Postgres, on loopback, bounded in time.
// Prints the table and writes bench/results/chaos.{json,txt}. `npm run chaos -- kill-web pg` runs some of them.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import postgres from "postgres";
import { migrate, startDatabase } from "../../src/db";
import { createLogger } from "../../src/log";
import { freePort } from "../../test/support/process";
import { machine } from "../support";
import { killNine, type Options, postgresOutage, providersDown, type Row, slowEndpoint, twoByTwo } from "./scenarios";
import type { Database } from "./world";

const SCENARIOS: Record<string, (o: Options) => Promise<Row>> = {
  "kill-web": (o) => killNine(o, "web", 3),
  "kill-worker": (o) => killNine(o, "worker", 3),
  pg: (o) => postgresOutage(o, 10),
  "two-by-two": (o) => twoByTwo({ ...o, seconds: 75 }),
  "slow-endpoint": (o) => slowEndpoint({ ...o, rate: 12, seconds: 30 }),
  providers: (o) => providersDown({ ...o, seconds: 75 }, 60),
  // Not in the default run: a longer outage than the issue asks for.
  "pg-20": (o) => postgresOutage({ ...o, seconds: 45 }, 20),
};
const DEFAULT = Object.keys(SCENARIOS).filter((name) => name !== "pg-20");

const log = (line: string) => console.log(line);
const chosen = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const names = chosen.length > 0 ? chosen : DEFAULT;
for (const name of names)
  if (!SCENARIOS[name]) throw new Error(`unknown scenario ${name}; one of ${Object.keys(SCENARIOS)}`);

// One Postgres for the whole run (DATABASE_URL, or embedded in a temp dir); a fresh database per scenario.
const dataDir = process.env.DATABASE_URL ? undefined : mkdtempSync(join(tmpdir(), "switchboard-chaos-"));
if (dataDir) chmodSync(dataDir, 0o755);
const server = await startDatabase(
  { url: process.env.DATABASE_URL, dataDir: dataDir ?? "", port: await freePort() },
  createLogger("silent"),
);
let n = 0;
const database = async (): Promise<Database> => {
  const name = `chaos_${process.pid}_${++n}`;
  const admin = postgres(server.url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  await migrate(url.toString());
  return {
    url: url.toString(),
    async drop() {
      const sql = postgres(server.url, { max: 1, onnotice: () => {} });
      await sql.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
      await sql.end();
    },
  };
};

const rows: Row[] = [];
const started = Date.now();
try {
  for (const name of names) {
    log(`# ${name}`);
    const began = Date.now();
    try {
      const row = await SCENARIOS[name]!({ database, rate: 25, seconds: 36, log });
      log(`  ${JSON.stringify(row)} (${Math.round((Date.now() - began) / 1000)} s)`);
      rows.push(row);
    } catch (error) {
      log(`  ${name} could not run: ${(error as Error).stack ?? error}`);
      rows.push({
        scenario: name,
        sent: 0,
        acknowledged: 0,
        lost: -1,
        doubled: -1,
        fivexxDuringFault: 0,
        recoveryMs: null,
        notes: [`did not run: ${String(error).split("\n")[0]}`],
        details: {},
      });
    }
  }
} finally {
  await server.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}

const table = [
  "| scenario | webhooks sent | acknowledged | lost | effects doubled | 5xx during the fault | recovery | notes |",
  "|---|---:|---:|---:|---:|---:|---:|---|",
  ...rows.map(
    (r) =>
      `| ${r.scenario} | ${r.sent} | ${r.acknowledged} | ${r.lost} | ${r.doubled} | ${r.fivexxDuringFault} | ` +
      `${r.recoveryMs === null ? "—" : `${(r.recoveryMs / 1000).toFixed(1)} s`} | ${r.notes.join("; ")} |`,
  ),
].join("\n");
const about = {
  ...machine(),
  ranAt: new Date().toISOString(),
  minutes: Number(((Date.now() - started) / 60_000).toFixed(1)),
};
log(`\n${table}\n\n${JSON.stringify(about)}`);
const out = resolve(import.meta.dir, "../results");
if (chosen.length === 0) {
  writeFileSync(join(out, "chaos.json"), JSON.stringify({ machine: about, rows }, null, 2));
  writeFileSync(join(out, "chaos.txt"), `${table}\n\n${JSON.stringify(about)}\n`);
}
process.exit(rows.every((r) => r.lost === 0 && r.doubled === 0) ? 0 : 1);
