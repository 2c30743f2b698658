// `npm run bench` (bench/README.md): Switchboard's peak ingest side by side with two baselines, then its sustained
// end-to-end rate as people run it, with wrk as the load generator and every process's CPU per 1,000 requests.
// Bounded: every load, drain and search has a limit in time and count. Writes bench/results/latest.{json,txt,svg}.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { renderChart } from "./chart";
import type { Bench } from "./context";
import { startBenchDatabase } from "./database";
import { requireWrk } from "./generator";
import { type PeakResult, runPeak, type Target } from "./peak";
import { running, stop } from "./processes";
import { drainLine, fmt, peakLine, searchLine, stepLine } from "./report";
import { type Kind, type Search, search } from "./sustained";
import { machine } from "./support";
import { gapAt, type Provider } from "./workload";

const env = process.env;
const num = (name: string, dflt: number) => (env[name] ? Number(env[name]) : dflt);
const list = (name: string, dflt: string) => (env[name] ?? dflt).split(",").map((s) => s.trim()).filter(Boolean);
const SETTINGS = {
  duration: num("BENCH_DURATION", 10),
  drainLimit: num("BENCH_DRAIN_LIMIT", 20),
  connections: list("BENCH_CONNECTIONS", "32,128").map(Number),
  providers: list("BENCH_PROVIDERS", "stripe,twilio-status") as Provider[],
  targets: list("BENCH_TARGETS", "a,b,c,all,web+worker"),
  stepSeconds: Math.min(15, num("BENCH_STEP_SECONDS", 10)),
  stepDrain: num("BENCH_STEP_DRAIN", 10),
  searchStart: num("BENCH_SEARCH_START", 250),
  searchSteps: num("BENCH_SEARCH_STEPS", 8),
  searchConnections: list("BENCH_SEARCH_CONNECTIONS", "32,128").map(Number),
  bisections: 3,
};
// Requests pre-signed per second of a peak cell: enough for the fastest server seen, so that every request is a new
// event (`exhausted` in the output says when they ran out and repeated). c is sized from a's result when a ran.
/** BENCH_RESULTS=<name>: the results go to bench/results/<name>.{json,txt,svg} (default latest). */
const OUT = (env.BENCH_RESULTS ?? "latest").replace(/[^\w.-]/g, "_");
const CAP = num("BENCH_RATE_CAP", 20_000);
const RATE_CAP: Record<Target, number> = { a: CAP, b: Math.min(CAP, 6_000), c: CAP };

const wrk = requireWrk();
const wrkVersion = (await new Response(Bun.spawn([wrk, "-v"], { stdout: "pipe", stderr: "pipe" }).stdout).text())
  .split("\n")[0]!.trim();
const lines: string[] = [];
const say = (line: string) => {
  lines.push(line);
  console.log(line);
};
const workDir = mkdtempSync(join(tmpdir(), "switchboard-bench-"));
chmodSync(workDir, 0o755); // the embedded Postgres runs as another user when we are root
const startedAt = new Date();
const before = machine();
say(`machine: ${before.cpus}× ${before.cpuModel}, ${before.memoryGb} GiB, load ${before.loadAverage.join(" ")}; `
  + `${wrkVersion}; bun ${Bun.version}`);
say(`settings: ${JSON.stringify(SETTINGS)}`);
const db = await startBenchDatabase(workDir, { statements: env.BENCH_PG_STATEMENTS === "1" });
say(`postgres ${db.version}${env.DATABASE_URL ? " (DATABASE_URL: its CPU is not measured)" : " (embedded)"}`
  + `${db.statements ? ", pg_stat_statements on (its top statements go to latest.json)" : ""}`);
const bench: Bench = { db, wrk, workDir, say };

const cleanup = async () => {
  for (const s of [...running]) await stop(s, 5000);
  await db.stop();
  rmSync(workDir, { recursive: true, force: true });
};
process.on("SIGINT", () => void cleanup().then(() => process.exit(130)));

