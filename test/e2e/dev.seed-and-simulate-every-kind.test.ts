// `npm run dev`, then `seed`, then `simulate` of every kind, each a real process as a developer runs them; the effects
// are checked in the database and at the stand-ins (the JSON page of what the fake Twilio, SMTP sink and receiver got).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { type DevSession, readSession, sessionFile } from "../../src/dev/session";
import { createTestDatabase } from "../support/db";
import { errorLines, runTool } from "../support/dev";
import { freePort, type Proc, spawnProcess } from "../support/process";
import { waitFor } from "../support/wait";

const dataDir = mkdtempSync(join(tmpdir(), "switchboard-dev-"));
chmodSync(dataDir, 0o755);
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let sql: postgres.Sql;
let dev: Proc;
let session: DevSession;
// Given, as `npm start` would take it; the other secrets are left to the dev run to make.
const GIVEN_API_KEY = "given-api-key-0123456789";
// The tools find the service and its secrets only through the dev run's session file under DATA_DIR.
const tool = (script: "seed" | "simulate", args: string[]) => runTool(script, args, { DATA_DIR: dataDir });
const standIns = async (part: "sms" | "emails" | "webhooks") =>
  (await fetch(`${session.stand_ins_url}/${part}`)).json() as Promise<any[]>;
/** The demo appointments by first name: { ada, ben, cleo }. */
const appointmentIds = async () => Object.fromEntries((await sql`
  select p.name, a.id from appointments a join patients p on p.id = a.patient_id`)
  .map((r) => [r.name.split(" ")[0].toLowerCase(), r.id]));

