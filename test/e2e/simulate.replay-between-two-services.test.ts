// `simulate replay`: a webhook stored by one Switchboard ("production") is read through its management API and sent,
// byte for byte, to another ("local", with secrets of its own), re-signed with the local secrets.
import { afterAll, beforeAll, expect, test } from "bun:test";
import postgres from "postgres";
import { createTestDatabase } from "../support/db";
import { errorLines, runTool } from "../support/dev";
import { API_KEY, PUBLIC_URL, STRIPE_SECRET, TWILIO_AUTH_TOKEN } from "../support/harness";
import { freePort, type Started, startSwitchboard } from "../support/process";
import { signedStripeRequest, stripeEvent, paymentIntent } from "../support/stripe";
import { inboundParams, signedTwilioRequest } from "../support/twilio";
import { waitFor } from "../support/wait";

const LOCAL = {
  API_KEY: "local-api-key-0123456789", STRIPE_WEBHOOK_SECRET: "whsec_local_only_secret",
  TWILIO_AUTH_TOKEN: "local_twilio_token_987", PUBLIC_URL: "https://local.example.test",
};
const CLINIC = "+15550177000", PATIENT = "+15550177001";

interface Service { app: Started; url: string; db: Awaited<ReturnType<typeof createTestDatabase>>; sql: postgres.Sql }
let production: Service;
let local: Service;

async function start(env: Record<string, string>): Promise<Service> {
  const db = await createTestDatabase();
  const app = startSwitchboard({ DATABASE_URL: db.url, PORT: String(await freePort()), LOG_LEVEL: "warn", ...env });
  const url = `http://127.0.0.1:${app.port}`;
  await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, "switchboard ready", 60_000);
  return { app, url, db, sql: postgres(db.url, { max: 1, onnotice: () => {} }) };
}

const post = async (s: Service, key: string, path: string, body: unknown) => (await fetch(`${s.url}${path}`, {
  method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
  body: JSON.stringify(body),
})).json() as Promise<any>;

beforeAll(async () => {
  // Production signs with the test suite's secrets; local has its own, so a replay must re-sign.
  [production, local] = await Promise.all([
    start({ API_KEY, STRIPE_WEBHOOK_SECRET: STRIPE_SECRET, TWILIO_AUTH_TOKEN, PUBLIC_URL }),
    start(LOCAL),
  ]);
  // The same clinic number and patient exist locally, so the replayed SMS has someone to answer.
  const clinic = await post(local, LOCAL.API_KEY, "/v1/clinics", {
    name: "Local Clinic", phone: CLINIC, timezone: "America/New_York",
  });
  await post(local, LOCAL.API_KEY, "/v1/patients", { clinic_id: clinic.id, name: "Lou Local", phone: PATIENT });
}, 90_000);
afterAll(async () => {
  for (const s of [production, local]) {
    s.app.proc.kill("SIGTERM");
    await s.app.exited;
    await s.sql.end();
    await s.db.drop();
  }
}, 30_000);

const stored = async (s: Service, key: string) =>
  (await s.sql`select id, status, raw_body, last_error from webhook_events where idempotency_key = ${key}`)[0];
const replay = (id: number, from: string, extra: string[] = []) =>
  runTool("simulate", ["replay", "--event", String(id), "--from", from, "--url", local.url, ...extra], {
    ...LOCAL,
  });

test("an inbound SMS from production is stored locally with the very same body, answered, and processed", async () => {
  const params = inboundParams(PATIENT, CLINIC, "HELP");
  const path = "/v1/clinic/webhooks/twilio/sms";
  expect((await fetch(`${production.url}${path}`, signedTwilioRequest(path, params))).status).toBe(200);
  const original = await waitFor(() => stored(production, params.MessageSid!), "stored in production");

  const run = await replay(original.id, production.url, ["--from-api-key", API_KEY]);
  expect(run.code).toBe(0);
  expect(run.stdout).toContain("← 200 <Response><Message>Local Clinic");
  const copy = await stored(local, params.MessageSid!);
  expect(copy).toMatchObject({ raw_body: original.raw_body, status: "processed" });
  const messages = await local.sql`select type from messages where external_id = ${params.MessageSid!} order by type`;
  expect(messages.map((r) => r.type)).toEqual(["BOT", "USER_INPUT"]);
});

test("a Stripe event is re-signed for the local secret (key in --from URL); its appointment is unknown", async () => {
  const event = stripeEvent("payment_intent.succeeded", paymentIntent("6f1c2b9e-8a3d-4c55-9a7e-2d4f1b0c9e11"));
  const sent = await fetch(`${production.url}/api/v1/webhooks/stripe/payment-events`, await signedStripeRequest(event));
  expect(sent.status).toBe(200);
  const original = await waitFor(() => stored(production, event.id), "stored in production");

  const withKey = new URL(production.url);
  withKey.password = API_KEY;
  const run = await replay(original.id, withKey.toString());
  expect(run.stdout).toContain('← 200 {"received":true}');
  expect(run.stdout).toContain("failed: unknown appointment 6f1c2b9e-8a3d-4c55-9a7e-2d4f1b0c9e11");
  expect(run.code).toBe(1);
  expect(await stored(local, event.id)).toMatchObject({ raw_body: original.raw_body, status: "failed" });
});

test("an unknown event or a wrong key at the source is one line and exit code 2", async () => {
  const missing = await replay(999_999, production.url, ["--from-api-key", API_KEY]);
  expect(missing.code).toBe(2);
  expect(errorLines(missing))
    .toEqual([`error: no webhook event 999999 at ${production.url}: list them with GET /v1/webhook-events`]);
  const refused = await replay(1, production.url, ["--from-api-key", "not-the-production-key"]);
  expect(refused.code).toBe(2);
  expect(errorLines(refused)[0]).toContain(`${production.url} refused the API key`);
});
