import { queueSms } from "../../src/effects/sms";
import { type FakeTwilio, startFakeTwilio } from "./fake-twilio";
import {
  createHarness, type Harness, seedAppointment, testClock, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN,
} from "./harness";
import { startReceiver } from "./receiver";
import { startSmtpSink } from "./smtp-sink";
import { signedTwilioRequest, uniquePhone } from "./twilio";

export const STATUS_PATH = "/api/v1/webhooks/twilio/sms-status";

/**
 * Everything a delivery-tracking test talks to: the app with a held clock, the fake Twilio REST API, a real SMTP
 * sink and a clinic callback receiver, all on loopback.
 */
export async function startDeliveryWorld(env: Record<string, string> = {}) {
  const clock = testClock();
  const fake = await startFakeTwilio({ accountSid: TWILIO_ACCOUNT_SID, authToken: TWILIO_AUTH_TOKEN });
  const smtp = await startSmtpSink();
  const receiver = startReceiver();
  const h = await createHarness(
    {
      TWILIO_API_URL: fake.url, SMTP_URL: smtp.url, OUTBOUND_ALLOW_PRIVATE: "true",
      OUTBOUND_RETRY_DELAYS_MS: "100,100,100", ...env,
    },
    { clock, sleep: async () => {} },
  );
  const rows = (q: TemplateStringsArray, ...v: any[]) => h.deps.sql(q, ...v) as Promise<any[]>;

  /**
   * A clinic (with a callback URL), patient and appointment, and one recorded SMS of `kind` about it (not yet sent).
   */
  async function queueAbout(opts: { email?: string | null; kind?: string; body?: string } = {}) {
    // Every patient has an address of their own, so a test can count exactly the emails one patient got.
    const email = opts.email === undefined ? `p${Math.random().toString(36).slice(2, 10)}@patient.test` : opts.email;
    const seeded = await seedAppointment(h, { phone: uniquePhone(), email });
    await rows`update clinics set callback_url = ${`${receiver.url}/clinic/${seeded.clinic.id}`} where id =
      ${seeded.clinic.id}`;
    const body = opts.body ?? `Reminder for ${seeded.patient.id}: your appointment is tomorrow.`;
    const smsId = (await h.deps.db.transaction((tx) => queueSms(tx, {
      dedupeKey: `test:${seeded.appointment.id}:${opts.kind ?? "reminder"}:${body}`, kind: opts.kind ?? "reminder",
      clinic: seeded.clinic, patient: { ...seeded.patient, optedOut: false }, appointmentId: seeded.appointment.id,
      body,
    })))!;
    return { ...seeded, smsId, body };
  }

  /** A second SMS (a reminder) about the same appointment, recorded later than the first. */
  async function queueAboutSame(seeded: Awaited<ReturnType<typeof queueAbout>>, kind = "reminder") {
    clock.advance(1000);
    const body = `Second ${kind} for ${seeded.patient.id}`;
    const smsId = (await h.deps.db.transaction((tx) => queueSms(tx, {
      dedupeKey: `test:${seeded.appointment.id}:${kind}:${body}`, kind, clinic: seeded.clinic,
      patient: { ...seeded.patient, optedOut: false }, appointmentId: seeded.appointment.id, body,
    })))!;
    return { smsId, body };
  }

  /** queueAbout, then sends it through the fake Twilio API: returns the MessageSid Twilio gave it. */
  async function sent(opts: Parameters<typeof queueAbout>[0] = {}) {
    const queued = await queueAbout(opts);
    await h.drain();
    const message = fake.messages.find((m) => m.to === queued.patient.phone && m.body === queued.body);
    if (!message) throw new Error("the fake Twilio API did not receive the SMS");
    return { ...queued, sid: message.sid };
  }

  /** A status callback as Twilio posts it, signed with the twilio SDK helper. */
  async function callback(sid: string, status: string, extra: Record<string, string> = {}) {
    const params = {
      AccountSid: TWILIO_ACCOUNT_SID, ApiVersion: "2010-04-01", From: "+15550000000", To: "+15550000001",
      MessageSid: sid, SmsSid: sid, MessageStatus: status, SmsStatus: status, ...extra,
    };
    const res = await h.request(STATUS_PATH, signedTwilioRequest(STATUS_PATH, params));
    if (res.status !== 200) throw new Error(`callback answered ${res.status}`);
    return res.json();
  }

  const sms = async (id: string) => (await rows`select * from sms_messages where id = ${id}`)[0];
  const appointment = async (id: string) =>
    (await rows`select sms_status, sms_delivered, sms_delivered_at from appointments where id = ${id}`)[0];
  const history = (sid: string) =>
    rows`select status, error_code, raw_dlr_done_date, sms_message_id from sms_status_events where twilio_sid = ${sid}
      order by id`;
  const events = (sid: string) =>
    rows`select id, status, last_error from webhook_events where provider = 'twilio-status' and idempotency_key like
      ${`${sid}:%`} order by id`;
  const mailTo = (address: string) => smtp.messages.filter((m) => m.to.includes(address));

  return {
    h, clock, fake, smtp, receiver, rows, queueAbout, queueAboutSame, sent, callback, sms, appointment, history, events,
    mailTo,
    async close() {
      await h.close();
      await receiver.close();
      await smtp.close();
      fake.close();
    },
  };
}
export type DeliveryWorld = Awaited<ReturnType<typeof startDeliveryWorld>>;
