// Sustained end-to-end rate of Switchboard as people run it: `all` (one ROLE=all process) or `web+worker` (a
// ROLE=web and a ROLE=worker process), on a realistic workload (bench/workload.ts). A bounded search over offered
// rates: double while a step passes, then bisect between the last pass and the first fail. Each step is a fresh
// database, wrk at a fixed rate for a few seconds, then a bounded drain; bench/README.md lists what a pass needs.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { type Bench, per1k } from "./context";
import { resetStatements, type Statement, topStatements } from "./database";
import { checkEffects, effectProblems, type Effects } from "./effects";
import { type LoadSummary, load, presign, socketErrors } from "./generator";
import { backlog, type Delivery, delivery, drain, processing } from "./measure";
import { running, type Server, started, stop, switchboard } from "./processes";
import { processCpuSeconds } from "./support";
import { gapAt, type Provider, seed, seededRows } from "./workload";

export type Kind = "all" | "web+worker";
export const LAG_P99_LIMIT_MS = 5000;
/**
 * Bounded backlog: in the step's last third the pending events never exceed this many seconds of the offered rate,
 * and their trend (least squares) grows by at most this share of the offered rate per second.
 */
export const BACKLOG_LIMIT_SECONDS = 2;
export const BACKLOG_GROWTH_SHARE = 0.1;
/** The generator must offer at least this share of the rate asked for (a server slow to answer holds it back). */
export const ACHIEVED_SHARE = 0.95;

export interface StepOptions {
  seconds: number;
  drainLimitSeconds: number;
  connections: number;
}

export interface Step {
  rate: number;
  seconds: number;
  achievedRate: number;
  acceptedPerSec: number;
  processedPerSec: number;
  sent: number;
  ok2xx: number;
  non2xx: number;
  socketErrors: number;
  exhausted: boolean;
  ackMs: LoadSummary["latencyMs"];
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxMs: number;
  /** [ms since the load started, pending events], every 500 ms. */
  backlog: [number, number][];
  backlogMax: number;
  backlogLastThirdMax: number;
  /** Trend of the pending count over the last third, events per second (least squares). */
  backlogGrowthPerSec: number;
  drained: boolean;
  drainSeconds: number;
  delivery: Delivery;
  effects: Effects;
  /** CPU ms per 1,000 acknowledged requests, per process, from the load's start to the drain's end. */
  cpuMsPer1k: Record<string, number>;
  /** With BENCH_PG_STATEMENTS=1: the statements that took the most time in the step. */
  statements?: Statement[];
  pass: boolean;
  /** Why the step failed (empty when it passed). */
  why: string[];
}

export async function runStep(bench: Bench, kind: Kind, provider: Provider, rate: number, opts: StepOptions) {
  const count = Math.ceil(rate * opts.seconds * 1.05) + 2 * opts.connections;
  const id = `${kind}-${provider}-${rate}`;
  const fresh = await bench.db.fresh(id);
  const file = join(bench.workDir, `${id.replace(/\W/g, "_")}.requests`);
  const servers: Server[] = [];
  try {
    const gap = gapAt(rate);
    const [signed] = await Promise.all([
      presign(provider, count, gap, file), seed(fresh.sql, provider, seededRows(provider, count, gap)),
    ]);
    const roles = kind === "all" ? (["all"] as const) : (["web", "worker"] as const);
    servers.push(...await Promise.all(roles.map((role) => started(switchboard(role, fresh.url)))));
    if (bench.db.statements) await resetStatements(fresh.sql);
    const cpu0 = servers.map((s) => processCpuSeconds(s.proc.pid));
    const pg0 = bench.db.cpuSeconds();
    const sampler = backlog(fresh.sql, provider, Math.min(500, (opts.seconds * 1000) / 24));
    const summary = await load({
      wrk: bench.wrk, provider, port: servers[0]!.port, signed, connections: opts.connections, seconds: opts.seconds,
      rate, workDir: bench.workDir,
    });
    const loadEnd = new Date();
    const samples = await sampler.stop();
    const drained = await drain(fresh.sql, provider, opts.drainLimitSeconds * 1000);
    const drainSeconds = (Date.now() - loadEnd.getTime()) / 1000;
    const cpu = servers.map((s, i) => processCpuSeconds(s.proc.pid) - cpu0[i]!);
    const pgCpu = bench.db.cpuSeconds() - pg0;
    for (const s of servers) await stop(s);
    const statements = bench.db.statements ? await topStatements(fresh.sql) : undefined;
    const loadStart = new Date(loadEnd.getTime() - summary.durationSeconds * 1000);
    const done = await processing(fresh.sql, provider, loadStart, loadEnd);
    const ok = summary.ok2xx;
    const late = samples.filter(([ms]) => ms >= (opts.seconds * 1000 * 2) / 3);
    const step: Step = {
      rate, seconds: summary.durationSeconds, achievedRate: summary.sent / summary.durationSeconds,
      acceptedPerSec: ok / summary.durationSeconds, processedPerSec: done.perSec, sent: summary.sent, ok2xx: ok,
      non2xx: summary.non2xx, socketErrors: socketErrors(summary), exhausted: summary.exhausted,
      ackMs: summary.latencyMs, lagP50Ms: done.lagP50, lagP99Ms: done.lagP99, lagMaxMs: done.lagMax,
      backlog: samples, backlogMax: Math.max(0, ...samples.map(([, n]) => n)),
      backlogLastThirdMax: Math.max(0, ...late.map(([, n]) => n)), backlogGrowthPerSec: slope(late),
      drained, drainSeconds,
      delivery: await delivery(fresh.sql, provider, signed.keys().slice(0, summary.sent), ok, true),
      effects: await checkEffects(fresh.sql, provider),
      cpuMsPer1k: {
        ...Object.fromEntries(servers.map((s, i) => [s.name, per1k(cpu[i]!, ok)])),
        postgres: per1k(pgCpu, ok), wrk: per1k(summary.cpuSeconds, ok), presign: per1k(signed.cpuSeconds, ok),
      },
      ...(statements ? { statements } : {}),
      pass: false, why: [],
    };
    step.why = judge(step);
    step.pass = step.why.length === 0;
    return step;
  } finally {
    for (const s of servers) if (running.has(s)) await stop(s);
    await fresh.drop();
    rmSync(file, { force: true });
    rmSync(`${file}.keys`, { force: true });
  }
}

