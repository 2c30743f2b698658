import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { advances, SMS_STATUSES } from "../../src/domain/sms-status";
import { type DeliveryWorld, startDeliveryWorld } from "../support/delivery";
import { messageSid } from "../support/twilio";

let w: DeliveryWorld;
beforeAll(async () => { w = await startDeliveryWorld(); });
afterAll(() => w.close());

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap(
    (item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

describe("status callbacks", () => {
  test("every status value is kept in history; the SMS and its appointment move only forward from queued", async () => {
    const sends = [];
    for (const status of SMS_STATUSES) sends.push({ status, ...(await w.queueAbout()) });
    await w.h.drain();
    for (const s of sends) {
      const sid = w.fake.messages.find((m) => m.to === s.patient.phone)!.sid;
      Object.assign(s, { sid });
      await w.callback(sid, s.status, { ErrorCode: "30003", RawDlrDoneDate: "2611231015" });
    }
    await w.h.drain();
    for (const s of sends as (typeof sends[number] & { sid: string })[]) {
      const moved = advances("queued", s.status);
      expect(await w.history(s.sid))
        .toEqual([{ status: s.status, error_code: "30003", raw_dlr_done_date: "2611231015", sms_message_id: s.smsId }]);
      expect((await w.sms(s.smsId)).status).toBe(moved ? s.status : "queued");
      const appt = await w.appointment(s.appointment.id);
      expect(appt.sms_status).toBe(moved ? s.status : null);
      expect(appt.sms_delivered).toBe(s.status === "delivered" || s.status === "read");
      expect(appt.sms_delivered_at === null).toBe(!appt.sms_delivered);
      const fallback = w.mailTo(s.patient.email);
      expect(fallback).toHaveLength(s.status === "failed" || s.status === "undelivered" ? 1 : 0);
      const [event] = await w.events(s.sid);
      expect(event.status).toBe("processed");
    }
  });

  test("every order of sent / delivered / failed for one sid ends in the same, highest ranked state", async () => {
    const orders = [
      ...permutations(["sent", "delivered"]), ...permutations(["sent", "failed"]),
      ...permutations(["delivered", "failed"]),
      ...permutations(["sent", "delivered", "failed"]),
    ];
    const sends = [];
    for (const order of orders) sends.push({ order, ...(await w.queueAbout()) });
    await w.h.drain();
    for (const s of sends) {
      const sid = w.fake.messages.find((m) => m.to === s.patient.phone)!.sid;
      for (const status of s.order) {
        await w.callback(sid, status);
        await w.h.drain();
      }
      const final = s.order.includes("delivered") ? "delivered" : "failed";
      expect({ order: s.order, status: (await w.sms(s.smsId)).status }).toEqual({ order: s.order, status: final });
      expect((await w.appointment(s.appointment.id)).sms_status).toBe(final);
      expect((await w.history(sid)).map((r) => r.status)).toEqual(s.order);
      // The fallback goes out only if failed was reported while nothing better was known, and never twice.
      const failedFirst = s.order.includes("failed")
        && (!s.order.includes("delivered") || s.order.indexOf("failed") < s.order.indexOf("delivered"));
      await w.h.drain();
      expect(w.mailTo(s.patient.email)).toHaveLength(failedFirst ? 1 : 0);
    }
  });

  test("delivered sets sms_delivered_at to when the callback was received; a later read keeps it", async () => {
    const s = await w.sent();
    await w.callback(s.sid, "delivered");
    const [event] = await w.events(s.sid);
    await w.h.drain();
    await w.callback(s.sid, "read");
    await w.h.drain();
    const appt = await w.appointment(s.appointment.id);
    expect(appt).toMatchObject({ sms_status: "read", sms_delivered: true });
    // Postgres keeps microseconds, JavaScript dates milliseconds.
    const [same] = await w.rows`select date_trunc('milliseconds', e.received_at) = a.sms_delivered_at as same
      from webhook_events e, appointments a where e.id = ${event.id} and a.id = ${s.appointment.id}`;
    expect(same).toEqual({ same: true });
  });

  test("a late callback for an older SMS does not overwrite the appointment's newer reminder status", async () => {
    const first = await w.sent({ kind: "confirmation" });
    const { smsId, body } = await w.queueAboutSame(first);
    await w.h.drain();
    const second = w.fake.messages.find((m) => m.body === body)!.sid;
    await w.callback(second, "sent");
    await w.h.drain();
    await w.callback(first.sid, "delivered");
    await w.h.drain();
    expect((await w.sms(first.smsId)).status).toBe("delivered");
    expect((await w.sms(smsId)).status).toBe("sent");
    expect(await w.appointment(first.appointment.id)).toMatchObject({ sms_status: "sent", sms_delivered: false });
  });
});

describe("callbacks Switchboard cannot link", () => {
  test("an unknown MessageSid is stored, kept in history without an SMS, and marked ignored, not failed", async () => {
    const sid = messageSid();
    expect(await w.callback(sid, "delivered")).toEqual({ status: "received" });
    await w.h.drain();
    expect(await w.events(sid)).toMatchObject([{ status: "ignored", last_error: "unknown MessageSid" }]);
    expect(await w.history(sid))
      .toEqual([{ status: "delivered", error_code: null, raw_dlr_done_date: null, sms_message_id: null }]);
  });

  test("a callback that outruns the send's API answer is linked once the sid is stored", async () => {
    const sid = messageSid();
    await w.callback(sid, "delivered");
    await w.h.drain();
    expect((await w.events(sid))[0].status).toBe("ignored");
    const queued = await w.queueAbout();
    w.fake.useSid(sid);
    await w.h.drain();
    expect((await w.sms(queued.smsId)).status).toBe("delivered");
    expect(await w.events(sid)).toMatchObject([{ status: "processed", last_error: null }]);
    expect(await w.history(sid))
      .toEqual([{ status: "delivered", error_code: null, raw_dlr_done_date: null, sms_message_id: queued.smsId }]);
    expect((await w.appointment(queued.appointment.id)).sms_delivered).toBe(true);
  });
});
