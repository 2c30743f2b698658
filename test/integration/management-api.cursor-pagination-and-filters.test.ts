import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHarness, type Harness, seedAppointment } from "../support/harness";
import { signedStripeRequest, stripeEvent } from "../support/stripe";
import { inboundParams, messageSid, postSms, signedTwilioRequest } from "../support/twilio";

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ OUTBOUND_ALLOW_PRIVATE: "true" });
});
afterAll(() => h.close());

const get = async (path: string) => {
  const res = await h.api("GET", path);
  expect({ path, status: res.status }).toEqual({ path, status: 200 });
  return res.json() as Promise<{ data: any[]; has_more: boolean; next_cursor: string | null }>;
};

/** Follows next_cursor to the end (bounded), returning every item in order. */
async function walk(path: string, limit: number): Promise<any[]> {
  const items: any[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const sep = path.includes("?") ? "&" : "?";
    const page = await get(`${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`);
    items.push(...page.data);
    expect(page.data.length).toBeLessThanOrEqual(limit);
    if (!page.has_more) {
      expect(page.next_cursor).toBeNull();
      return items;
    }
    cursor = page.next_cursor;
  }
  throw new Error(`no end reached for ${path}`);
}

describe("cursor pagination", () => {
  test("rows of the same millisecond are each listed once, in order (id breaks ties, microseconds kept)", async () => {
    const [clinic] = await h.deps
      .sql`insert into clinics (name, phone, timezone) values ('Tie', '+15550400000', 'UTC') returning id`;
    const times = [
      "2026-01-01 00:00:00.000001+00",
      "2026-01-01 00:00:00.000002+00",
      "2026-01-01 00:00:00.000002+00",
      "2026-01-01 00:00:00.000003+00",
      "2026-01-01 00:00:00.000003+00",
    ];
    for (const [i, at] of times.entries()) {
      await h.deps.sql`insert into patients (clinic_id, name, phone, created_at)
        values (${clinic!.id}, ${`P${i}`}, ${`+155504000${10 + i}`}, ${at}::timestamptz)`;
    }
    const all = await walk(`/v1/patients?clinic_id=${clinic!.id}`, 1);
    expect(all).toHaveLength(5);
    expect(new Set(all.map((p) => p.id)).size).toBe(5);
    const expected = await h.deps
      .sql`select id from patients where clinic_id = ${clinic!.id} order by created_at desc, id desc`;
    expect(all.map((p) => p.id)).toEqual(expected.map((r) => r.id));
  });

  test("rows added while paging neither repeat nor shift what is left", async () => {
    const { clinic } = await seedAppointment(h, { phone: "+15550401111" });
    for (let i = 0; i < 4; i++)
      await h.api("POST", "/v1/patients", { clinic_id: clinic.id, name: `Q${i}`, phone: `+1555040200${i}` });
    const first = await get(`/v1/patients?clinic_id=${clinic.id}&limit=2`);
    await h.api("POST", "/v1/patients", { clinic_id: clinic.id, name: "Late", phone: "+15550402999" });
    const rest = await walk(`/v1/patients?clinic_id=${clinic.id}&cursor=${first.next_cursor}`, 2);
    const ids = [...first.data, ...rest].map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(5);
  });

  test("every list answers {data, has_more, next_cursor} and reaches its end", async () => {
    const { appointment } = await seedAppointment(h, { phone: "+15550403333" });
    const conv = (await (
      await h.api("POST", "/v1/conversations", {
        channel: "API",
        usecase: "p",
        config: { callback_url: "http://127.0.0.1:9/h" },
      })
    ).json()) as any;
    for (const path of [
      "/v1/clinics",
      "/v1/patients",
      "/v1/appointments",
      `/v1/appointments/${appointment.id}/history`,
      "/v1/webhook-events",
      `/v1/conversations/${conv.id}/messages`,
      "/v1/deliveries",
      "/v1/endpoints",
      "/v1/emails",
    ]) {
      const page = await get(`${path}?limit=1`);
      expect(Object.keys(page).sort()).toEqual(["data", "has_more", "next_cursor"]);
      await walk(path, 50);
    }
  });

  test("a cursor that is not one is a 400 naming cursor", async () => {
    const res = await h.api("GET", "/v1/clinics?cursor=not-a-cursor");
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.message).toStartWith("cursor:");
  });
});

describe("filters", () => {
  test("webhook events by idempotency key: a Stripe event id, a MessageSid with its status callbacks", async () => {
    const event = stripeEvent("customer.created", { id: "cus_filter" });
    expect((await h.request("/api/v1/webhooks/stripe/payment-events", await signedStripeRequest(event))).status).toBe(
      200,
    );
    const sid = messageSid();
    const patientPhone = "+15550404444";
    await postSms(h, inboundParams(patientPhone, "+15550409999", "hello", { MessageSid: sid }));
    const path = "/api/v1/webhooks/twilio/sms-status";
    for (const status of ["sent", "delivered"]) {
      const params = {
        MessageSid: sid,
        MessageStatus: status,
        To: patientPhone,
        From: "+15550409999",
        AccountSid: `AC${"0".repeat(32)}`,
      };
      expect((await h.request(path, signedTwilioRequest(path, params))).status).toBe(200);
    }
    expect((await get(`/v1/webhook-events?key=${event.id}`)).data.map((e) => e.idempotency_key)).toEqual([event.id]);
    const bySid = (await get(`/v1/webhook-events?key=${sid}`)).data.map((e) => e.idempotency_key).sort();
    expect(bySid).toEqual([sid, `${sid}:delivered`, `${sid}:sent`]);
    // A key is matched exactly, not as a pattern.
    expect((await get("/v1/webhook-events?key=evt_%25")).data).toEqual([]);

    const byPhone = await get(`/v1/webhook-events?phone=${encodeURIComponent("+1 (555) 040-4444")}`);
    expect(byPhone.data.map((e) => e.provider).sort()).toEqual(["twilio-sms", "twilio-status", "twilio-status"]);
    expect(byPhone.data.every((e) => e.phone === patientPhone)).toBe(true);
    expect((await h.api("GET", "/v1/webhook-events?phone=banana")).status).toBe(400);
  });

  test("appointments by patient and by start time range", async () => {
    const base = Date.parse("2031-03-01T09:00:00Z");
    const { patient } = await seedAppointment(h, { phone: "+15550405555", startsAt: new Date(base) });
    for (const days of [1, 2, 3]) {
      await h.api("POST", "/v1/appointments", {
        patient_id: patient.id,
        starts_at: new Date(base + days * 86_400_000).toISOString(),
      });
    }
    const day = (d: number) => new Date(base + d * 86_400_000).toISOString();
    const mine = await get(`/v1/appointments?patient_id=${patient.id}`);
    expect(mine.data.map((a) => a.starts_at)).toEqual([day(3), day(2), day(1), day(0)]);
    const range = await get(`/v1/appointments?patient_id=${patient.id}&starts_after=${day(1)}&starts_before=${day(3)}`);
    expect(range.data.map((a) => a.starts_at)).toEqual([day(2), day(1)]);
  });
});
