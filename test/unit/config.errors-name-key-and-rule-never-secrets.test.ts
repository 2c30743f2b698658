import { expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../src/config";

const failure = (env: Record<string, string>): ConfigError => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("the configuration was accepted");
};

test("a bad secret or URL is named with its rule, and its value (or a URL's password) is never printed", () => {
  const secrets = {
    API_KEY: "sk-live-9f8e7d",
    STRIPE_WEBHOOK_SECRET: "short",
    DATABASE_URL: "mysql://admin:S3cretPw@db.internal:3306/app",
    SMTP_URL: "ftp://mailer:MailPw123@smtp.internal",
    TWILIO_AUTH_TOKEN: "tok",
    METRICS_TOKEN: "m-secret",
  };
  const error = failure(secrets);
  for (const value of [...Object.values(secrets), "S3cretPw", "MailPw123", "admin"])
    expect(error.message).not.toContain(value);
  expect(error.problems.map((p) => p.split(":")[0]).sort()).toEqual(Object.keys(secrets).sort());
  expect(error.problems).toContain("API_KEY: must be at least 16 characters");
  expect(error.problems).toContain("DATABASE_URL: must be a postgres:// or postgresql:// URL");
  expect(error.problems).toContain("SMTP_URL: must be an smtp:// or smtps:// URL");
});

test("enumerations and numbers name their allowed values, and echo the bad value", () => {
  const error = failure({ ROLE: "both", PORT: "eighty", LOG_FORMAT: "xml", TRUST_PROXY: "cloudflare" });
  expect(error.problems).toContain('ROLE: must be one of web, worker, all (got "both")');
  expect(error.problems).toContain('PORT: must be an integer from 0 to 65535 (got "eighty")');
  expect(error.problems).toContain('LOG_FORMAT: must be one of pretty, json (got "xml")');
  expect(error.problems).toContain('TRUST_PROXY: must be fly (got "cloudflare")');
});

test("METRICS_PORT must not be the service's own port", () => {
  expect(failure({ PORT: "8080", METRICS_PORT: "8080" }).problems).toEqual(["METRICS_PORT: must differ from PORT"]);
  expect(loadConfig({ PORT: "8080", METRICS_PORT: "9091" }).METRICS_PORT).toBe(9091);
  expect(loadConfig({}).METRICS_PORT).toBeUndefined();
  expect(loadConfig({}).DATABASE_START_TIMEOUT_S).toBe(60);
});
