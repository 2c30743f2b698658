// Peak ingest cells, side by side: a (bare Bun, one INSERT), b (naive per-request transaction), c (Switchboard
// ROLE=web). wrk sends as fast as each connection is answered. For c, a ROLE=worker process starts once the load
// has ended and drains the backlog (bounded), so that ingest is measured alone and the worker's rate is its drain rate.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { type Bench, per1k } from "./context";
import { type Fresh, resetStatements, type Statement, topStatements } from "./database";
import { checkEffects, type Effects } from "./effects";
import { type LoadSummary, load, presign, socketErrors } from "./generator";
import { type Delivery, delivery, drain, processing } from "./measure";
import { baseline, running, type Server, started, stop, switchboard } from "./processes";
import { processCpuSeconds } from "./support";
import { type Provider, seed, seededRows } from "./workload";

export type Target = "a" | "b" | "c";
export interface PeakCell {
  id: string;
  provider: Provider;
  connections: number;
  target: Target;
}

export interface Drain {
  seconds: number;
  drained: boolean;
  processed: number;
  /** Processed events per second, first to last processed_at. */
  processedPerSec: number;
  pending: number;
  /** CPU ms per 1,000 processed events. */
  cpuMsPer1kProcessed: { worker: number; postgres: number };
  effects: Effects;
  /** With BENCH_PG_STATEMENTS=1: the statements that took the most time during the drain. */
  statements?: Statement[];
}

export interface PeakResult extends PeakCell {
  seconds: number;
  acceptedPerSec: number;
  latencyMs: LoadSummary["latencyMs"];
  sent: number;
  ok2xx: number;
  non2xx: number;
  socketErrors: number;
  distinct: number;
  exhausted: boolean;
  delivery: Delivery;
  /** CPU ms per 1,000 acknowledged (2xx) requests. */
  cpuMsPer1k: { server: number; postgres: number; wrk: number; presign: number };
  drain?: Drain;
  /** With BENCH_PG_STATEMENTS=1: the statements that took the most time during the load. */
  statements?: Statement[];
  ratioToPlain?: number;
  ratioToNaive?: number;
}

export async function runPeak(
  bench: Bench, cell: PeakCell, opts: { count: number; gap: number; seconds: number; drainLimitSeconds: number },
): Promise<PeakResult> {
  const { provider, target } = cell;
  const fresh = await bench.db.fresh(cell.id);
  const file = join(bench.workDir, `${cell.id}.requests`);
  const servers: Server[] = [];
  try {
    // Only c processes; its database holds the rows its events act on.
    const [signed] = await Promise.all([
      presign(provider, opts.count, opts.gap, file),
      target === "c" ? seed(fresh.sql, provider, seededRows(provider, opts.count, opts.gap)) : undefined,
    ]);
    const server = await started(
      target === "c" ? switchboard("web", fresh.url) : baseline(target === "a" ? "plain" : "naive", fresh.url),
    );
    servers.push(server);
    if (bench.db.statements) await resetStatements(fresh.sql);
    const cpu0 = processCpuSeconds(server.proc.pid);
    const pg0 = bench.db.cpuSeconds();
    const summary = await load({
      wrk: bench.wrk, provider, port: server.port, signed, connections: cell.connections, seconds: opts.seconds,
      workDir: bench.workDir,
    });
    const serverCpu = processCpuSeconds(server.proc.pid) - cpu0;
    const pgCpu = bench.db.cpuSeconds() - pg0;
    await stop(server);
    const statements = bench.db.statements ? await topStatements(fresh.sql) : undefined;
    const drained = target === "c"
      ? await drainAfter(bench, fresh, provider, opts.drainLimitSeconds, servers) : undefined;
    const sentKeys = signed.keys().slice(0, summary.sent);
    const ok = summary.ok2xx;
    return {
      ...cell,
      seconds: summary.durationSeconds,
      acceptedPerSec: ok / summary.durationSeconds,
      latencyMs: summary.latencyMs,
      sent: summary.sent,
      ok2xx: ok,
      non2xx: summary.non2xx,
      socketErrors: socketErrors(summary),
      distinct: summary.distinct,
      exhausted: summary.exhausted,
      delivery: await delivery(fresh.sql, provider, sentKeys, ok, target !== "a"),
      cpuMsPer1k: {
        server: per1k(serverCpu, ok), postgres: per1k(pgCpu, ok), wrk: per1k(summary.cpuSeconds, ok),
        presign: per1k(signed.cpuSeconds, ok),
      },
      ...(drained ? { drain: drained } : {}),
      ...(statements ? { statements } : {}),
    };
  } finally {
    for (const s of servers) if (running.has(s)) await stop(s);
    await fresh.drop();
    rmSync(file, { force: true });
    rmSync(`${file}.keys`, { force: true });
  }
}

async function drainAfter(
  bench: Bench, fresh: Fresh, provider: Provider, limitSeconds: number,
  servers: Server[],
): Promise<Drain> {
  const worker = await started(switchboard("worker", fresh.url));
  servers.push(worker);
  if (bench.db.statements) await resetStatements(fresh.sql);
  const cpu0 = processCpuSeconds(worker.proc.pid);
  const pg0 = bench.db.cpuSeconds();
  const from = new Date();
  const drained = await drain(fresh.sql, provider, limitSeconds * 1000);
  const to = new Date();
  const workerCpu = processCpuSeconds(worker.proc.pid) - cpu0;
  const pgCpu = bench.db.cpuSeconds() - pg0;
  await stop(worker);
  const statements = bench.db.statements ? await topStatements(fresh.sql) : undefined;
  const done = await processing(fresh.sql, provider, from, to);
  return {
    seconds: (to.getTime() - from.getTime()) / 1000,
    drained,
    processed: done.processed,
    processedPerSec: done.perSecSpan,
    pending: done.pending,
    cpuMsPer1kProcessed: { worker: per1k(workerCpu, done.processed), postgres: per1k(pgCpu, done.processed) },
    effects: await checkEffects(fresh.sql, provider),
    ...(statements ? { statements } : {}),
  };
}
