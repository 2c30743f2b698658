import { expect, test } from "bun:test";
import { loadConfig } from "../../src/config";
import { featuresOff, startupSummary } from "../../src/http/banner";

const full = {
  API_KEY: "k".repeat(16),
  TWILIO_ACCOUNT_SID: `AC${"0".repeat(32)}`,
  TWILIO_AUTH_TOKEN: "t".repeat(16),
  STRIPE_WEBHOOK_SECRET: "whsec_0123456789",
  PUBLIC_URL: "https://hub.example.com/",
  SMTP_URL: "smtp://u:p@mail.example.com:587",
  SUPPORT_EMAIL: "ops@example.com",
  METRICS_PORT: "9091",
};

test("fully configured, nothing is off", () => {
  expect(featuresOff(loadConfig(full))).toEqual([]);
});

test("each missing piece is named with what it turns off", () => {
  const off = featuresOff(loadConfig({}));
  expect(off.map((line) => line.split(":")[0])).toEqual([
    "management API",
    "SMS sending",
    "Twilio webhooks",
    "Stripe webhooks",
    "PUBLIC_URL unset",
    "email",
    "support alerts",
    "metrics",
  ]);
});

test("webhook URLs come from PUBLIC_URL; a worker shows its health and metrics instead", () => {
  const web = startupSummary(loadConfig({ ...full, ROLE: "web" }), { port: 8080, metricsPort: 9091 });
  expect(web).toMatchObject({
    url: "http://localhost:8080",
    docs: "https://hub.example.com/docs",
    metrics: "http://localhost:9091/metrics",
    database: "embedded Postgres in ./.data",
  });
  expect(Object.values(web.webhooks as object)).toEqual([
    "https://hub.example.com/v1/clinic/webhooks/twilio/sms",
    "https://hub.example.com/v1/clinic/webhooks/twilio/sms/fallback",
    "https://hub.example.com/api/v1/webhooks/twilio/sms-status",
    "https://hub.example.com/api/v1/webhooks/stripe/payment-events",
  ]);
  const worker = startupSummary(
    loadConfig({ ROLE: "worker", DATABASE_URL: "postgres://u:secret@db.internal:5433/sb" }),
    { metricsPort: 3000 },
  );
  expect(worker).toMatchObject({
    health: "http://localhost:3000/healthz",
    metrics: "http://localhost:3000/metrics",
    database: "db.internal:5433/sb",
  });
  expect(worker.webhooks).toBeUndefined();
  expect(JSON.stringify(worker)).not.toContain("secret");
});
