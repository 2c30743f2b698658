// Child processes and ports for the end-to-end tests and the benchmark (bench/ imports this too).
import { createServer } from "node:net";
import { resolve } from "node:path";
import type { Subprocess } from "bun";

const ROOT = resolve(import.meta.dir, "../..");

export async function freePort(): Promise<number> {
  return new Promise((done, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    }).on("error", reject);
  });
}

export interface Proc { proc: Subprocess; output: () => string }

/**
 * A child process with only the given environment (plus PATH and HOME); the last 20 kB of its output are kept,
 * and every whole line goes to `onLine` when given.
 */
export function spawnProcess(
  cmd: string[], cwd: string, env: Record<string, string>, onLine?: (line: string) => void,
): Proc {
  let output = "";
  const proc = Bun.spawn(cmd, {
    cwd, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env }, stdout: "pipe", stderr: "pipe",
  });
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    let partial = "";
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      output = (output + text).slice(-20_000);
      if (!onLine) continue;
      const lines = (partial + text).split("\n");
      partial = lines.pop()!;
      for (const line of lines) onLine(line);
    }
  };
  void collect(proc.stdout as ReadableStream<Uint8Array>);
  void collect(proc.stderr as ReadableStream<Uint8Array>);
  return { proc, output: () => output };
}

export interface Started extends Proc { port: number; exited: Promise<number> }

/** Runs `src/main.ts` as `npm start` does, with only the given environment (plus PATH and HOME). */
export function startSwitchboard(env: Record<string, string>, onLine?: (line: string) => void): Started {
  const started = spawnProcess([process.execPath, "src/main.ts"], ROOT, env, onLine);
  return { ...started, port: Number(env.PORT ?? 3000), exited: started.proc.exited };
}

export { waitFor } from "./wait";
