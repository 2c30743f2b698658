// Fly's release_command: apply migrations once per deploy, before new machines start serving.
import { ConfigError, loadConfig } from "./config";
import { DatabaseUnavailable, migrate, waitForDatabase } from "./db";
import { createLogger, logFormat } from "./log";

try {
  const config = loadConfig(process.env);
  if (!config.DATABASE_URL) throw new ConfigError(["DATABASE_URL: required for a standalone migration"]);
  const format = logFormat(config.LOG_FORMAT);
  const log = createLogger(config.LOG_LEVEL, { service: "switchboard", role: "migrate" }, undefined, format);
  // A deploy may start the database and the release machine together: wait for it like `npm start` does.
  await waitForDatabase(config.DATABASE_URL, { timeoutMs: config.DATABASE_START_TIMEOUT_S * 1000, log });
  await migrate(config.DATABASE_URL);
  log.info("migrations applied");
} catch (error) {
  const message = error instanceof ConfigError || error instanceof DatabaseUnavailable ? error.message : String(error);
  console.error(JSON.stringify({ level: "error", msg: "migration failed", error: message }));
  process.exit(1);
}
