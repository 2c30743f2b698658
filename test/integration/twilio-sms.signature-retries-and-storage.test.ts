import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type FakeTwilio, startFakeTwilio } from "../support/fake-twilio";
import {
  createHarness, type Harness, PUBLIC_URL, seedAppointment, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN,
} from "../support/harness";
import { inboundParams, postSms, signedTwilioRequest, uniquePhone } from "../support/twilio";

const PATH = "/v1/clinic/webhooks/twilio/sms";
const FALLBACK = "/v1/clinic/webhooks/twilio/sms/fallback";
const INVALID = "<Response><Message>Invalid request signature</Message></Response>";
const TROUBLE = "<Response><Message>We're experiencing technical difficulties. Please try again later or call our "
  + "office.</Message></Response>";
const AUTO = "<Response><Message>Thank you for your message. We will respond shortly.</Message></Response>";

let h: Harness;
let fake: FakeTwilio;
beforeAll(async () => {
  fake = await startFakeTwilio({ accountSid: TWILIO_ACCOUNT_SID, authToken: TWILIO_AUTH_TOKEN });
  h = await createHarness({ TWILIO_API_URL: fake.url }, { sleep: async () => {} });
});
afterAll(async () => {
  await h.close();
  fake.close();
});

const rows = (q: TemplateStringsArray, ...v: any[]) => h.deps.sql(q, ...v) as Promise<any[]>;
const eventCount = async () => (await rows`select count(*)::int as n from webhook_events`)[0].n as number;
const messagesOf = (sid: string) =>
  rows`select type, content from messages where external_id = ${sid} order by type desc`;
const seed = () => seedAppointment(h, { phone: uniquePhone() });

describe("signature", () => {
  test("missing, wrong-token, other-URL and tampered signatures get 403 TwiML and store nothing", async () => {
    const { clinic, patient } = await seed();
    const params = inboundParams(patient.phone, clinic.phone, "HELP");
    const before = await eventCount();
    const attempts: RequestInit[] = [
      signedTwilioRequest(PATH, params, { signature: null }),
      signedTwilioRequest(PATH, params, { signature: "bm90IGEgc2lnbmF0dXJl" }),
      signedTwilioRequest(PATH, params, { token: "another_auth_token_456" }),
      signedTwilioRequest(PATH, params, { signUrl: `${PUBLIC_URL}/somewhere/else` }),
      signedTwilioRequest(PATH, params, { signUrl: `${PUBLIC_URL}${FALLBACK}` }),
      { ...signedTwilioRequest(PATH, params), body: new URLSearchParams({ ...params, Body: "STOP" }).toString() },
    ];
    for (const init of attempts) {
      const res = await h.request(PATH, init);
      expect(res.status).toBe(403);
      expect(res.headers.get("content-type")).toContain("text/xml");
      expect(await res.text()).toBe(INVALID);
    }
    expect(await eventCount()).toBe(before);
    expect(h.logs.some((l) => l.includes("bad signature"))).toBe(true);
  });

  test("the URL is PUBLIC_URL + path + query exactly as received, with or without the default port", async () => {
    const { clinic, patient } = await seed();
    const query = "?clinic=harbor&note=caf%C3%A9&x=a+b";
    for (const signUrl of [`${PUBLIC_URL}${PATH}${query}`, `${PUBLIC_URL}:443${PATH}${query}`]) {
      const params = inboundParams(patient.phone, clinic.phone, "hello");
      const res = await h.request(`${PATH}${query}`, signedTwilioRequest(PATH, params, { signUrl }));
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(AUTO);
    }
    // Signed without the query that was received: refused.
    const res = await h.request(
      `${PATH}${query}`, signedTwilioRequest(PATH, inboundParams(patient.phone, clinic.phone, "hello")),
    );
    expect(res.status).toBe(403);
  });

  test("a non-ASCII body is verified and stored exactly", async () => {
    const { clinic, patient } = await seed();
    const body = "Café ✓ ¿Puedo cambiar la cita? 予約 🙂";
    const r = await postSms(h, inboundParams(patient.phone, clinic.phone, body));
    expect(r.status).toBe(200);
    await h.drain();
    expect((await messagesOf(r.sid))[0]).toEqual({ type: "USER_INPUT", content: body });
  });
});

describe("malformed requests store nothing", () => {
  test("415 for another content type, 413 beyond 64 KiB, 400 without a MessageSid", async () => {
    const { clinic, patient } = await seed();
    const before = await eventCount();
    const params = inboundParams(patient.phone, clinic.phone, "hi");
    expect((await h.request(PATH, signedTwilioRequest(PATH, params, { contentType: "application/json" }))).status)
      .toBe(415);
    const huge = inboundParams(patient.phone, clinic.phone, "x".repeat(70 * 1024));
    expect((await h.request(PATH, signedTwilioRequest(PATH, huge))).status).toBe(413);
    const { MessageSid: _a, SmsMessageSid: _b, SmsSid: _c, ...noSid } = params;
    expect((await h.request(PATH, signedTwilioRequest(PATH, noSid))).status).toBe(400);
    expect(await eventCount()).toBe(before);
  });
});

