import { waitFor } from "./wait";
import { createServer, type Server as NetServer } from "node:net";
import { quietLogger as graphileLogger } from "../../src/db";
import { run, type Runner } from "graphile-worker";
import type { Deps } from "../../src/deps";
import { taskList } from "../../src/jobs";
import { createHarness } from "./harness";
import { startReceiver } from "../../src/dev/fakes/receiver";

// The receiver itself lives with `npm run dev`'s stand-ins: the tests and local development use the same one.
export { type Behaviour, type Received, startReceiver } from "../../src/dev/fakes/receiver";

/** A TCP server that accepts and immediately drops every connection (a receiver that "closes the connection"). */
export async function startDropper(): Promise<{ url: string; connections: () => number; close(): Promise<void> }> {
  let count = 0;
  const server: NetServer = createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`, connections: () => count, close: () => new Promise((r) => server.close(() => r())),
  };
}

/** A real graphile-worker runner over the deps' database (polls fast so scheduled retries run promptly). */
export async function startWorker(deps: Deps, concurrency = 10): Promise<Runner> {
  return run({
    connectionString: deps.databaseUrl, concurrency, pollInterval: 25, noHandleSignals: true,
    taskList: taskList(deps), logger: graphileLogger,
  });
}

export { waitFor };

/**
 * A harness that may call loopback, a receiver, and a real worker running the outbound tasks; close() stops all three.
 */
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
