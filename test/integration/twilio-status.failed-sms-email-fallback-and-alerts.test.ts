import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type DeliveryWorld, startDeliveryWorld } from "../support/delivery";
import { inboundParams, postSms } from "../support/twilio";

const SUPPORT = "support@switchboard.test";
let w: DeliveryWorld;
beforeAll(async () => { w = await startDeliveryWorld(); });
afterAll(() => w.close());

const supportMailAbout = (sid: string) => w.mailTo(SUPPORT).filter((m) => w.smtp.text(m).includes(sid));
const clinicEvents = (clinicId: string) => w.receiver.at(`/clinic/${clinicId}`).map((r) => JSON.parse(r.body));

describe("a failed SMS", () => {
  test("emails the patient the same text, "
    + "alerts support by email and the clinic with sms.failed, once, whatever follows", async () => {
    const s = await w.sent({ body: "Harbor Dental: your appointment is tomorrow at 10:00 AM." });
    await w.callback(s.sid, "sent");
    await w.callback(s.sid, "failed", { ErrorCode: "30006" });
    await w.h.drain();

    const [toPatient] = w.mailTo(s.patient.email);
    expect(w.mailTo(s.patient.email)).toHaveLength(1);
    expect(w.smtp.text(toPatient!)).toContain("Harbor Dental: your appointment is tomorrow at 10:00 AM.");
    const [alert] = supportMailAbout(s.sid);
    expect(w.smtp.text(alert!)).toContain("Twilio error 30006");
    expect(w.smtp.text(alert!)).toContain("Email fallback to the patient: email_queued");
    const row = await w.sms(s.smsId);
    expect(row).toMatchObject({ status: "failed", error_code: "30006", fallback_status: "email_queued" });
    const [outbox] = await w.rows`select id, kind, status from email_outbox where id = ${row.fallback_email_id}`;
    expect(outbox).toMatchObject({ kind: "sms_fallback", status: "sent" });
    const events = clinicEvents(s.clinic.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: "sms.failed", clinic_id: s.clinic.id,
      data: {
        message_sid: s.sid, status: "failed", error_code: "30006", appointment_id: s.appointment.id,
        fallback: "email_queued",
      },
    });
    expect((await w.events(s.sid)).map((e) => e.last_error))
      .toEqual([null, "sms failed; email fallback: email_queued"]);

    // Twilio retries the same callback, a late undelivered arrives, and someone replays the failed event.
    await w.callback(s.sid, "failed", { ErrorCode: "30006" });
    await w.callback(s.sid, "undelivered", { ErrorCode: "30003" });
    const failedEvent = (await w.events(s.sid))[1];
    expect((await w.h.api("POST", `/v1/webhook-events/${failedEvent.id}/replay`)).status).toBe(202);
    await w.h.drain();
    expect((await w.sms(s.smsId)).status).toBe("undelivered");
    expect((await w.history(s.sid)).map((r) => r.status)).toEqual(["sent", "failed", "undelivered"]);
    expect(w.mailTo(s.patient.email)).toHaveLength(1);
    expect(supportMailAbout(s.sid)).toHaveLength(1);
    expect(clinicEvents(s.clinic.id)).toHaveLength(1);
    expect(await w.rows`select 1 from email_outbox where dedupe_key like ${`%${s.smsId}`}`).toHaveLength(2);
  });

  test("without a patient email the fallback is recorded as not possible; "
    + "support and the clinic still hear of it", async () => {
    const s = await w.sent({ email: null });
    await w.callback(s.sid, "undelivered", { ErrorCode: "30005" });
    await w.h.drain();
    const reason = "not_possible: patient has no email";
    expect(await w.sms(s.smsId))
      .toMatchObject({ status: "undelivered", fallback_status: reason, fallback_email_id: null });
    expect(await w.events(s.sid))
      .toMatchObject([{ status: "processed", last_error: `sms undelivered; email fallback: ${reason}` }]);
    expect(await w.rows`select 1 from email_outbox where kind = 'sms_fallback' and dedupe_key =
      ${`sms-fallback:${s.smsId}`}`).toHaveLength(0);
    expect(w.smtp.text(supportMailAbout(s.sid)[0]!)).toContain(reason);
    expect(clinicEvents(s.clinic.id)[0].data).toMatchObject({ status: "undelivered", fallback: reason });
    expect(w.h.logs.some((l) => l.includes("no email fallback is possible") && l.includes(s.smsId))).toBe(true);
  });

  test("a delivered SMS brings no fallback, alert or clinic event", async () => {
    const s = await w.sent();
    await w.callback(s.sid, "delivered");
    await w.callback(s.sid, "failed");
    await w.h.drain();
    expect((await w.sms(s.smsId)).status).toBe("delivered");
    expect(w.mailTo(s.patient.email)).toHaveLength(0);
    expect(supportMailAbout(s.sid)).toHaveLength(0);
    expect(clinicEvents(s.clinic.id)).toHaveLength(0);
  });
});

describe("an SMS Twilio refuses outright (no callback will come)", () => {
  test("gets the same fallback and alerts, once", async () => {
    const s = await w.queueAbout({ body: "Your appointment moved to 3 PM." });
    w.fake.fail(
      { status: 400, code: 21211, message: `The 'To' number ${s.patient.phone} is not a valid phone number.` },
    );
    await w.h.drain();
    expect(await w.sms(s.smsId))
      .toMatchObject({ status: "failed", error_code: "21211", fallback_status: "email_queued", twilio_sid: null });
    expect(w.mailTo(s.patient.email)).toHaveLength(1);
    expect(w.smtp.text(w.mailTo(s.patient.email)[0]!)).toContain("Your appointment moved to 3 PM.");
    expect(w.mailTo(SUPPORT).filter((m) => w.smtp.text(m).includes(s.smsId))).toHaveLength(1);
    expect(clinicEvents(s.clinic.id).map((e) => e.data.error_code)).toEqual(["21211"]);
  });
});

describe("a reply recorded as a BOT conversation message", () => {
  test("moves with its callbacks, and the clinic's callback URL hears each change", async () => {
    const s = await w.sent();
    const inbound = inboundParams(s.patient.phone, s.clinic.phone, "CONFIRM");
    expect((await postSms(w.h, inbound)).status).toBe(200);
    await w.h.drain();
    const [reply] = await w.rows`select twilio_sid, status from sms_messages where dedupe_key =
      ${`reply:${inbound.MessageSid}`}`;
    expect(reply.twilio_sid).toMatch(/^SM/);
    const bot = async () =>
      (await w.rows`select id, status from messages where external_id = ${inbound.MessageSid} and type = 'BOT'`)[0];
    expect((await bot()).status).toBe("queued");

    await w.callback(reply.twilio_sid, "delivered");
    await w.callback(reply.twilio_sid, "sent");
    await w.h.drain();
    expect((await bot()).status).toBe("delivered");
    const updates = w.receiver.at(`/clinic/${s.clinic.id}`).map((r) => JSON.parse(r.body))
      .filter((b) => b.data?.type === "BOT");
    expect(updates.map((b) => b.data.status)).toEqual(["queued", "delivered"]);
  });
});
