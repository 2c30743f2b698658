import { createServer, type Server, type Socket, connect } from "node:net";

/**
 * A TCP proxy on loopback in front of Postgres. `cut()` closes the listener and every open connection,
 * as a crashed or unreachable database would look; `restore()` listens on the same port again.
 * `cutWhenClientSends(text)` cuts at the moment a client sends bytes holding `text` (a given statement in flight).
 */
export async function startTcpProxy(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let trap: { text: string; sprung(): void } | undefined;
  const listen = () => new Promise<void>((resolve, reject) => {
    server = createServer((client) => {
      const upstream = connect(target.port, target.host);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
        s.on("error", () => s.destroy());
      }
      client.on("data", (chunk: Buffer) => {
        if (trap && chunk.includes(trap.text)) { const { sprung } = trap; trap = undefined; void cut().then(sprung); }
      });
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    server.on("error", reject);
    server.listen(port, "127.0.0.1", () => {
      port = (server!.address() as { port: number }).port;
      resolve();
    });
  });
  const cut = () =>
    new Promise<void>((resolve) => { server!.close(() => resolve()); for (const s of sockets) s.destroy(); });
  await listen();
  return {
    get port() { return port; },
    cut,
    cutWhenClientSends: (text: string) => new Promise<void>((sprung) => { trap = { text, sprung }; }),
    restore: listen,
    close: () =>
      new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server?.close(() => resolve()); }),
  };
}
