import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { formatWhen } from "../../src/domain/time";
import { queueSms } from "../../src/effects/sms";
import { type FakeTwilio, startFakeTwilio } from "../support/fake-twilio";
import {
  createHarness, type Harness, seedAppointment, testClock, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN,
} from "../support/harness";
import { inboundParams, postSms, uniquePhone } from "../support/twilio";

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
const empty = "<Response/>";
const said = (text: string) =>
  `<Response><Message>${text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")}</Message></Response>`;

async function seed(opts: { clinic?: Record<string, unknown>; startsAt?: Date } = {}) {
  const seeded = await seedAppointment(h, { phone: uniquePhone(), startsAt: opts.startsAt });
  if (opts.clinic) {
    const set = Object.entries(opts.clinic)
      .map(([k, v]) => h.deps.sql`update clinics set ${h.deps.sql({ [k]: v })} where id = ${seeded.clinic.id}`);
    await Promise.all(set);
    Object.assign(seeded.clinic, opts.clinic);
  }
  const text = (body: string, extra: Record<string, string> = {}) =>
    postSms(h, inboundParams(seeded.patient.phone, seeded.clinic.phone, body, extra));
  return { ...seeded, text };
}

const conversation = (patientId: string) => rows`
  select m.type, m.content, m.content_type, m.channel, m.status, m.media, m.external_id, m.metadata
  from messages m join conversations c on c.id = m.conversation_id
  where c.patient_id = ${patientId} order by m.created_at, m.type = 'BOT'`;
const appointmentOf = async (id: string) => (await rows`select * from appointments where id = ${id}`)[0];
const patientOf = async (id: string) => (await rows`select * from patients where id = ${id}`)[0];
const sentTo = (phone: string) => fake.messages.filter((m) => m.to === phone);

describe("who is texting", () => {
  test("an unknown number gets the unknown-number reply and nothing else happens", async () => {
    const { clinic } = await seed();
    const stranger = uniquePhone();
    const r = await postSms(h, inboundParams(stranger, clinic.phone, "CONFIRM"));
    expect(r.status).toBe(200);
    expect(r.contentType).toContain("text/xml");
    expect(r.twiml).toBe(said("We don't recognize this phone number. Please contact our office directly."));
    await h.drain();
    const [event] = await rows`select status, last_error from webhook_events where idempotency_key = ${r.sid}`;
    expect(event.status).toBe("ignored");
    expect(await rows`select 1 from patients where phone = ${stranger}`).toHaveLength(0);
    expect(sentTo(stranger)).toHaveLength(0);
  });

  test("a number no clinic uses (unknown To) is stored, answered with an empty TwiML and ignored", async () => {
    const { patient } = await seed();
    const r = await postSms(h, inboundParams(patient.phone, "+15550000000", "HELP"));
    expect(r.status).toBe(200);
    expect(r.twiml).toBe(empty);
    await h.drain();
    const [event] = await rows`select status, last_error from webhook_events where idempotency_key = ${r.sid}`;
    expect(event).toEqual({ status: "ignored", last_error: "no clinic uses the number +15550000000" });
  });
});

