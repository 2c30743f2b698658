import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { replies, UNKNOWN_NUMBER_REPLY } from "../../src/domain/sms-commands";
import { reconcileDue } from "../../src/reconcile/run";
import { type FakeTwilio, startFakeTwilio } from "../support/fake-twilio";
import {
  createHarness, type Harness, seedAppointment, testClock, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN,
} from "../support/harness";
import { inboundParams, postSms, uniquePhone } from "../support/twilio";

const MINUTE = 60_000;
let h: Harness;
let fake: FakeTwilio;
const clock = testClock();
beforeAll(async () => {
  fake = await startFakeTwilio({ accountSid: TWILIO_ACCOUNT_SID, authToken: TWILIO_AUTH_TOKEN });
  h = await createHarness({ TWILIO_API_URL: fake.url }, { sleep: async () => {}, clock });
});
afterAll(async () => {
  await h.close();
  fake.close();
});

const rows = (q: TemplateStringsArray, ...v: any[]) => h.deps.sql(q, ...v) as Promise<any[]>;
const repliesTo = (phone: string) => fake.messages.filter((m) => m.to === phone && m.direction !== "inbound");
const listsOf = (number: string) =>
  fake.reads.filter((r) => r.includes("/Messages.json") && r.includes(encodeURIComponent(number))).length;
/** A reconciliation run a few minutes after the messages arrived (past RECONCILE_GRACE_MINUTES). */
async function reconcileLater(minutes = 3) {
  clock.advance(minutes * MINUTE);
  const reports = await reconcileDue(h.deps, "twilio-sms");
  await h.drain();
  return reports;
}
async function seed() {
  const seeded = await seedAppointment(h, { phone: uniquePhone() });
  // Messages come after the clinic was added (its created_at is the database's clock; a first run starts there).
  const added = Date.parse(seeded.clinic.created_at) + 1000;
  if (clock.now().getTime() < added) clock.set(new Date(added));
  // Twilio received it at the harness's time (the clock runs ahead of the wall clock in this file).
  const lost = (body: string, extra: { media?: { contentType: string }[]; at?: Date } = {}) =>
    fake.receive({ from: seeded.patient.phone, to: seeded.clinic.phone, body, at: clock.now(), ...extra });
  return { ...seeded, lost };
}

