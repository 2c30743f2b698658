// The server processes a cell runs: the two baselines and Switchboard in its three roles, each a child of its own
// (so that its CPU time is its own), on loopback ports, with only the environment given here.
import { resolve } from "node:path";
import { childCpuSeconds, freePort, type Proc, spawnProcess, waitHttp } from "./support";

const ROOT = resolve(import.meta.dir, "..");
export const SECRETS = {
  stripe: "whsec_bench_secret", twilio: "bench_twilio_auth_token", publicUrl: "https://switchboard.bench.test",
};

/** Switchboard's own tuning (INGEST_*, WORKER_*) passes through to its processes, for experiments. */
const tuning = Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(INGEST|WORKER)_/.test(k))) as
  Record<string, string>;
/** BENCH_PROFILE=<dir> / BENCH_PROFILE_WORKER=<dir>: Bun writes a CPU profile (markdown) of such a process on exit. */
const profile = (dir: string | undefined) => (dir ? ["--cpu-prof-md", `--cpu-prof-dir=${dir}`] : []);

export type Role = "web" | "worker" | "all";
export type Baseline = "plain" | "naive";

export interface Server extends Proc {
  name: string;
  port: number;
}

/**
 * Switchboard as `npm start` runs it, in one role, logging at `info` as it does by default (one line per processing
 * run or send job, none per request). TWILIO_AUTH_TOKEN checks the status callbacks' signatures; no
 * TWILIO_ACCOUNT_SID, so no Twilio client: a queued SMS is recorded `logged` by send-sms and nothing leaves the
 * machine.
 */
export async function switchboard(role: Role, databaseUrl: string): Promise<Server> {
  const port = await freePort();
  const env = {
    ROLE: role, PORT: String(port), DATABASE_URL: databaseUrl, LOG_LEVEL: "info", PUBLIC_URL: SECRETS.publicUrl,
    STRIPE_WEBHOOK_SECRET: SECRETS.stripe, TWILIO_AUTH_TOKEN: SECRETS.twilio, ...tuning,
  };
  const prof = profile(role === "worker" ? process.env.BENCH_PROFILE_WORKER : process.env.BENCH_PROFILE);
  const proc = spawnProcess([process.execPath, ...prof, "src/main.ts"], ROOT, env);
  return { ...proc, name: role, port };
}

/** bench/baseline-server.ts: `plain` (a: one INSERT per request) or `naive` (b: INSERT + add_job per request). */
export async function baseline(mode: Baseline, databaseUrl: string): Promise<Server> {
  const port = await freePort();
  const proc = spawnProcess([process.execPath, "bench/baseline-server.ts"], ROOT, {
    MODE: mode, PORT: String(port), DATABASE_URL: databaseUrl, STRIPE_SECRET: SECRETS.stripe,
    TWILIO_TOKEN: SECRETS.twilio, PUBLIC_URL: SECRETS.publicUrl,
  });
  return { ...proc, name: "server", port };
}

export const ready = (s: Server) => waitHttp(`http://127.0.0.1:${s.port}/healthz`, s);

/** Running children, killed if the benchmark is interrupted. */
export const running = new Set<Server>();

/** SIGTERM (Switchboard drains and exits), SIGKILL after `limitMs`; returns the child's CPU seconds. */
export async function stop(s: Server, limitMs = 20_000): Promise<number> {
  s.proc.kill("SIGTERM");
  const code = await Promise.race([s.proc.exited, Bun.sleep(limitMs).then(() => "timeout" as const)]);
  if (code === "timeout") {
    s.proc.kill("SIGKILL");
    await s.proc.exited;
  }
  running.delete(s);
  return childCpuSeconds(s.proc);
}

export async function started(s: Promise<Server>): Promise<Server> {
  const server = await s;
  running.add(server);
  try {
    await ready(server);
  } catch (error) {
    await stop(server, 2000);
    throw error;
  }
  return server;
}