/** What keeps a step from passing; empty when it passes. */
export function judge(s: Step): string[] {
  const why: string[] = [];
  const problems = effectProblems(s.effects);
  if (s.achievedRate < ACHIEVED_SHARE * s.rate) why.push(`offered only ${Math.round(s.achievedRate)}/s`);
  if (s.non2xx + s.socketErrors > 0) why.push(`${s.non2xx} non-2xx, ${s.socketErrors} socket errors`);
  if (s.backlogLastThirdMax > BACKLOG_LIMIT_SECONDS * s.rate) {
    why.push(`backlog ${s.backlogLastThirdMax} late in the load`);
  }
  if (s.backlogGrowthPerSec > BACKLOG_GROWTH_SHARE * s.rate) {
    why.push(`backlog growing ${Math.round(s.backlogGrowthPerSec)}/s late in the load`);
  }
  if (!s.drained) why.push("not drained in time");
  if (!(s.lagP99Ms <= LAG_P99_LIMIT_MS)) why.push(`lag p99 ${Math.round(s.lagP99Ms)} ms`);
  if (s.delivery.lost > 0) why.push(`${s.delivery.lost} lost`);
  if (s.delivery.twoJobs + s.delivery.reprocessed + problems.doubled > 0) {
    why.push(`duplicated: ${s.delivery.twoJobs} two jobs, ${s.delivery.reprocessed} reprocessed, `
      + `${problems.doubled} effects doubled`);
  }
  if (problems.missing > 0) why.push(`${problems.missing} effects missing or stray`);
  if (s.effects.notProcessed > 0) why.push(`${s.effects.notProcessed} events not processed`);
  return why;
}

/** Least-squares slope of [ms, n] samples, per second (0 with fewer than two). */
export function slope(samples: [number, number][]): number {
  if (samples.length < 2) return 0;
  const mx = samples.reduce((a, [x]) => a + x, 0) / samples.length;
  const my = samples.reduce((a, [, y]) => a + y, 0) / samples.length;
  const sxy = samples.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const sxx = samples.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : (sxy / sxx) * 1000;
}

export interface Search {
  kind: Kind;
  provider: Provider;
  connections: number;
  steps: Step[];
  /** Highest offered rate that passed (0: none did), and the lowest that failed (undefined: none did). */
  sustainedRate: number;
  firstFail?: number;
  /** Ack p99 (ms) of the step at the sustained rate. */
  ackP99AtRate?: number;
  /** sustainedRate over the bare server's (a) peak accepted/s at the same connection count, when a ran. */
  ratioToPlain?: number;
}

/** Doubles from `start` while steps pass, then bisects `bisections` times; at most `maxSteps` steps in all. */
export async function search(
  bench: Bench, kind: Kind, provider: Provider,
  opts: StepOptions & { start: number; maxSteps: number; bisections: number; onStep: (s: Step) => void },
): Promise<Search> {
  const steps: Step[] = [];
  let lastPass = 0;
  let firstFail: number | undefined;
  let rate = opts.start;
  let bisecting = false;
  let bisected = 0;
  while (steps.length < opts.maxSteps) {
    const step = await runStep(bench, kind, provider, rate, opts);
    steps.push(step);
    opts.onStep(step);
    if (bisecting) bisected++;
    if (step.pass) lastPass = Math.max(lastPass, rate);
    else firstFail = Math.min(firstFail ?? Infinity, rate);
    if (!bisecting && step.pass) {
      rate *= 2;
      continue;
    }
    bisecting = true;
    if (bisected >= opts.bisections) break;
    const next = Math.round((lastPass + firstFail!) / 20) * 10;
    if (next <= lastPass || next >= firstFail!) break;
    rate = next;
  }
  const at = steps.find((s) => s.pass && s.rate === lastPass);
  return {
    kind, provider, connections: opts.connections, steps, sustainedRate: lastPass, firstFail,
    ...(at ? { ackP99AtRate: at.ackMs.p99 } : {}),
  };
}
