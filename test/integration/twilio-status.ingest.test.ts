import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHarness, type Harness } from "../support/harness";
import { messageSid, signedTwilioRequest } from "../support/twilio";

const PATH = "/api/v1/webhooks/twilio/sms-status";
let h: Harness;
beforeAll(async () => { h = await createHarness(); });
afterAll(() => h.close());

const callback = (sid: string, status: string, extra: Record<string, string> = {}) => ({
  MessageSid: sid, SmsSid: sid, MessageStatus: status, SmsStatus: status, AccountSid: `AC${"0".repeat(32)}`,
  From: "+15551230000", To: "+15557654321", ApiVersion: "2010-04-01", ...extra,
});
const stored = async () =>
  (await h.deps.sql`select idempotency_key from webhook_events where provider = 'twilio-status' order by id`)
  .map((r) => r.idempotency_key as string);

test("a signed callback is stored on MessageSid + MessageStatus and answered received; "
  + "a retry gets the same answer", async () => {
  const sid = messageSid();
  for (let i = 0; i < 3; i++) {
    const res = await h.request(PATH, signedTwilioRequest(PATH, callback(sid, "delivered")));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "received" });
  }
  const sent = await h.request(PATH, signedTwilioRequest(PATH, callback(sid, "sent")));
  expect(sent.status).toBe(200);
  expect(await stored()).toEqual([`${sid}:delivered`, `${sid}:sent`]);
});

test("a bad or missing signature is 403 Forbidden and stores nothing", async () => {
  const before = (await stored()).length;
  const wrong = await h.request(
    PATH, signedTwilioRequest(PATH, callback(messageSid(), "failed"), { token: "someone-elses-token" }),
  );
  expect(wrong.status).toBe(403);
  expect(await wrong.text()).toBe("Forbidden");
  const missing = await h.request(
    PATH, signedTwilioRequest(PATH, callback(messageSid(), "failed"), { signature: null }),
  );
  expect(missing.status).toBe(403);
  expect((await stored()).length).toBe(before);
});

test("malformed callbacks are 400 or 415 and store nothing", async () => {
  const before = (await stored()).length;
  const noStatus = await h.request(PATH, signedTwilioRequest(PATH, { MessageSid: messageSid(), AccountSid: "AC1" }));
  expect(noStatus.status).toBe(400);
  const json = await h.request(
    PATH, signedTwilioRequest(PATH, callback(messageSid(), "sent"), { contentType: "application/json" }),
  );
  expect(json.status).toBe(415);
  expect((await stored()).length).toBe(before);
});
