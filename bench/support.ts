import { readdirSync, readFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import type { Subprocess } from "bun";
import { freePort, type Proc, spawnProcess } from "../test/support/process";

export { freePort, type Proc, spawnProcess };

/** Polls `url` until it answers 200 (bounded: 60 s). */
export async function waitHttp(url: string, p: Proc): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (p.proc.exitCode !== null) throw new Error(`server exited early:\n${p.output()}`);
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {}
    await Bun.sleep(100);
  }
  throw new Error(`server did not come up: ${url}\n${p.output()}`);
}

export function machine() {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model ?? "unknown",
    memoryGb: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    loadAverage: loadavg().map((n) => Number(n.toFixed(2))),
  };
}

/**
 * CPU seconds used so far by the Postgres whose data directory is `dataDir`: its postmaster and children
 * (including exited backends, which the postmaster has reaped into its children's time).
 */
export function postgresCpuSeconds(dataDir: string): number {
  const procs = readdirSync("/proc").filter((d) => /^\d+$/.test(d)).flatMap((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // After pid and comm: state, ppid, ... utime(11), stime(12), cutime(13), cstime(14), counted from 0.
      const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
      return [{ pid, ppid: fields[1], ticks, cmd: readFileSync(`/proc/${pid}/cmdline`, "utf8") }];
    } catch {
      return [];
    }
  });
  const postmaster = procs.find((p) => p.cmd.includes(dataDir) && p.cmd.split("\0")[0]!.endsWith("postgres"));
  if (!postmaster) return NaN;
  return procs.filter((p) => p === postmaster || p.ppid === postmaster.pid).reduce((sum, p) => sum + p.ticks, 0) / 100;
}

/** User + system CPU seconds of a running process (its own threads, not its children), from /proc. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** User + system CPU seconds of an exited child. */
export const childCpuSeconds = (proc: Subprocess) => {
  const usage = proc.resourceUsage();
  return usage ? Number(usage.cpuTime.total) / 1e6 : NaN;
};