beforeAll(async () => {
  database = await createTestDatabase();
  sql = postgres(database.url, { max: 2, onnotice: () => {} });
  dev = spawnProcess([process.execPath, "src/dev/dev.ts"], join(import.meta.dir, "../.."), {
    DATABASE_URL: database.url, PORT: String(await freePort()), DEV_PORT: String(await freePort()), DATA_DIR: dataDir,
    LOG_LEVEL: "warn", DEV_SMS_STEP_MS: "50", API_KEY: GIVEN_API_KEY,
  });
  session = await waitFor(() => readSession(dataDir), "the dev session", 60_000);
}, 90_000);
afterAll(async () => {
  if (dev.proc.exitCode === null) dev.proc.kill("SIGKILL");
  await sql.end();
  await database.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

test("dev keeps the secrets it is given, makes and prints the others, serves the service and stand-ins", async () => {
  expect(session.api_key).toBe(GIVEN_API_KEY);
  expect(dev.output()).toContain("API_KEY: from your environment");
  expect(dev.output()).not.toContain(GIVEN_API_KEY);
  expect(dev.output()).toContain(`STRIPE_WEBHOOK_SECRET=${session.stripe_webhook_secret}`);
  expect(dev.output()).toContain(`TWILIO_AUTH_TOKEN=${session.twilio_auth_token}`);
  expect(session.twilio_account_sid).toMatch(/^AC[0-9a-f]{32}$/);
  expect(session.public_url).toBe(session.url);
  const ready = await fetch(`${session.url}/v1/clinics`, { headers: { authorization: `Bearer ${session.api_key}` } });
  expect(ready.status).toBe(200);
  expect(await (await fetch(`${session.stand_ins_url}/`)).json()).toMatchObject({ sms: [], emails: [], webhooks: [] });
});

test("seed: a clinic, three patients (one opted out by his STOP), appointments; run twice, adds nothing", async () => {
  const first = await tool("seed", ["--json"]);
  expect(first.code).toBe(0);
  const made = JSON.parse(first.stdout);
  expect(made.clinic).toMatchObject({ created: true, callback_url: `${session.stand_ins_url}/hooks/harbor-dental` });
  expect(made.patients.map((p: any) => [p.name, p.opted_out, p.appointment.status, p.appointment.deposit_amount]))
    .toEqual([
      ["Ada Lovelace", false, "pending", 6000], ["Ben Okafor", true, "pending", 6000],
      ["Cleo Martin", false, "pending", 6000],
    ]);
  const again = await tool("seed", []);
  expect(again.code).toBe(0);
  expect(again.stdout).toContain("already there");
  expect(again.stdout).not.toContain("(created)");
  const [counts] = await sql`select (select count(*)::int from clinics) as clinics,
    (select count(*)::int from patients) as patients, (select count(*)::int from appointments) as appointments,
    (select count(*)::int from webhook_events) as events`;
  expect(counts).toEqual({ clinics: 1, patients: 3, appointments: 3, events: 1 });
  const [stop] = await sql`select raw_body from webhook_events where provider = 'twilio-sms'`;
  expect(Object.fromEntries(new URLSearchParams(stop!.raw_body)))
    .toMatchObject({ Body: "STOP", OptOutType: "STOP", From: "+15550102222" });
});

test("stripe payment_failed: hold and email; then payment_intent.succeeded: confirmation SMS delivered", async () => {
  const { ada } = await appointmentIds();
  const failed = await tool("simulate", ["stripe", "payment_intent.payment_failed", "--appointment", ada]);
  expect(failed.code).toBe(0);
  expect(failed.stdout).toContain('← 200 {"received":true}');
  expect(failed.stdout).toContain(`appointment ${ada}: pending → payment_pending, held until`);
  expect(failed.stdout).toContain('email to ada@example.com "Harbor Dental (demo): payment failed": sent');
  const [held] = await sql`select status, hold_expires_at from appointments where id = ${ada}`;
  expect(held!.status).toBe("payment_pending");
  expect(held!.hold_expires_at).toBeInstanceOf(Date);
  const mail = (await standIns("emails")).find((m) => m.to.includes("ada@example.com"));
  expect(mail.text).toContain("Your payment failed. Please update your card.");
  const [event] = await sql`select raw_body from webhook_events where provider = 'stripe' order by id desc limit 1`;
  const sent = JSON.parse(event!.raw_body);
  expect(sent).toMatchObject({ object: "event", type: "payment_intent.payment_failed", livemode: false });
  expect(sent.data.object).toMatchObject({
    object: "payment_intent", status: "requires_payment_method", amount: 6000, currency: "usd",
    metadata: { booking_id: ada }, last_payment_error: { code: "card_declined", type: "card_error" },
  });

  const paid = await tool("simulate", ["stripe", "payment_intent.succeeded", "--appointment", ada]);
  expect(paid.code).toBe(0);
  expect(paid.stdout).toContain(`appointment ${ada}: payment_pending → confirmed`);
  expect(paid.stdout).toMatch(/SMS to \+15550101111 ".*": queued → sent → delivered/);
  const [sms] = await sql`select status, twilio_sid from sms_messages where appointment_id = ${ada}`;
  expect(sms!.status).toBe("delivered");
  const atTwilio = (await standIns("sms")).find((m) => m.sid === sms!.twilio_sid);
  expect(atTwilio.status_callbacks.map((c: any) => [c.status, c.answer]))
    .toEqual([["queued", 200], ["sent", 200], ["delivered", 200]]);
});

test("charge.refunded twice: a running total on the charge that paid, so $20 then $40 more, then full", async () => {
  const { ada } = await appointmentIds();
  for (const total of ["2000", "6000"]) {
    const run = await tool("simulate", ["stripe", "charge.refunded", "--appointment", ada, "--amount", total]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("email to ada@example.com");
  }
  const refunds = await sql`
    select amount, charge_id from transactions where appointment_id = ${ada} and kind = 'refund' order by created_at`;
  expect(refunds.map((r) => r.amount)).toEqual([2000, 4000]);
  // Both refunds name the charge that paid the deposit in the earlier payment_intent.succeeded.
  const [paid] = await sql`select raw_body from webhook_events
    where raw_body like '%"type": "payment_intent.succeeded"%' and raw_body like ${`%${ada}%`}`;
  const chargeThatPaid = JSON.parse(paid!.raw_body).data.object.latest_charge;
  expect(refunds.map((r) => r.charge_id)).toEqual([chargeThatPaid, chargeThatPaid]);
  const [row] = await sql`select deposit_refund_status, deposit_refunded_amount from appointments where id = ${ada}`;
  expect(row).toEqual({ deposit_refund_status: "full", deposit_refunded_amount: 6000 });
});

test("--repeat 5 --concurrency 3: same answers, one event, one SMS; Cleo's fails 30003, support is told", async () => {
  const { cleo } = await appointmentIds();
  const repeat = ["--repeat", "5", "--concurrency", "3"];
  const run = await tool("simulate", ["stripe", "payment_intent.succeeded", "--appointment", cleo, ...repeat]);
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/← 200 \{"received":true\}  ×5/);
  expect(run.stdout).toContain("undelivered (error 30003)");
  const key = run.stdout.match(/payment_intent\.succeeded (evt_\w+)/)![1]!;
  const events = await sql`select status from webhook_events where idempotency_key = ${key}`;
  expect(events.map((r) => r.status)).toEqual(["processed"]);
  const sms = await sql`select status, error_code from sms_messages where appointment_id = ${cleo}`;
  expect(sms.map((r) => ({ ...r }))).toEqual([{ status: "undelivered", error_code: "30003" }]);
  const alerts = (await standIns("emails")).filter((m) => m.to.includes("support@switchboard.test"));
  expect(alerts.some((m) => /undelivered/i.test(m.subject))).toBe(true);
  expect((await standIns("webhooks")).some((w) => w.event === "sms.failed")).toBe(true);
});

test("sms: CONFIRM gets its reply, a WhatsApp MMS keeps every media, and Twilio's parameters all arrive", async () => {
  const confirm = await tool("simulate", ["sms", "--from", "+15550101111", "--body", "CONFIRM"]);
  expect(confirm.code).toBe(0);
  expect(confirm.stdout).toContain("← 200 <Response/>");
  expect(confirm.stdout).toMatch(/SMS to \+15550101111 "Harbor Dental \(demo\): your .*": queued → sent → delivered/);
  const [reply] = await sql`select body from sms_messages where kind = 'reply' order by created_at desc limit 1`;
  expect(reply!.body).toContain("is confirmed");
  const media = ["https://example.test/card.jpg", "https://example.test/referral.pdf"];
  const mms = await tool("simulate", [
    "sms", "--from", "+15550101111", "--body", "x", "--whatsapp", "--media", ...media,
  ]);
  expect(mms.code).toBe(0);
  const sid = mms.stdout.match(/(MM[0-9a-f]{32})/)![1]!;
  const [row] = await sql`select raw_body from webhook_events where idempotency_key = ${sid}`;
  const params = Object.fromEntries(new URLSearchParams(row!.raw_body));
  expect(params).toMatchObject({
    From: "whatsapp:+15550101111", To: "whatsapp:+15550100100", NumMedia: "2", MediaUrl1: media[1],
    MediaContentType0: "image/jpeg", MediaContentType1: "application/pdf", AccountSid: session.twilio_account_sid,
    ApiVersion: "2010-04-01",
  });
  for (const name of ["MessagingServiceSid", "NumSegments", "SmsMessageSid", "SmsSid", "WaId"]) {
    expect(params[name]).toBeString();
  }
  const [message] = await sql`select channel, media from messages where external_id = ${sid} and type = 'USER_INPUT'`;
  expect(message!.channel).toBe("WHATSAPP");
  expect(message!.media.map((m: any) => m.url)).toEqual(media);
});

test("status: a callback for a sent SMS moves it on (read after delivered) and is kept in its history", async () => {
  const [sms] = await sql`
    select id, twilio_sid from sms_messages where status = 'delivered' order by created_at limit 1`;
  const run = await tool("simulate", ["status", "read", "--sid", sms!.twilio_sid]);
  expect(run.code).toBe(0);
  expect(run.stdout).toContain('← 200 {"status":"received"}');
  expect(run.stdout).toContain("delivered → read");
  expect((await sql`select status from sms_messages where id = ${sms!.id}`)[0]!.status).toBe("read");
});

test("other Stripe types are sent too and stored as ignored", async () => {
  const run = await tool("simulate", ["stripe", "customer.created"]);
  expect(run.code).toBe(0);
  expect(run.stdout).toContain("ignored: unhandled event type customer.created");
});

test("bad input: one line naming the problem and the fix, exit code 2, nothing sent", async () => {
  const [before] = await sql`select count(*)::int as n from webhook_events`;
  const { ada } = await appointmentIds();
  const cases: [string[], RegExp][] = [
    [["stripe", "payment_intent.succeded", "--appointment", ada],
      /unknown Stripe event type .*did you mean payment_intent\.succeeded/],
    [["stripe", "payment_intent.succeeded", "--appointment", "6f1c2b9e-8a3d-4c55-9a7e-2d4f1b0c9e11"],
      /no appointment 6f1c2b9e.*npm run seed/],
    [["sms", "--from", "555-0101", "--body", "hi"], /--from "555-0101" is not a phone number: write it in E\.164/],
    [["stripe", "payment_intent.succeeded", "--appointment", ada, "--url", `http://127.0.0.1:${await freePort()}`],
      /no Switchboard answering at .*connection refused.*npm run dev/],
    [["stripe", "charge.refunded", "--amount", "sixty"], /--amount must be a whole number/],
  ];
  for (const [args, message] of cases) {
    const run = await tool("simulate", args);
    expect({ args, code: run.code }).toEqual({ args, code: 2 });
    expect(errorLines(run)).toHaveLength(1);
    expect(errorLines(run)[0]).toMatch(message);
  }
  const notRunning = await tool("seed", ["--url", `http://127.0.0.1:${await freePort()}`]);
  expect(notRunning.code).toBe(2);
  expect(errorLines(notRunning)).toHaveLength(1);
  expect(errorLines(notRunning)[0]).toMatch(/no Switchboard answering at .*start one with `npm run dev`/);
  const [after] = await sql`select count(*)::int as n from webhook_events`;
  expect(after!.n).toBe(before!.n);
});

test("--help on every command", async () => {
  const commands = [["dev", []], ["seed", []], ["simulate", []], ["simulate", ["stripe"]], ["simulate", ["sms"]],
    ["simulate", ["status"]], ["simulate", ["replay"]]] as const;
  for (const [script, args] of commands) {
    const run = await runTool(script, [...args, "--help"], {});
    expect({ script, args, code: run.code }).toEqual({ script, args, code: 0 });
    expect(run.stdout).toContain("Usage:");
  }
});

test("stopping dev stops the service and the stand-ins with it, and removes its session file", async () => {
  dev.proc.kill("SIGTERM");
  expect(await dev.proc.exited).toBe(0);
  expect(existsSync(sessionFile(dataDir))).toBe(false);
  for (const url of [session.url, session.stand_ins_url]) {
    expect(await fetch(`${url}/`).then(() => "open", () => "closed")).toBe("closed");
  }
}, 30_000);
