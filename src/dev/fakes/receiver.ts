// A customer's webhook receiver: the tests' fake and `npm run dev`'s stand-in are this one file.

export interface Received { at: number; path: string; headers: Record<string, string>; body: string }

/** What the receiver does with the next request: a status (with headers/body), or a hang. */
export type Behaviour =
  | { status: number; headers?: Record<string, string>; body?: string; delayMs?: number }
  | { hang: true };

/**
 * A request handler that keeps every request it gets. `script` answers requests in order (the last entry
 * repeats; `on(path, ...)` scripts one path); `maxInFlight`/`maxInFlightAt` count concurrent requests.
 */
export function createReceiver(script: Behaviour[] = [{ status: 200 }]) {
  const received: Received[] = [];
  const hanging: (() => void)[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const pathInFlight = new Map<string, { now: number; max: number }>();
  let plan = [...script];
  const byPath = new Map<string, Behaviour[]>();

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const headers = Object.fromEntries(req.headers);
    received.push({ at: Date.now(), path: url.pathname, headers, body: await req.text() });
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
  }

  return {
    handle,
    received,
    get maxInFlight() { return maxInFlight; },
    maxInFlightAt: (path: string) => pathInFlight.get(path)?.max ?? 0,
    script(next: Behaviour[]) { plan = [...next]; },
    /** Answers for one path only, in order (the last repeats). */
    on(path: string, next: Behaviour[]) { byPath.set(path, [...next]); },
    at: (path: string) => received.filter((r) => r.path === path),
    /** Lets every hanging request finish. */
    release() { for (const resolve of hanging.splice(0)) resolve(); },
  };
}

/** The receiver on its own loopback port (what the tests use). */
export function startReceiver(script: Behaviour[] = [{ status: 200 }]) {
  const receiver = createReceiver(script);
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", idleTimeout: 0, fetch: receiver.handle });
  return {
    url: `http://127.0.0.1:${server.port}`,
    received: receiver.received,
    get maxInFlight() { return receiver.maxInFlight; },
    maxInFlightAt: receiver.maxInFlightAt,
    script: receiver.script,
    on: receiver.on,
    at: receiver.at,
    async close() {
      receiver.release();
      server.stop(true);
    },
  };
}
