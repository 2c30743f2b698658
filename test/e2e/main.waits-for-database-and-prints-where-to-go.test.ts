import { expect, test } from "bun:test";
import { createTestDatabase } from "../support/db";
import { API_KEY } from "../support/harness";
import { freePort, startSwitchboard, waitFor } from "../support/process";
import { startTcpProxy } from "../support/tcp-proxy";

const PASSWORD = "Sup3rSecretPw";

test("a database that never answers: each attempt is logged, then the process exits non-zero", async () => {
  const closed = await freePort();
  const started = startSwitchboard({
    DATABASE_URL: `postgres://switchboard:${PASSWORD}@127.0.0.1:${closed}/switchboard`,
    DATABASE_START_TIMEOUT_S: "2",
    PORT: String(await freePort()),
  });
  expect(await started.exited).toBe(1);
  const lines = started
    .output()
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const attempts = lines.filter((l) => l.msg === "database not reachable yet; retrying");
  expect(attempts.length).toBeGreaterThanOrEqual(2);
  expect(attempts.map((a) => a.attempt)).toEqual(attempts.map((_, i) => i + 1));
  expect(attempts[0]).toMatchObject({ level: "warn", database: `127.0.0.1:${closed}/switchboard`, retry_in_ms: 500 });
  // Backoff: the second wait is longer than the first (or cut short by the deadline).
  expect(attempts[1]!.retry_in_ms).toBeGreaterThan(0);
  expect(lines.at(-1)).toMatchObject({ level: "error", msg: "database unavailable; giving up" });
  expect(started.output()).not.toContain(PASSWORD);
}, 30_000);

test("a database that comes up late is waited for; the banner says where to go and what is off", async () => {
  const database = await createTestDatabase();
  const url = new URL(database.url);
  const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) });
  await proxy.cut();
  url.port = String(proxy.port);
  const port = await freePort();
  const started = startSwitchboard({
    DATABASE_URL: url.toString(),
    PORT: String(port),
    API_KEY,
    PUBLIC_URL: "https://switchboard.example.test",
    LOG_FORMAT: "json",
  });
  try {
    await waitFor(() => started.output().includes("database not reachable yet"), "a failed attempt", 30_000);
    await proxy.restore();
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200,
      "ready after the database came up",
      60_000,
    );
    // The banner comes once the worker runs too, a moment after the HTTP server answers.
    const line = await waitFor(
      () => started.output().split("\n").find((l) => l.includes('"switchboard started"')),
      "the start-up banner",
      30_000,
    );
    const banner = JSON.parse(line);
    expect(banner).toMatchObject({
      url: `http://localhost:${port}`,
      docs: "https://switchboard.example.test/docs",
      webhooks: {
        "Twilio, A message comes in": "https://switchboard.example.test/v1/clinic/webhooks/twilio/sms",
        "Twilio, Primary handler fails": "https://switchboard.example.test/v1/clinic/webhooks/twilio/sms/fallback",
        "Stripe endpoint URL": "https://switchboard.example.test/api/v1/webhooks/stripe/payment-events",
      },
    });
    expect(banner.off).toContain("email: SMTP_URL unset, emails stay in the outbox (GET /v1/emails) and are logged");
    expect(banner.off).toContain(
      "SMS sending: TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN unset, SMS are recorded but not sent",
    );
    expect(started.output()).toContain('"msg":"database reachable"');
  } finally {
    started.proc.kill("SIGTERM");
    expect(await started.exited).toBe(0);
    await proxy.close();
    await database.drop();
  }
}, 120_000);
