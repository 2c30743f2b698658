import { waitFor } from "./wait";
import { createServer, type Server as NetServer } from "node:net";
import { quietLogger as graphileLogger } from "../../src/db";
import { run, type Runner } from "graphile-worker";
import type { Deps } from "../../src/deps";
import { taskList } from "../../src/jobs";
import { createHarness } from "./harness";

export interface Received { at: number; path: string; headers: Record<string, string>; body: string }

/** What the receiver does with the next request: a status (with headers/body), a hang, or a redirect. */
export type Behaviour =
  | { status: number; headers?: Record<string, string>; body?: string; delayMs?: number }
  | { hang: true };

/**
 * A customer's webhook receiver: a real Bun.serve on loopback port 0. `script` answers requests in order
 * (the last entry repeats; `on(path, ...)` scripts one path); `inFlight`/`maxInFlight` count concurrent requests.
 */
export function startReceiver(script: Behaviour[] = [{ status: 200 }]) {
  const received: Received[] = [];
  const hanging: (() => void)[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const pathInFlight = new Map<string, { now: number; max: number }>();
  let plan = [...script];
  const byPath = new Map<string, Behaviour[]>();
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const entry: Received = { at: Date.now(), path: url.pathname, headers: Object.fromEntries(req.headers), body: await req.text() };
      received.push(entry);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const perPath = pathInFlight.get(url.pathname) ?? { now: 0, max: 0 };
      pathInFlight.set(url.pathname, perPath);
      perPath.max = Math.max(perPath.max, ++perPath.now);
      try {
        const queue = byPath.get(url.pathname) ?? plan;
        const next = queue.length > 1 ? queue.shift()! : queue[0]!;
        if ("hang" in next) {
          await new Promise<void>((resolve) => hanging.push(resolve));
          return new Response("too late");
        }
        if (next.delayMs) await Bun.sleep(next.delayMs);
        return new Response(next.body ?? "ok", { status: next.status, headers: next.headers });
      } finally {
        inFlight--;
        perPath.now--;
      }
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    received,
    get maxInFlight() { return maxInFlight; },
    maxInFlightAt: (path: string) => pathInFlight.get(path)?.max ?? 0,
    script(next: Behaviour[]) { plan = [...next]; },
    /** Answers for one path only, in order (the last repeats). */
    on(path: string, next: Behaviour[]) { byPath.set(path, [...next]); },
    at: (path: string) => received.filter((r) => r.path === path),
    async close() {
      for (const release of hanging.splice(0)) release();
      server.stop(true);
    },
  };
}

/** A TCP server that accepts and immediately drops every connection (a receiver that "closes the connection"). */
export async function startDropper(): Promise<{ url: string; connections: () => number; close(): Promise<void> }> {
  let count = 0;
  const server: NetServer = createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, connections: () => count, close: () => new Promise((r) => server.close(() => r())) };
}

/** A real graphile-worker runner over the deps' database (polls fast so scheduled retries run promptly). */
export async function startWorker(deps: Deps, concurrency = 10): Promise<Runner> {
  return run({
    connectionString: deps.databaseUrl, concurrency, pollInterval: 25, noHandleSignals: true,
    taskList: taskList(deps), logger: graphileLogger,
  });
}

export { waitFor };

/** A harness that may call loopback, a receiver, and a real worker running the outbound tasks; close() stops all three. */
export async function startOutboundWorld(env: Record<string, string> = {}) {
  const h = await createHarness({ OUTBOUND_ALLOW_PRIVATE: "true", ...env });
  const receiver = startReceiver();
  const worker = await startWorker(h.deps);
  return {
    h, receiver,
    async close() {
      await worker.stop();
      await receiver.close();
      await h.close();
    },
  };
}
