import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Webhook } from "standardwebhooks";
import { backlog } from "../../src/alerts/rules/backlog";
import { ingestLatency, processingFailures } from "../../src/alerts/rules/inbound";
import { newSecret } from "../../src/outbound/sign";
import { alertEmails, changesOf, evaluate, incidentsOf, insertEvents, rowsOf } from "../support/alerts";
import { createMailHarness, type MailHarness } from "../support/harness";
import { startReceiver } from "../support/receiver";

const SECRET = newSecret();
let h: MailHarness;
let receiver: ReturnType<typeof startReceiver>;
beforeAll(async () => {
  receiver = startReceiver();
  h = await createMailHarness({
    OUTBOUND_ALLOW_PRIVATE: "true", ALERT_WEBHOOK_URL: `${receiver.url}/alerts`, ALERT_WEBHOOK_SECRET: SECRET,
  });
});
afterAll(async () => {
  await h.close();
  await receiver.close();
});

const hooks = () => receiver.at("/alerts").map((r) => new Webhook(SECRET).verify(r.body, r.headers) as any)
  .map((p) => `${p.type} ${p.data.rule} ${p.data.key}`);

describe("when the SMTP server refuses the alert emails", () => {
  test("the emails end failed, the webhook still carries the alert, evaluation goes on to the resolution", async () => {
    h.smtp.refuse(550, 10);
    await insertEvents(h, { provider: "stripe", count: 5, status: "failed", lastError: "boom" });
    expect(changesOf(await evaluate(h))).toEqual(["processing_failures opened stripe"]);
    await h.drain();
    const [incident] = await incidentsOf(h, "processing_failures");
    const [opened] = await rowsOf(h)`select status, last_error from email_outbox
      where dedupe_key = ${`alert:${incident.id}:opened`}`;
    expect(opened).toMatchObject({ status: "failed" });
    expect(opened.last_error).toContain("Mailbox unavailable");
    expect(hooks()).toEqual(["alert.opened processing_failures stripe"]);

    // The failed alert email is not itself an email incident (it would reopen for ever while SMTP is down).
    await insertEvents(h, { provider: "stripe", count: 100, status: "processed" });
    expect(changesOf(await evaluate(h))).toEqual(["processing_failures resolved stripe"]);
    await h.drain();
    expect(await alertEmails(h, incident.id)).toEqual(["opened", "resolved"]);
    expect(hooks()).toEqual(["alert.opened processing_failures stripe", "alert.resolved processing_failures stripe"]);
    expect(h.smtp.messages).toHaveLength(0);
  });
});

describe("when queueing a notification fails in the database", () => {
  test("that change is rolled back and retried next minute; the other rules are evaluated and notified", async () => {
    // The outbox refuses the alert email about one provider (a constraint, a full disk, a bug in a trigger...).
    await rowsOf(h)`create function refuse_alert_email() returns trigger language plpgsql as $$
      begin raise exception 'outbox refused the alert email'; end $$`;
    await rowsOf(h)`create trigger refuse_alert_email before insert on email_outbox for each row
      when (new.kind = 'alert' and new.subject like '%twilio-sms%') execute function refuse_alert_email()`;
    await insertEvents(h, { provider: "twilio-sms", count: 5, status: "failed", lastError: "no clinic" });
    await insertEvents(h, { provider: "twilio-status", count: 19, responseMs: 5 });
    await insertEvents(h, { provider: "twilio-status", count: 1, responseMs: 9000 });

    const rules = [processingFailures, backlog, ingestLatency];
    const outcome = await evaluate(h, rules);
    expect(outcome.every((o) => o.error === undefined)).toBe(true);
    expect(changesOf(outcome)).toEqual(["ingest_p99 opened twilio-status"]);
    expect((await incidentsOf(h, "processing_failures")).filter((i) => i.key === "twilio-sms")).toEqual([]);
    expect(h.logs.some((l) => l.includes("alert change not recorded") && l.includes("twilio-sms"))).toBe(true);

    await rowsOf(h)`drop trigger refuse_alert_email on email_outbox`;
    expect(changesOf(await evaluate(h, rules))).toEqual(["processing_failures opened twilio-sms"]);
    const [incident] = (await incidentsOf(h, "processing_failures")).filter((i) => i.key === "twilio-sms");
    expect(await alertEmails(h, incident.id)).toEqual(["opened"]);
    await h.drain();
    expect(hooks().slice(2))
      .toEqual(["alert.opened ingest_p99 twilio-status", "alert.opened processing_failures twilio-sms"]);
  });

  test("a rule whose figures cannot be read is reported and the rules after it still run", async () => {
    const broken = { ...backlog, name: "broken", read: () => Promise.reject(new Error("relation does not exist")) };
    await insertEvents(h, { provider: "twilio-debugger", count: 5, status: "failed", lastError: "again" });
    const outcome = await evaluate(h, [broken, processingFailures]);
    expect(outcome[0]).toMatchObject({ rule: "broken", error: "relation does not exist" });
    expect(changesOf(outcome)).toEqual(["processing_failures opened twilio-debugger"]);
  });
});
