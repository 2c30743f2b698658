// `npm run bench`: ingest throughput of Switchboard side by side with two baselines (README, "Performance").
// Postgres: DATABASE_URL, or an embedded one in a temp dir. Each cell gets a fresh database cloned from a
// migrated template, its own server process, and a load generator process (bench/loadgen.mjs under node).
// Bounded: BENCH_DURATION seconds of load per cell (default 10), drains capped at BENCH_DRAIN_LIMIT seconds.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import postgres from "postgres";
import { migrate, startDatabase } from "../src/db";
import { createLogger } from "../src/log";
import { childCpuSeconds, freePort, machine, postgresCpuSeconds, spawnProcess, type Proc, waitHttp } from "./support";
import { renderChart } from "./chart";
import { type Cell, type Result, summarize, verify, processing, backlog } from "./measure";

const ROOT = resolve(import.meta.dir, "..");
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const DRAIN_LIMIT = Number(process.env.BENCH_DRAIN_LIMIT ?? 60);
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? "32,128").split(",").map(Number);
const PROVIDERS = (process.env.BENCH_PROVIDERS ?? "stripe,twilio-status").split(",") as Cell["provider"][];
const TARGETS = ((process.env.BENCH_TARGETS ?? "a,b,c").split(",")) as Cell["target"][];
const SECRETS = {
  stripe: "whsec_bench_secret", twilio: "bench_twilio_auth_token", publicUrl: "https://switchboard.bench.test",
};
// Switchboard's worker has a processor for a provider only once that processor exists; jobs for one without it
// would fail and retry during the measurement, so those cells measure ingest only.
const processorSource = readFileSync(join(ROOT, "src/jobs/index.ts"), "utf8");
const hasProcessor = (p: string) =>
  new RegExp(`["']?${p}["']?\\s*:\\s*process`).test(processorSource.split("processWebhookTask(")[1] ?? "");
// Pre-signed requests per cell: enough for the fastest target at this duration, fewer for the slow one.
const RATE_CAP = { a: 25_000, b: 6_000, c: 30_000 } as const;

const log = createLogger("silent");
const workDir = mkdtempSync(join(tmpdir(), "switchboard-bench-"));
chmodSync(workDir, 0o755);
const startedAt = new Date();
const before = machine();
console.log(
  `machine: ${before.cpus}× ${before.cpuModel}, ${before.memoryGb} GiB, load ${before.loadAverage.join(" ")}`,
);

const PG_DIR = join(workDir, "pg");
const database = await startDatabase({ url: process.env.DATABASE_URL, dataDir: PG_DIR, port: await freePort() }, log);
const admin = postgres(database.url, { max: 1, onnotice: () => {} });
const dbUrl = (name: string) => { const u = new URL(database.url); u.pathname = `/${name}`; return u.toString(); };
const TEMPLATE = `sb_bench_template_${process.pid}`;
await admin.unsafe(`drop database if exists ${TEMPLATE}`);
await admin.unsafe(`create database ${TEMPLATE}`);
await migrate(dbUrl(TEMPLATE));
const [{ version }] = await admin`select current_setting('server_version') as version`;

const results: Result[] = [];
const running: Proc[] = [];
const cleanup = async () => {
  for (const p of running) p.proc.kill("SIGKILL");
  await admin.unsafe(`drop database if exists ${TEMPLATE} with (force)`).catch(() => {});
  await admin.end();
  await database.stop();
  rmSync(workDir, { recursive: true, force: true });
};
process.on("SIGINT", () => void cleanup().then(() => process.exit(130)));

// Switchboard's own tuning (INGEST_*, WORKER_*) passes through to its processes, for experiments.
const tuning = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => /^(INGEST|WORKER)_/.test(k)),
) as Record<string,
string>;