describe("an inbound SMS whose webhook never reached Switchboard", () => {
  test("is found in Twilio's list, stored, answered by SMS once; the late webhook changes nothing", async () => {
    const { clinic, patient, lost } = await seed();
    const message = lost("HELP");
    const reports = await reconcileLater();
    const mine = reports.find((r) => r.number === clinic.phone)!;
    expect(mine).toMatchObject({ outcome: "complete", checked: 1 });
    expect(mine.found.map((f) => f.key)).toEqual([message.sid]);

    const [event] = await rows`select source, source_note, status, response_body from webhook_events
      where idempotency_key = ${message.sid}`;
    expect(event).toMatchObject({ source: "reconcile", status: "processed", response_body: "<Response/>" });
    expect(event.source_note).toContain(`found in Twilio's Messages list for ${clinic.phone}`);
    const raw = await (await h.api("GET", `/v1/webhook-events/${mine.found[0]!.eventId}/raw`)).json() as any;
    const params = { MessageSid: message.sid, Body: "HELP" };
    expect(raw).toMatchObject({ path: "/v1/clinic/webhooks/twilio/sms", params });
    const help = replies.help({ ...clinic, autoReply: null, helpText: null });
    expect(repliesTo(patient.phone).map((m) => m.body)).toEqual([help]);
    const [sent] = await rows`select kind, status from sms_messages where dedupe_key = ${`reply:${message.sid}`}`;
    expect(sent).toMatchObject({ kind: "reply", status: "queued" });
    const conversation = await rows`select m.type, m.content, m.status, m.metadata->>'via' as via from messages m
      join conversations c on c.id = m.conversation_id where c.patient_id = ${patient.id}
      order by m.created_at, m.type = 'BOT'`;
    expect(conversation).toEqual([
      { type: "USER_INPUT", content: "HELP", status: "received", via: null },
      { type: "BOT", content: help, status: "queued", via: "sms" },
    ]);

    // Twilio's webhook finally comes through: it gets the stored (empty) answer, so no second reply.
    const late = await postSms(h, inboundParams(patient.phone, clinic.phone, "HELP", { MessageSid: message.sid }));
    expect(late).toMatchObject({ status: 200, twiml: "<Response/>" });
    await h.drain();
    // The next run lists it again (overlap) and finds it stored.
    const again = (await reconcileLater(10)).find((r) => r.number === clinic.phone)!;
    expect(again).toMatchObject({ outcome: "complete", checked: 1, found: [] });
    expect(repliesTo(patient.phone)).toHaveLength(1);
    expect(await rows`select 1 from webhook_events where idempotency_key = ${message.sid}`).toHaveLength(1);
    expect(await rows`select 1 from messages where external_id = ${message.sid}`).toHaveLength(2);
  });

  test("a webhook that did arrive is not stored again or answered twice", async () => {
    const { clinic, patient } = await seed();
    const delivered = await postSms(h, inboundParams(patient.phone, clinic.phone, "hello"));
    expect(delivered.twiml).toContain("Thank you for your message");
    fake.receive({ from: patient.phone, to: clinic.phone, body: "hello", at: clock.now() }).sid = delivered.sid;
    const mine = (await reconcileLater()).find((r) => r.number === clinic.phone)!;
    expect(mine).toMatchObject({ outcome: "complete", checked: 1, found: [] });
    expect(repliesTo(patient.phone)).toHaveLength(0);
  });

  test("CONFIRM is applied and answered by SMS once; STOP opts out unanswered; nothing is sent after", async () => {
    const { clinic, patient, appointment, lost } = await seed();
    lost("CONFIRM");
    await reconcileLater();
    expect((await rows`select status from appointments where id = ${appointment.id}`)[0].status).toBe("confirmed");
    expect(repliesTo(patient.phone).map((m) => m.body)).toEqual([
      replies.confirmed({ ...clinic, autoReply: null, helpText: null }, new Date(appointment.starts_at)),
    ]);

    clock.advance(MINUTE);
    lost("STOP");
    clock.advance(MINUTE);
    lost("HELP");
    await reconcileLater();
    expect((await rows`select opted_out from patients where id = ${patient.id}`)[0].opted_out).toBe(true);
    expect(repliesTo(patient.phone)).toHaveLength(1);
  });

  test("an unknown sender gets the unknown-number reply by SMS; a number no clinic uses is not listed", async () => {
    const { clinic } = await seed();
    const stranger = uniquePhone();
    fake.receive({ from: stranger, to: clinic.phone, body: "hi", at: clock.now() });
    fake.receive({ from: stranger, to: "+15550009999", body: "hi", at: clock.now() });
    await reconcileLater();
    expect(repliesTo(stranger).map((m) => m.body)).toEqual([UNKNOWN_NUMBER_REPLY]);
    const [sms] = await rows`select patient_id, "from" from sms_messages where "to" = ${stranger}`;
    expect(sms).toEqual({ patient_id: null, from: clinic.phone });
    expect(listsOf("+15550009999")).toBe(0);
  });

  test("the loop guard holds: of 7 found messages from one number, 5 are answered", async () => {
    const { patient, lost } = await seed();
    for (let i = 0; i < 7; i++) lost(`are you there ${i}`, { at: new Date(clock.now().getTime() + i * 1000) });
    await reconcileLater();
    expect(repliesTo(patient.phone)).toHaveLength(5);
    const held = await rows`select via from sms_replies where recipient = ${patient.phone} and via = 'suppressed'`;
    expect(held).toHaveLength(2);
  });

  test("an MMS keeps its media", async () => {
    const { patient, lost } = await seed();
    const message = lost("", { media: [{ contentType: "image/jpeg" }, { contentType: "application/pdf" }] });
    await reconcileLater();
    const [stored] = await rows`select m.content_type, m.media from messages m
      join conversations c on c.id = m.conversation_id where c.patient_id = ${patient.id} and m.type = 'USER_INPUT'`;
    expect(stored.content_type).toBe("IMAGE");
    expect(stored.media).toHaveLength(2);
    expect(stored.media[1]).toEqual({
      url: expect.stringMatching(new RegExp(
        `^https://api\\.twilio\\.com/2010-04-01/Accounts/${TWILIO_ACCOUNT_SID}/Messages/${message.sid}/Media/ME\\w+$`,
      )),
      contentType: "application/pdf",
    });
  });
});
