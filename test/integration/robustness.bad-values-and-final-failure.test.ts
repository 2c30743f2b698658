import { afterAll, beforeAll, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../src/config";
import { createHarness, type Harness, seedAppointment } from "../support/harness";
import { signedStripeRequest } from "../support/stripe";
import { inboundParams, postSms } from "../support/twilio";

let h: Harness;
beforeAll(async () => { h = await createHarness(); });
afterAll(() => h.close());

test("ids and values beyond what the columns hold are 400, not 500", async () => {
  const huge = await h.api("GET", "/v1/webhook-events/99999999999999999999");
  expect(huge.status).toBe(400);
  const cursor = Buffer.from(JSON.stringify(["99999999999999999999"])).toString("base64url");
  const beyond = await h.api("GET", `/v1/webhook-events?cursor=${cursor}`);
  expect(beyond.status).toBe(400);
  const nul = await h.api("POST", "/v1/clinics", { name: "Nul\u0000Clinic", phone: "+15550008888", timezone: "UTC" });
  expect(nul.status).toBe(400);
  expect((await nul.json()).error.code).toBe("invalid_value");
});

test("an event whose processing fails on its last attempt ends failed with the reason, not pending", async () => {
  const [event] = await h.deps.sql`
    insert into webhook_events (provider, idempotency_key, headers, raw_body, response_status, response_body,
      response_content_type)
    values ('retired-provider', 'k-1', '{}', '{}', 200, '{}', 'application/json') returning id`;
  await h.deps.sql`select graphile_worker.add_job('process-webhook', json_build_object('eventId', ${event!.id}::int),
    max_attempts := 2)`;
  await h.drain();
  let [row] = await h.deps.sql`select status, attempts from webhook_events where id = ${event!.id}`;
  expect(row).toEqual({ status: "pending", attempts: 1 });
  await h.deps.sql`update graphile_worker._private_jobs set run_at = now() where task_id = (select id from
    graphile_worker._private_tasks where identifier = 'process-webhook')`;
  await h.drain();
  [row] = await h.deps.sql`select status, attempts, last_error from webhook_events where id = ${event!.id}`;
  expect(row).toEqual({ status: "failed", attempts: 2, last_error: "no processor for provider retired-provider" });
});

test("a malformed INBOUND_ALLOW_CIDRS stops the start instead of allowing everyone", () => {
  for (const bad of ["1.2.3.4/24x", "10.0.0.0/33", "not-an-ip/8", "10.0.0.0/8/1"]) {
    expect(() => loadConfig({ INBOUND_ALLOW_CIDRS: bad })).toThrow(ConfigError);
  }
  expect(loadConfig({ INBOUND_ALLOW_CIDRS: "10.0.0.0/8, ::1" }).INBOUND_ALLOW_CIDRS).toBe("10.0.0.0/8, ::1");
});

test("an SMS whose body holds a NUL byte is stored and processed, not retried forever", async () => {
  const { clinic, patient } = await seedAppointment(h, { phone: "+15550004444" });
  const sent = await postSms(h, inboundParams(patient.phone, clinic.phone, "hello\u0000there"));
  expect(sent.status).toBe(200);
  await h.drain();
  const [event] = await h.deps.sql`select status from webhook_events where idempotency_key = ${sent.sid}`;
  expect(event!.status).toBe("processed");
  const [message] =
    await h.deps.sql`select content from messages where external_id = ${sent.sid} and type = 'USER_INPUT'`;
  expect(message!.content).toBe("hello\uFFFDthere");
});

test("a clinic on a short code gets its patients' messages; "
  + "nothing signed is refused for its number format", async () => {
  const clinic = await (await h.api(
    "POST", "/v1/clinics",
    { name: "Short Code Clinic", phone: "89123", timezone: "UTC", help_text: "Short code help." },
  )).json() as any;
  expect(clinic.phone).toBe("89123");
  await h.api("POST", "/v1/patients", { clinic_id: clinic.id, name: "P", phone: "+15550005555" });
  const help = await postSms(h, inboundParams("+15550005555", "89123", "help"));
  expect(help.status).toBe(200);
  expect(help.twiml).toBe("<Response><Message>Short code help.</Message></Response>");
  const fromSenderId = await postSms(h, inboundParams("CARRIERMSG", "89123", "Your balance"));
  expect(fromSenderId.status).toBe(200);
  expect((await h.deps.sql`select 1 from webhook_events where idempotency_key = ${fromSenderId.sid}`).length).toBe(1);
});

test("a signed webhook body with a raw NUL byte is 400 and stores nothing (Postgres text cannot hold it)", async () => {
  const before = (await h.deps.sql`select count(*)::int as n from webhook_events`)[0]!.n;
  const res = await h.request(
    "/api/v1/webhooks/stripe/payment-events", await signedStripeRequest('{"id":"evt_nul","type":"x\u0000"}'),
  );
  expect(res.status).toBe(400);
  expect(await res.text()).toBe("Webhook Error: Body contains a NUL byte");
  expect((await h.deps.sql`select count(*)::int as n from webhook_events`)[0]!.n).toBe(before);
});