describe("HELP and everything else", () => {
  test("HELP / info, in any case and with punctuation, answers with the clinic's help text", async () => {
    const { clinic, patient, text } = await seed();
    for (const body of ["HELP", "help", "HeLp!", "  info?? "]) {
      const r = await text(body);
      expect(r.twiml).toContain(`${clinic.name}: for help call ${clinic.phone}`);
      expect(r.twiml).toContain("Reply STOP to opt out");
    }
    await h.drain();
    const messages = await conversation(patient.id);
    expect(messages.map((m) => [m.type, m.channel])).toEqual([
      ["USER_INPUT", "SMS"], ["BOT", "SMS"], ["USER_INPUT", "SMS"], ["BOT", "SMS"],
      ["USER_INPUT", "SMS"], ["BOT", "SMS"], ["USER_INPUT", "SMS"], ["BOT", "SMS"],
    ]);
    expect(messages[1].content).toContain("for help call");
    expect(messages[1].metadata.via).toBe("twiml");
    // A TwiML reply goes back in the answer: nothing is sent through the REST API.
    expect(sentTo(patient.phone)).toHaveLength(0);
  });

  test("a clinic's own help text and auto-reply replace the defaults", async () => {
    const { text } = await seed(
      { clinic: { help_text: "Call Harbor at 555-0100 <24/7>. STOP to opt out.", auto_reply: "Got it & thanks!" } },
    );
    expect((await text("help")).twiml).toBe(said("Call Harbor at 555-0100 <24/7>. STOP to opt out."));
    expect((await text("Can I bring my dog?")).twiml).toBe(said("Got it & thanks!"));
  });

  test("anything else gets the default auto-reply and is stored as the patient's message", async () => {
    const { patient, text } = await seed();
    const r = await text("Is there parking nearby? 🚗 Ünïcödé");
    expect(r.twiml).toBe(said("Thank you for your message. We will respond shortly."));
    await h.drain();
    const [input, bot] = await conversation(patient.id);
    expect(input).toMatchObject({
      type: "USER_INPUT", content: "Is there parking nearby? 🚗 Ünïcödé", content_type: "TEXT", status: "received",
      external_id: r.sid,
    });
    expect(bot).toMatchObject(
      { type: "BOT", content: "Thank you for your message. We will respond shortly.", external_id: r.sid },
    );
  });
});

describe("appointment commands", () => {
  test("CONFIRM confirms the next appointment and replies by SMS with its date and "
    + "time in the clinic's zone", async () => {
    const later = new Date(Date.now() + 9 * 86_400_000);
    const { clinic, patient, appointment, text } = await seed({ clinic: { timezone: "Asia/Tokyo" } });
    await h.api("POST", "/v1/appointments", { patient_id: patient.id, starts_at: later.toISOString() });
    const r = await text("Confirm.");
    expect(r.twiml).toBe(empty);
    await h.drain();
    expect((await appointmentOf(appointment.id)).status).toBe("confirmed");
    const history = await rows`select cause_type, cause_id, to_status from appointment_history where appointment_id =
      ${appointment.id}`;
    expect(history).toEqual([{ cause_type: "sms", cause_id: r.sid, to_status: "confirmed" }]);
    const expected = `${clinic.name}: your appointment on ${formatWhen(new Date(appointment.starts_at), "Asia/Tokyo")} `
      + `is confirmed. See you then!`;
    const [sms] = sentTo(patient.phone);
    expect(sms!.body).toBe(expected);
    expect(sms!.from).toBe(clinic.phone);
    expect(sms!.status_callback).toBe("https://switchboard.example.test/api/v1/webhooks/twilio/sms-status");
    const [row] = await rows`select status, twilio_sid, kind from sms_messages where patient_id = ${patient.id}`;
    expect(row).toEqual({ status: "queued", twilio_sid: sms!.sid, kind: "reply" });
    const bot = (await conversation(patient.id)).find((m) => m.type === "BOT");
    expect(bot).toMatchObject({ content: expected, status: "queued" });
  });

  test("CONFIRM without an upcoming appointment says so", async () => {
    const { patient, appointment, text } = await seed();
    await h.api("PATCH", `/v1/appointments/${appointment.id}`, { status: "cancelled" });
    await text("CONFIRM");
    await h.drain();
    expect(sentTo(patient.phone).map((m) => m.body))
      .toEqual([expect.stringContaining("you have no upcoming appointment")]);
  });

  test("CANCEL marks cancellation_requested, "
    + "notifies the clinic by email and callback event, and acknowledges", async () => {
    const { clinic, patient, appointment, text } = await seed();
    const r = await text("cancel please, I'm sick");
    expect(r.twiml).toBe(empty);
    await h.drain();
    expect((await appointmentOf(appointment.id)).status).toBe("cancellation_requested");
    const [email] = await rows`select "to", subject, body from email_outbox where dedupe_key =
      ${`sms-request:${r.sid}`}`;
    expect(email.to).toBe(clinic.email);
    expect(email.subject).toContain("asks to cancel");
    const [event] = await rows`select type, data from clinic_events where clinic_id = ${clinic.id}`;
    expect(event.type).toBe("appointment.cancellation_requested");
    expect(event.data).toMatchObject({ appointment_id: appointment.id, patient_id: patient.id, message_sid: r.sid });
    expect(sentTo(patient.phone).map((m) => m.body))
      .toEqual([expect.stringContaining("we received your request to cancel")]);
    expect((await patientOf(patient.id)).opted_out).toBe(false);
  });

  test("CANCEL flagged OptOutType=STOP also opts the patient out, so no acknowledgement is sent", async () => {
    const { clinic, patient, appointment, text } = await seed();
    const r = await text("CANCEL", { OptOutType: "STOP" });
    expect(r.twiml).toBe(empty);
    const after = await patientOf(patient.id);
    expect(after).toMatchObject({ opted_out: true, opt_out_type: "STOP" });
    await h.drain();
    expect((await appointmentOf(appointment.id)).status).toBe("cancellation_requested");
    expect(await rows`select 1 from clinic_events where clinic_id = ${clinic.id}`).toHaveLength(1);
    expect(sentTo(patient.phone)).toHaveLength(0);
    expect((await conversation(patient.id)).map((m) => m.type)).toEqual(["USER_INPUT"]);
  });

  test("RESCHEDULE marks reschedule_requested, notifies the clinic and acknowledges", async () => {
    const { clinic, patient, appointment, text } = await seed();
    await text("Reschedule");
    await h.drain();
    expect((await appointmentOf(appointment.id)).status).toBe("reschedule_requested");
    const [event] = await rows`select type from clinic_events where clinic_id = ${clinic.id}`;
    expect(event.type).toBe("appointment.reschedule_requested");
    expect(
      await rows`select 1 from email_outbox where "to" = ${clinic.email} and kind = 'reschedule_request'`,
    ).not.toHaveLength(0);
    expect(sentTo(patient.phone).map((m) => m.body)).toEqual([expect.stringContaining("request to reschedule")]);
  });
});

