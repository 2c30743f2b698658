// The management routes the dev tools read: a stored webhook as received (for `simulate replay`), outbound SMS with
// their status history, and look-ups by idempotency key and phone (for following what an event caused).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type DeliveryWorld, startDeliveryWorld } from "../support/delivery";
import { signedStripeRequest, stripeEvent } from "../support/stripe";
import { inboundParams, postSms, uniquePhone } from "../support/twilio";

let w: DeliveryWorld;
beforeAll(async () => { w = await startDeliveryWorld(); });
afterAll(() => w.close());

const get = async (path: string) => {
  const res = await w.h.api("GET", path);
  return { status: res.status, body: await res.json() as any };
};

test("an inbound SMS is found by its MessageSid and read back as received: raw body, parameters, route", async () => {
  const { clinic, patient } = await w.queueAbout();
  const params = inboundParams(patient.phone, clinic.phone, "See photo", {
    NumMedia: "2", MediaUrl0: "https://api.twilio.com/media/ME1", MediaContentType0: "image/jpeg",
    MediaUrl1: "https://api.twilio.com/media/ME2", MediaContentType1: "image/png",
  });
  await postSms(w.h, params);
  const found = await get(`/v1/webhook-events?idempotency_key=${params.MessageSid}`);
  expect(found.body.data.map((e: any) => e.idempotency_key)).toEqual([params.MessageSid]);

  const raw = await get(`/v1/webhook-events/${found.body.data[0].id}/raw`);
  expect(raw.status).toBe(200);
  expect(raw.body).toMatchObject({ provider: "twilio-sms", path: "/v1/clinic/webhooks/twilio/sms", params });
  expect(raw.body.raw_body).toBe(new URLSearchParams(params).toString());
  expect(raw.body.content_type).toStartWith("application/x-www-form-urlencoded");
});

test("a Stripe event reads back with its JSON body untouched, no parameters; unknown id 404, no key 401", async () => {
  // Spacing and a line break JSON.stringify would not write: the body must come back as sent.
  const body = `{"id": "evt_raw_${Date.now()}",  "object": "event",\n"type": "customer.created", "data": {}}`;
  const path = "/api/v1/webhooks/stripe/payment-events";
  expect((await w.h.request(path, await signedStripeRequest(body))).status).toBe(200);
  const [event] = (await get(`/v1/webhook-events?idempotency_key=${JSON.parse(body).id}`)).body.data;
  const raw = await get(`/v1/webhook-events/${event.id}/raw`);
  expect(raw.body).toMatchObject({ provider: "stripe", path, params: null, raw_body: body });

  expect((await get("/v1/webhook-events/999999999/raw")).status).toBe(404);
  expect((await w.h.request(`/v1/webhook-events/${event.id}/raw`)).status).toBe(401);
});

test("outbound SMS are listed by appointment, recipient and sid; one shows its status callbacks in order", async () => {
  const sent = await w.sent();
  await w.callback(sent.sid, "sent");
  await w.callback(sent.sid, "undelivered", { ErrorCode: "30003" });
  await w.h.drain();

  const byAppointment = (await get(`/v1/sms?appointment_id=${sent.appointment.id}`)).body.data;
  expect(byAppointment.map((s: any) => [s.id, s.twilio_sid, s.status, s.error_code]))
    .toEqual([[sent.smsId, sent.sid, "undelivered", "30003"]]);
  const byPhone = (await get(`/v1/sms?to=${encodeURIComponent(sent.patient.phone)}`)).body.data;
  expect(byPhone.map((s: any) => s.id)).toEqual([sent.smsId]);
  expect((await get(`/v1/sms?sid=${sent.sid}`)).body.data.map((s: any) => s.id)).toEqual([sent.smsId]);
  expect((await get(`/v1/sms?since=${new Date(Date.now() + 60_000).toISOString()}`)).body.data).toEqual([]);

  const one = await get(`/v1/sms/${sent.smsId}`);
  expect(one.body.status_history.map((h: any) => [h.status, h.error_code]))
    .toEqual([["sent", null], ["undelivered", "30003"]]);
  expect((await get("/v1/sms/6f1c2b9e-8a3d-4c55-9a7e-2d4f1b0c9e11")).status).toBe(404);
});

test("patients are found by phone, written any way people write it", async () => {
  const phone = uniquePhone();
  const { patient } = await w.queueAbout();
  await w.rows`update patients set phone = ${phone} where id = ${patient.id}`;
  const spaced = `${phone.slice(0, 2)} (${phone.slice(2, 5)}) ${phone.slice(5, 8)}-${phone.slice(8)}`;
  const found = await get(`/v1/patients?phone=${encodeURIComponent(spaced)}`);
  expect(found.body.data.map((p: any) => p.id)).toEqual([patient.id]);
  expect((await get(`/v1/patients?phone=${encodeURIComponent(uniquePhone())}`)).body.data).toEqual([]);
});
