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

export interface Started { proc: Subprocess; port: number; output: () => string; exited: Promise<number> }

/** Runs `src/main.ts` as `npm start` does, with only the given environment (plus PATH and HOME). */
export function startSwitchboard(env: Record<string, string>): Started {
  let output = "";
  const proc = Bun.spawn([process.execPath, "src/main.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) output += new TextDecoder().decode(chunk);
  };
  void collect(proc.stdout as ReadableStream<Uint8Array>);
  void collect(proc.stderr as ReadableStream<Uint8Array>);
  return { proc, port: Number(env.PORT ?? 3000), output: () => output, exited: proc.exited };
}

export { waitFor } from "./wait";