describe("opt-out and opt-in", () => {
  test("STOP records the opt-out with no reply; START records the opt-in and replies", async () => {
    const { patient, text } = await seed();
    for (const body of ["STOP", "stop", "Unsubscribe!", "end.", "quit", "REVOKE", "optout", "stopall"]) {
      expect((await text(body)).twiml).toBe(empty);
    }
    expect(await patientOf(patient.id)).toMatchObject({ opted_out: true, opt_out_type: "STOP" });
    // While opted out: stored, never answered.
    expect((await text("HELP")).twiml).toBe(empty);
    expect((await text("hello?")).twiml).toBe(empty);
    const start = await text("Start");
    expect(start.twiml).toContain("you are re-subscribed");
    expect((await patientOf(patient.id)).opted_out).toBe(false);
    expect((await text("help")).twiml).toContain("for help call");
    await h.drain();
    const messages = await conversation(patient.id);
    expect(messages.filter((m) => m.type === "USER_INPUT")).toHaveLength(12);
    expect(messages.filter((m) => m.type === "BOT").map((m) => m.content)).toEqual([
      expect.stringContaining("re-subscribed"), expect.stringContaining("for help call"),
    ]);
  });

  test("UNSTOP and YES opt back in too; Twilio's OptOutType is what gets recorded", async () => {
    const { patient, text } = await seed();
    await text("ARRET", { OptOutType: "STOP" });
    expect(await patientOf(patient.id)).toMatchObject({ opted_out: true, opt_out_type: "STOP" });
    expect((await text("unstop")).twiml).toContain("re-subscribed");
    await text("quit");
    expect((await text("YES")).twiml).toContain("re-subscribed");
    expect((await patientOf(patient.id)).opted_out).toBe(false);
  });

  test("START, UNSTOP or YES from a patient who never opted out: nothing changes, and the reply says so", async () => {
    const { clinic, patient, text } = await seed();
    const already = said(`${clinic.name}: you are already subscribed to messages from us. Reply STOP to opt out.`);
    const autoReply = said("Thank you for your message. We will respond shortly.");
    expect((await text("START")).twiml).toBe(already);
    expect((await text("unstop!")).twiml).toBe(already);
    expect((await text("START", { OptOutType: "START" })).twiml).toBe(already);
    // YES is also an everyday answer: from a subscribed patient it is a message for the clinic, whether or not
    // Twilio's Advanced Opt-Out flagged it as an opt-in.
    expect((await text("Yes, see you then")).twiml).toBe(autoReply);
    expect((await text("YES", { OptOutType: "START" })).twiml).toBe(autoReply);
    expect(await patientOf(patient.id)).toMatchObject({ opted_out: false, opted_out_at: null });
    await h.drain();
    const bot = (await conversation(patient.id)).filter((m) => m.type === "BOT").map((m) => m.content);
    expect(bot).toHaveLength(5);
    expect(bot.some((b) => b.includes("re-subscribed"))).toBe(false);
  });

  test("an SMS queued before the opt-out is not sent; "
    + "a command's reply is not sent to an opted-out patient", async () => {
    const { clinic, patient, text } = await seed();
    const dbPatient = await patientOf(patient.id);
    await h.deps.db.transaction((tx) => queueSms(tx, {
      dedupeKey: `test-before-stop:${patient.id}`, kind: "reminder", clinic,
      patient: { id: patient.id, phone: patient.phone, optedOut: dbPatient.opted_out },
      body: "Reminder: your appointment is tomorrow.",
    }));
    await text("CONFIRM");
    await text("STOP");
    await h.drain();
    expect(sentTo(patient.phone)).toHaveLength(0);
    const [queued] = await rows`select status from sms_messages where dedupe_key = ${`test-before-stop:${patient.id}`}`;
    expect(queued.status).toBe("skipped_opted_out");
  });
});

