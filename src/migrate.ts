// Fly's release_command: apply migrations once per deploy, before new machines start serving.
import { ConfigError, loadConfig } from "./config";
import { migrate } from "./db";

try {
  const config = loadConfig(process.env);
  if (!config.DATABASE_URL) throw new ConfigError(["DATABASE_URL: required for a standalone migration"]);
  await migrate(config.DATABASE_URL);
  console.log(JSON.stringify({ level: "info", msg: "migrations applied" }));
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : JSON.stringify({ level: "error", msg: "migration failed", error: String(error) }));
  process.exit(1);
}