function serverFor(target: Cell["target"], url: string, port: number): Proc {
  if (target === "c") {
    // BENCH_PROFILE=<dir>: a CPU profile of Switchboard's web process (markdown) is written there on exit.
    const profile = process.env.BENCH_PROFILE ? ["--cpu-prof-md", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
    return spawnProcess([process.execPath, ...profile, "src/main.ts"], ROOT, {
      ROLE: "web", PORT: String(port), DATABASE_URL: url, LOG_LEVEL: "error", PUBLIC_URL: SECRETS.publicUrl,
      STRIPE_WEBHOOK_SECRET: SECRETS.stripe, TWILIO_AUTH_TOKEN: SECRETS.twilio,
      TWILIO_ACCOUNT_SID: `AC${"0".repeat(32)}`, ...tuning,
    });
  }
  return spawnProcess([process.execPath, "bench/baseline-server.ts"], ROOT, {
    MODE: target === "a" ? "plain" : "naive", PORT: String(port), DATABASE_URL: url,
    STRIPE_SECRET: SECRETS.stripe, TWILIO_TOKEN: SECRETS.twilio, PUBLIC_URL: SECRETS.publicUrl,
  });
}

// BENCH_PROFILE_WORKER=<dir>: the same for the worker process.
const workerProfile = process.env.BENCH_PROFILE_WORKER
  ? ["--cpu-prof-md", `--cpu-prof-dir=${process.env.BENCH_PROFILE_WORKER}`] : [];
const workerFor = (url: string) => spawnProcess([process.execPath, ...workerProfile, "src/main.ts"], ROOT, {
  ROLE: "worker", DATABASE_URL: url, LOG_LEVEL: "error", PUBLIC_URL: SECRETS.publicUrl, ...tuning,
});

async function loadgen(cell: Cell, port: number, extra: Record<string, unknown> = {}) {
  const ackFile = join(workDir, `${cell.id}.acked`);
  const proc = Bun.spawn(["node", join(ROOT, "bench/loadgen.mjs"), JSON.stringify({
    url: `http://127.0.0.1:${port}`, provider: cell.provider, connections: cell.connections, duration: DURATION,
    count: Math.ceil(RATE_CAP[cell.target] * DURATION * 1.2), prefix: cell.id.replace(/\W/g, ""), ackFile,
    stripeSecret: SECRETS.stripe, twilioToken: SECRETS.twilio, publicUrl: SECRETS.publicUrl, ...extra,
  })], { cwd: ROOT, stdout: "pipe", stderr: "inherit" });
  const out = await new Response(proc.stdout).text();
  if ((await proc.exited) !== 0) throw new Error(`loadgen failed for ${cell.id}`);
  const summary = JSON.parse(out.trim().split("\n").pop()!);
  summary.cpuSeconds = childCpuSeconds(proc);
  const acked = readFileSync(ackFile, "utf8").split("\n").filter(Boolean);
  return { summary, acked };
}

async function stop(p: Proc, limitMs = 20_000) {
  p.proc.kill("SIGTERM");
  const code = await Promise.race([p.proc.exited, Bun.sleep(limitMs).then(() => "timeout" as const)]);
  if (code === "timeout") p.proc.kill("SIGKILL");
  running.splice(running.indexOf(p), 1);
}

/**
 * Peak cells start the worker when the load ends, so that ingest is measured alone and the worker's rate is
 * its drain rate on a full backlog; the half-rate cell runs the worker during the load (steady state).
 */
async function runCell(cell: Cell, opts: { rate?: number; workerDuring?: boolean } = {}): Promise<Result> {
  const name = `sb_bench_${cell.id.replace(/\W/g, "_")}`;
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.unsafe(`create database ${name} template ${TEMPLATE}`);
  const url = dbUrl(name);
  const port = await freePort();
  const server = serverFor(cell.target, url, port);
  running.push(server);
  const processes = cell.target === "c" && hasProcessor(cell.provider);
  let worker: Proc | undefined;
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  try {
    await waitHttp(`http://127.0.0.1:${port}/healthz`, server);
    if (processes && opts.workerDuring) running.push(worker = workerFor(url));
    const sampler = worker ? backlog(sql) : undefined;
    const pgBefore = postgresCpuSeconds(PG_DIR);
    const { summary, acked } = await loadgen(cell, port, opts.rate ? { overallRate: opts.rate } : {});
    const pgCpu = postgresCpuSeconds(PG_DIR) - pgBefore;
    await stop(server);
    // CPU per 1000 acknowledged webhooks, by process (the loadgen's includes pre-signing its requests).
    const per1k = (s: number) => Number(((s / Math.max(1, summary.acked)) * 1000).toFixed(3));
    const cpu: NonNullable<Result["cpu"]> = {
      server: per1k(childCpuSeconds(server.proc)), postgres: per1k(pgCpu), loadgen: per1k(summary.cpuSeconds),
    };
    if (processes && !worker) running.push(worker = workerFor(url));
    const backlogSamples = sampler?.stop();
    let drained = true;
    if (worker) {
      const deadline = Date.now() + DRAIN_LIMIT * 1000;
      while ((await sql`select count(*)::int as n from webhook_events where status = 'pending'`)[0]!.n > 0) {
        if (Date.now() > deadline) { drained = false; break; }
        await Bun.sleep(250);
      }
      await stop(worker);
      cpu.worker = per1k(childCpuSeconds(worker.proc));
    }
    const checked = await verify(sql, cell.target, acked);
    const processed = processes ? await processing(sql) : undefined;
    const result = summarize(
      cell, summary, checked, processed, { backlog: backlogSamples, drained, rate: opts.rate, cpu },
    );
    results.push(result);
    return result;
  } finally {
    for (const p of [server, worker]) if (p && running.includes(p)) await stop(p);
    await sql.end();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
  }
}

const fmt = (n: number | undefined, d = 0) => (n === undefined || Number.isNaN(n) ? "-" : n.toFixed(d));
try {
  for (const provider of PROVIDERS) {
    for (const connections of CONNECTIONS) {
      const cellResults: Partial<Record<Cell["target"], Result>> = {};
      for (const target of TARGETS) {
        const cell = { id: `${provider}-${connections}-${target}`, provider, connections, target };
        const r = cellResults[target] = await runCell(cell);
        console.log(`${cell.id.padEnd(24)} accepted/s ${fmt(r.acceptedPerSec).padStart(6)}  p50 `
          + `${fmt(r.p50, 1).padStart(5)} ms  p99 ${fmt(r.p99, 1).padStart(6)} ms  errors ${r.errors}  lost ${r.lost}  `
            + `duplicated ${r.duplicated}  cpu ms/1k srv ${fmt(r.cpu && r.cpu.server * 1000)} pg `
              + `${fmt(r.cpu && r.cpu.postgres * 1000)} gen ${fmt(r.cpu && r.cpu.loadgen * 1000)}`
          + (
            r.processedPerSec !== undefined
              ? `  processed/s ${fmt(r.processedPerSec)} (worker cpu ms/1k `
                + `${fmt(r.cpu?.worker && r.cpu.worker * 1000)}) `
                  + ` lag p50 ${fmt(r.lagP50)} ms p99 ${fmt(r.lagP99)} ms` : ""
          ));
      }
      const { a, b, c } = cellResults;
      if (a && b && c) {
        c.ratioToPlain = c.acceptedPerSec / a.acceptedPerSec;
        c.ratioToNaive = c.acceptedPerSec / b.acceptedPerSec;
        console.log(`${provider} @${connections}: c/a ${fmt(c.ratioToPlain, 2)}  c/b ${fmt(c.ratioToNaive, 2)}`);
      }
    }
  }
  // Backlog at half the peak: Switchboard with its worker, Stripe events at half the best accepted rate.
  const peak = Math.max(
    ...results.filter((r) => r.target === "c" && r.provider === "stripe").map((r) => r.acceptedPerSec), 0,
  );
  if (peak > 0 && hasProcessor("stripe")) {
    // BENCH_HALF_RATE=<n>: offer this rate instead (to compare runs whose peaks differ).
    const half = Number(process.env.BENCH_HALF_RATE ?? 0) || Math.round(peak / 2);
    const r = await runCell({ id: `stripe-half-rate-c`, provider: "stripe", connections: 32, target: "c" }, {
      rate: half, workerDuring: true,
    });
    console.log(`stripe at half the peak (${half}/s): accepted/s ${fmt(r.acceptedPerSec)} processed/s `
      + `${fmt(r.processedPerSec)} `
      + `backlog samples ${JSON.stringify(r.backlog)} drained ${r.drained}`);
  }
} finally {
  await cleanup();
}

const report = {
  startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), durationPerCellSeconds: DURATION,
  machine: { ...before, loadAverageAfter: machine().loadAverage, postgres: String(version), bun: Bun.version },
  note: "Load generator, server(s) and Postgres share the same machine; a: bare Bun + one INSERT, b: per-request "
    + "transaction INSERT + add_job, c: Switchboard ROLE=web (+ ROLE=worker where a processor exists).",
  results,
};
const dir = join(ROOT, "bench/results");
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(join(dir, "latest.svg"), renderChart(report));
console.log(`wrote bench/results/latest.json and bench/results/latest.svg`);
