// Runs the dev tools (src/dev: dev, seed, simulate) as a developer does, each a process of its own.
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");

export interface ToolRun { code: number; stdout: string; stderr: string }

/** `npm run <script> -- args`, with only the given environment (plus PATH and HOME); bounded by `limitMs`. */
export async function runTool(
  script: "seed" | "simulate" | "dev", args: string[], env: Record<string, string>, limitMs = 60_000,
): Promise<ToolRun> {
  const proc = Bun.spawn([process.execPath, `src/dev/${script}.ts`, ...args], {
    cwd: ROOT, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdout: "pipe", stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), limitMs);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** The lines a tool wrote to stderr, for "one line, no stack trace" checks. */
export const errorLines = (run: ToolRun) => run.stderr.trim().split("\n").filter(Boolean);
