// The load generator: bench/presign.ts writes a cell's signed requests, then wrk (one thread, bench/wrk.lua) sends
// them in order. Each is a child process of its own, so their CPU times are reported apart ("presign", "wrk").
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { SECRETS } from "./processes";
import { childCpuSeconds } from "./support";
import { PATHS, type Provider } from "./workload";

const ROOT = resolve(import.meta.dir, "..");

/** Exits 2 with the install command when wrk is not on PATH (before anything has started). */
export function requireWrk(): string {
  const wrk = Bun.which("wrk");
  if (wrk) return wrk;
  console.error("wrk not found: install it with: apt-get install -y wrk");
  process.exit(2);
}

export interface Signed {
  file: string;
  count: number;
  cpuSeconds: number;
  /** The idempotency key of each request, in sending order. */
  keys: () => string[];
}

export async function presign(provider: Provider, count: number, gap: number, file: string): Promise<Signed> {
  const proc = Bun.spawn([process.execPath, "bench/presign.ts", JSON.stringify({
    provider, count, gap, out: file, stripeSecret: SECRETS.stripe, twilioToken: SECRETS.twilio,
    publicUrl: SECRETS.publicUrl,
  })], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
  if ((await proc.exited) !== 0) throw new Error(`presign failed (${provider}, ${count})`);
  const keys = () => readFileSync(`${file}.keys`, "utf8").split("\n").slice(0, count);
  return { file, count, cpuSeconds: childCpuSeconds(proc), keys };
}

/** What bench/wrk.lua's done() writes, plus wrk's CPU time. Latencies in ms. */
export interface LoadSummary {
  sent: number;
  ok2xx: number;
  non2xx: number;
  distinct: number;
  completed: number;
  durationSeconds: number;
  rate: number;
  connectErrors: number;
  readErrors: number;
  writeErrors: number;
  timeouts: number;
  exhausted: boolean;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  cpuSeconds: number;
}

export const socketErrors = (s: LoadSummary) => s.connectErrors + s.readErrors + s.writeErrors + s.timeouts;

/** Sends `signed` for `seconds` over `connections` (at `rate` per second over all of them when given). */
export async function load(opts: {
  wrk: string; provider: Provider; port: number; signed: Signed; connections: number; seconds: number;
  rate?: number; workDir: string;
}): Promise<LoadSummary> {
  const summaryFile = join(opts.workDir, `wrk-${opts.port}.json`);
  const stripe = opts.provider === "stripe";
  const proc = Bun.spawn([
    opts.wrk, "-t1", `-c${opts.connections}`, `-d${Math.max(1, Math.round(opts.seconds))}s`, "--timeout", "10s",
    "--latency", "-s", join(ROOT, "bench/wrk.lua"), `http://127.0.0.1:${opts.port}`,
  ], {
    env: {
      PATH: process.env.PATH ?? "", BENCH_REQUESTS: opts.signed.file, BENCH_PATH: PATHS[opts.provider],
      BENCH_CONTENT_TYPE: stripe ? "application/json" : "application/x-www-form-urlencoded",
      BENCH_SIGNATURE_HEADER: stripe ? "Stripe-Signature" : "X-Twilio-Signature",
      BENCH_RATE: String(opts.rate ?? 0), BENCH_SUMMARY: summaryFile,
    },
    stdout: "pipe", stderr: "pipe",
  });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  if ((await proc.exited) !== 0) throw new Error(`wrk failed:\n${out}\n${err}`);
  let summary: Omit<LoadSummary, "cpuSeconds">;
  try {
    summary = JSON.parse(readFileSync(summaryFile, "utf8"));
  } catch {
    throw new Error(`wrk wrote no summary:\n${out}\n${err}`);
  }
  return { ...summary, cpuSeconds: childCpuSeconds(proc) };
}