const peak: PeakResult[] = [];
const sustained: Search[] = [];
try {
  const peakTargets = (["a", "b", "c"] as const).filter((t) => SETTINGS.targets.includes(t));
  if (peakTargets.length > 0) say(`\npeak ingest: ${SETTINGS.duration} s per cell, as fast as answered`);
  for (const provider of SETTINGS.providers) {
    for (const connections of SETTINGS.connections) {
      const cells: Partial<Record<Target, PeakResult>> = {};
      for (const target of peakTargets) {
        const a = cells.a?.acceptedPerSec;
        const perSec = target === "c" && a ? Math.min(RATE_CAP.c, Math.max(2_000, 2 * a)) : RATE_CAP[target];
        const count = Math.ceil(perSec * SETTINGS.duration) + 2 * connections;
        const cell = { id: `${provider}-${connections}-${target}`, provider, connections, target };
        const r = cells[target] = await runPeak(bench, cell, {
          count, gap: gapAt(perSec), seconds: SETTINGS.duration, drainLimitSeconds: SETTINGS.drainLimit,
        });
        peak.push(r);
        say(peakLine(r));
        if (r.drain) say(drainLine(r));
      }
      const { a, b, c } = cells;
      if (c && (a || b)) {
        if (a) c.ratioToPlain = c.acceptedPerSec / a.acceptedPerSec;
        if (b) c.ratioToNaive = c.acceptedPerSec / b.acceptedPerSec;
        say(`${provider} @${connections}: c/a ${fmt(c.ratioToPlain, 2)}  c/b ${fmt(c.ratioToNaive, 2)}`);
      }
    }
  }
  const kinds = (["all", "web+worker"] as const).filter((k) => SETTINGS.targets.includes(k));
  if (kinds.length > 0) {
    say(`\nsustained end-to-end rate: ${SETTINGS.stepSeconds} s steps at ${SETTINGS.searchConnections.join(" and ")} `
      + `connections from ${SETTINGS.searchStart}/s or the rate sustained at fewer connections (doubling, then `
      + `${SETTINGS.bisections} bisections; at most ${SETTINGS.searchSteps} steps), `
      + `drain limit ${SETTINGS.stepDrain} s`);
  }
  for (const provider of SETTINGS.providers) {
    for (const connections of SETTINGS.searchConnections) {
      for (const kind of kinds as Kind[]) {
        // More connections sustain at least what fewer did: start there, and spend the steps near the answer.
        const fewer = sustained.filter((s) => s.kind === kind && s.provider === provider
          && s.connections < connections);
        const start = Math.max(SETTINGS.searchStart, ...fewer.map((s) => s.sustainedRate));
        const s = await search(bench, kind, provider, {
          seconds: SETTINGS.stepSeconds, drainLimitSeconds: SETTINGS.stepDrain, connections,
          start, maxSteps: SETTINGS.searchSteps, bisections: SETTINGS.bisections,
          onStep: (step) => say(stepLine(kind, provider, step)),
        });
        // The yardstick: the bare server's peak at the same connection count, when this run measured it.
        const a = peak.find((r) => r.target === "a" && r.provider === provider && r.connections === connections);
        if (a) s.ratioToPlain = s.sustainedRate / a.acceptedPerSec;
        sustained.push(s);
        say(searchLine(s));
      }
    }
  }
} finally {
  await cleanup();
}

const report = {
  startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), settings: SETTINGS,
  machine: {
    ...before, loadAverageAfter: machine().loadAverage, postgres: db.version, bun: Bun.version, generator: wrkVersion,
  },
  note: "wrk (1 thread), the servers and Postgres share the machine. Peak: a = bare Bun + one INSERT, b = per-request "
    + "transaction INSERT + add_job, c = Switchboard ROLE=web (a ROLE=worker drains after the load). Sustained: "
    + "Switchboard ROLE=all, or ROLE=web + ROLE=worker, at fixed offered rates. CPU in ms per 1,000 requests.",
  peak,
  sustained,
};
const dir = resolve(import.meta.dir, "results");
mkdirSync(dir, { recursive: true });
const took = fmt((Date.now() - startedAt.getTime()) / 1000);
say(`\nwrote bench/results/${OUT}.json, ${OUT}.txt and ${OUT}.svg (${took} s)`);
writeFileSync(join(dir, `${OUT}.json`), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(join(dir, `${OUT}.txt`), `${lines.join("\n")}\n`);
writeFileSync(join(dir, `${OUT}.svg`), renderChart(report));
