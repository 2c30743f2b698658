import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../src/config";

const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe("config", () => {
  test("defaults give a runnable development config", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 3000, ROLE: "all", OUTBOUND_ALLOW_PRIVATE: false, TWILIO_API_URL: "https://api.twilio.com",
      API_RATE_LIMIT: 600,
    });
  });

  test("one error names every bad key", () => {
    const found = problems({
      PORT: "eighty", ROLE: "both", SMTP_URL: "ftp://mail", DATABASE_URL: "mysql://x", OUTBOUND_ALLOW_PRIVATE: "maybe",
    });
    expect(found.map((p) => p.split(":")[0]).sort())
      .toEqual(["DATABASE_URL", "OUTBOUND_ALLOW_PRIVATE", "PORT", "ROLE", "SMTP_URL"]);
    try {
      loadConfig({ PORT: "eighty", ROLE: "both" });
    } catch (error) {
      expect((error as Error).message).toContain("PORT");
      expect((error as Error).message).toContain("ROLE");
    }
  });

  test("production requires the secrets and an https PUBLIC_URL", () => {
    const found = problems({ NODE_ENV: "production", PUBLIC_URL: "http://switchboard.example.com" });
    expect(found.map((p) => p.split(":")[0]).sort()).toEqual([
      "API_KEY", "DATABASE_URL", "PUBLIC_URL", "STRIPE_WEBHOOK_SECRET", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",
    ]);
    expect(found.find((p) => p.startsWith("PUBLIC_URL"))).toContain("https");
  });

  test("numbers and flags are converted", () => {
    const config = loadConfig({ PORT: "8080", OUTBOUND_ALLOW_PRIVATE: "true", WORKER_CONCURRENCY: "4" });
    expect([config.PORT, config.OUTBOUND_ALLOW_PRIVATE, config.WORKER_CONCURRENCY]).toEqual([8080, true, 4]);
  });
});

test("worker and outbound limits that would defeat their purpose are refused", () => {
  expect(problems({ WORKER_HEARTBEAT_INTERVAL_MS: "10000", WORKER_STALE_AFTER_MS: "20000" }))
    .toEqual(["WORKER_STALE_AFTER_MS: must be at least 3 × WORKER_HEARTBEAT_INTERVAL_MS"]);
  expect(problems({ OUTBOUND_MAX_IN_FLIGHT: "40", OUTBOUND_CONCURRENCY: "40" }))
    .toEqual(["OUTBOUND_MAX_IN_FLIGHT: must be below OUTBOUND_CONCURRENCY"]);
  expect(problems({ OUTBOUND_MAX_IN_FLIGHT: "10", OUTBOUND_CONCURRENCY: "40" })).toEqual([]);
});