describe("retries of the same MessageSid", () => {
  test("a sequential retry gets the first answer and causes nothing twice, even after the state changed", async () => {
    const { clinic, patient } = await seed();
    const params = inboundParams(patient.phone, clinic.phone, "hello");
    const first = await postSms(h, params);
    await postSms(h, inboundParams(patient.phone, clinic.phone, "STOP"));
    const retry = await postSms(h, params);
    expect(retry).toEqual(first);
    expect(first.twiml).toBe(AUTO);
    await h.drain();
    expect(await rows`select 1 from webhook_events where idempotency_key = ${first.sid}`).toHaveLength(1);
    expect(await messagesOf(first.sid)).toEqual([
      { type: "USER_INPUT", content: "hello" },
      { type: "BOT", content: "Thank you for your message. We will respond shortly." },
    ]);
  });

  test("concurrent retries: one event, one effect, one SMS, the same answer to all", async () => {
    const { clinic, patient, appointment } = await seed();
    const params = inboundParams(patient.phone, clinic.phone, "CANCEL");
    const answers = await Promise.all(Array.from({ length: 8 }, () => postSms(h, params)));
    expect(new Set(answers.map((a) => `${a.status} ${a.twiml}`)).size).toBe(1);
    expect(answers[0]!.status).toBe(200);
    const help = inboundParams(patient.phone, clinic.phone, "help");
    const helps = await Promise.all(Array.from({ length: 8 }, () => postSms(h, help)));
    expect(new Set(helps.map((a) => a.twiml)).size).toBe(1);
    expect(helps[0]!.twiml).toContain("for help call");
    await h.drain();
    await h.drain();
    expect(
      await rows`select 1 from webhook_events where idempotency_key in (${params.MessageSid!}, ${help.MessageSid!})`,
    ).toHaveLength(2);
    expect(await rows`select 1 from appointment_history where appointment_id = ${appointment.id}`).toHaveLength(1);
    expect(await rows`select 1 from clinic_events where clinic_id = ${clinic.id}`).toHaveLength(1);
    expect(await rows`select 1 from sms_replies where recipient = ${patient.phone}`).toHaveLength(2);
    expect(fake.messages.filter((m) => m.to === patient.phone)).toHaveLength(1);
    expect((await messagesOf(params.MessageSid!)).map((m) => m.type)).toEqual(["USER_INPUT", "BOT"]);
  });
});

describe("fallback URL", () => {
  test("stored and processed like the original, the ErrorCode recorded and alerted; "
    + "the original's retry is a duplicate", async () => {
    const { clinic, patient, appointment } = await seed();
    const params = inboundParams(
      patient.phone, clinic.phone, "Confirm", { ErrorCode: "11200", ErrorUrl: `${PUBLIC_URL}${PATH}` },
    );
    const viaFallback = await postSms(h, params, FALLBACK);
    expect(viaFallback.status).toBe(200);
    const { ErrorCode: _e, ErrorUrl: _u, ...original } = params;
    const viaPrimary = await postSms(h, original);
    expect(viaPrimary.twiml).toBe(viaFallback.twiml);
    await h.drain();
    expect((await rows`select status from appointments where id = ${appointment.id}`)[0].status).toBe("confirmed");
    const [input] = await rows`select metadata from messages where external_id = ${params.MessageSid!} and type =
      'USER_INPUT'`;
    expect(input.metadata.twilio_error_code).toBe("11200");
    const [alert] = await rows`select "to", subject, status from email_outbox where dedupe_key =
      ${`twilio-fallback:${params.MessageSid}`}`;
    expect(alert.to).toBe("support@switchboard.test");
    expect(alert.subject).toContain("11200");
    expect(fake.messages.filter((m) => m.to === patient.phone)).toHaveLength(1);
  });

  test("after the primary URL stored the message, the fallback gets the same answer and only the alert", async () => {
    const { clinic, patient } = await seed();
    const params = inboundParams(patient.phone, clinic.phone, "HELP");
    const primary = await postSms(h, params);
    const fallback = await postSms(h, { ...params, ErrorCode: "11205", ErrorUrl: `${PUBLIC_URL}${PATH}` }, FALLBACK);
    expect(fallback.twiml).toBe(primary.twiml);
    await h.drain();
    expect(await rows`select 1 from webhook_events where idempotency_key = ${params.MessageSid!}`).toHaveLength(1);
    expect(await messagesOf(params.MessageSid!)).toHaveLength(2);
    const [alert] = await rows`select body from email_outbox where dedupe_key =
      ${`twilio-fallback:${params.MessageSid}`}`;
    expect(alert.body).toContain("already stored");
  });
});

describe("storage failure", () => {
  test("500 with the technical-difficulties TwiML; Twilio's retry is stored once", async () => {
    const { clinic, patient } = await seed();
    const params = inboundParams(patient.phone, clinic.phone, "hello");
    await h.deps.sql`alter table webhook_events rename to webhook_events_away`;
    let failed;
    try {
      failed = await postSms(h, params);
    } finally {
      await h.deps.sql`alter table webhook_events_away rename to webhook_events`;
    }
    expect(failed.status).toBe(500);
    expect(failed.twiml).toBe(TROUBLE);
    expect(await rows`select 1 from sms_replies where inbound_sid = ${params.MessageSid!}`).toHaveLength(0);
    const retry = await postSms(h, params);
    expect(retry.status).toBe(200);
    expect(retry.twiml).toBe(AUTO);
    await h.drain();
    expect(await messagesOf(params.MessageSid!)).toHaveLength(2);
  });
});