describe("channels and media", () => {
  test("WhatsApp: matched on the number after the prefix, stored as WHATSAPP, answered on WhatsApp", async () => {
    const { clinic, patient } = await seed();
    const wa = (n: string) => `whatsapp:${n}`;
    const hello = await postSms(h, inboundParams(wa(patient.phone), wa(clinic.phone), "hi there"));
    expect(hello.twiml).toBe(said("Thank you for your message. We will respond shortly."));
    await postSms(h, inboundParams(wa(patient.phone), wa(clinic.phone), "confirm"));
    await h.drain();
    const messages = await conversation(patient.id);
    expect(new Set(messages.map((m) => m.channel))).toEqual(new Set(["WHATSAPP"]));
    const [sent] = fake.messages.filter((m) => m.to === wa(patient.phone));
    expect(sent!.from).toBe(wa(clinic.phone));
    expect(sent!.body).toContain("is confirmed");
  });

  test("every media item of an MMS is kept; the content type comes from the first", async () => {
    const { patient, text } = await seed();
    const media = {
      NumMedia: "3",
      MediaUrl0: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME0",
      MediaContentType0: "image/jpeg",
      MediaUrl1: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
      MediaContentType1: "application/pdf",
      MediaUrl2: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2",
      MediaContentType2: "audio/amr",
    };
    await text("my insurance card", media);
    await h.drain();
    const [input] = await conversation(patient.id);
    expect(input.content_type).toBe("IMAGE");
    expect(input.media).toEqual([
      { url: media.MediaUrl0, contentType: "image/jpeg" },
      { url: media.MediaUrl1, contentType: "application/pdf" },
      { url: media.MediaUrl2, contentType: "audio/amr" },
    ]);
  });
});

describe("auto-reply loop guard", () => {
  test("at most 5 automatic replies to one number in 10 minutes; every message is still stored", async () => {
    const { patient, text } = await seed();
    const answers = [];
    for (let i = 0; i < 7; i++) answers.push((await text(i % 2 ? "HELP" : `auto-reply ${i}`)).twiml);
    expect(answers.filter((a) => a !== empty)).toHaveLength(5);
    expect(answers.slice(5)).toEqual([empty, empty]);
    // Commands answered by the worker count too and are held back the same way.
    await text("CONFIRM");
    await h.drain();
    expect(sentTo(patient.phone)).toHaveLength(0);
    const messages = await conversation(patient.id);
    expect(messages.filter((m) => m.type === "USER_INPUT")).toHaveLength(8);
    expect(messages.filter((m) => m.type === "BOT")).toHaveLength(5);

    clock.advance(10 * 60_000 + 1000);
    expect((await text("hello again")).twiml).toBe(said("Thank you for your message. We will respond shortly."));
  });
});
