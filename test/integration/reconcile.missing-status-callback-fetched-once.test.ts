import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { reconcileDue } from "../../src/reconcile/run";
import { type DeliveryWorld, startDeliveryWorld } from "../support/delivery";

const SUPPORT = "support@switchboard.test";
const MINUTE = 60_000;
let w: DeliveryWorld;
beforeAll(async () => { w = await startDeliveryWorld(); });
afterAll(() => w.close());

const reconcile = () => reconcileDue(w.h.deps, "twilio-status");
const fetches = (sid: string) => w.fake.reads.filter((r) => r.endsWith(`/Messages/${sid}.json`)).length;
const eventsOf = (sid: string) => w.rows`select idempotency_key as key, source, source_note, status
  from webhook_events where idempotency_key like ${`${sid}:%`} order by id`;
const counter = async (name: string, labels: Record<string, string>) => {
  const metric = await w.h.deps.metrics.registry.getSingleMetric(name)!.get();
  return metric.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
};

describe("an SMS whose status callback never came", () => {
  test("is fetched after 30 minutes; the email fallback goes out once; the late callback changes nothing", async () => {
    const s = await w.sent({ body: "Harbor Dental: your appointment is tomorrow at 9:00 AM." });
    w.fake.setStatus(s.sid, "failed", 30006);

    w.clock.advance(20 * MINUTE);
    expect((await reconcile())[0]).toMatchObject({ outcome: "complete", checked: 0 });
    expect(fetches(s.sid)).toBe(0);

    w.clock.advance(11 * MINUTE);
    const [report] = await reconcile();
    expect(report).toMatchObject({ pass: "twilio-status", outcome: "complete", checked: 1 });
    expect(report!.found.map((f) => f.key)).toEqual([`${s.sid}:failed`]);
    await w.h.drain();

    const failed = { status: "failed", error_code: "30006", fallback_status: "email_queued" };
    expect(await w.sms(s.smsId)).toMatchObject(failed);
    expect(w.mailTo(s.patient.email)).toHaveLength(1);
    expect(w.smtp.text(w.mailTo(s.patient.email)[0]!)).toContain("your appointment is tomorrow at 9:00 AM.");
    expect(w.mailTo(SUPPORT).filter((m) => w.smtp.text(m).includes(s.sid))).toHaveLength(1);
    const [event] = await eventsOf(s.sid);
    expect(event).toMatchObject({ key: `${s.sid}:failed`, source: "reconcile", status: "processed" });
    expect(event.source_note).toContain("no failed status callback 31 min after Twilio accepted the SMS");
    expect(await counter("switchboard_reconciled_total", { provider: "twilio", kind: "sms_status" })).toBe(1);

    // Twilio's own callback turns up late: same key, so a duplicate with no second effect.
    expect(await w.callback(s.sid, "failed", { ErrorCode: "30006" })).toEqual({ status: "received" });
    await w.h.drain();
    expect(await eventsOf(s.sid)).toHaveLength(1);
    expect((await w.history(s.sid)).map((r) => r.status)).toEqual(["failed"]);
    expect(w.mailTo(s.patient.email)).toHaveLength(1);
    expect(w.mailTo(SUPPORT).filter((m) => w.smtp.text(m).includes(s.sid))).toHaveLength(1);

    // Final now: never looked up again.
    w.clock.advance(120 * MINUTE);
    await reconcile();
    expect(fetches(s.sid)).toBe(1);
  });

  test("a delivered status found first, and its callback before processing, set the appointment once", async () => {
    const s = await w.sent();
    w.fake.setStatus(s.sid, "delivered");
    w.clock.advance(31 * MINUTE);
    expect((await reconcile())[0]!.found.map((f) => f.key)).toEqual([`${s.sid}:delivered`]);
    await w.callback(s.sid, "delivered");
    await w.h.drain();
    expect(await w.appointment(s.appointment.id)).toMatchObject({ sms_status: "delivered", sms_delivered: true });
    expect((await w.history(s.sid)).map((r) => r.status)).toEqual(["delivered"]);
    expect((await eventsOf(s.sid)).map((e) => e.source)).toEqual(["reconcile"]);
    expect(w.mailTo(s.patient.email)).toHaveLength(0);
  });

  test("an unchanged status stores nothing; the SMS is looked up again with backoff until 72 hours", async () => {
    const s = await w.sent();
    w.fake.setStatus(s.sid, "queued");
    w.clock.advance(31 * MINUTE);
    expect((await reconcile())[0]!.found).toHaveLength(0);
    expect(fetches(s.sid)).toBe(1);
    w.fake.setStatus(s.sid, "sent");
    // The next look is 30 minutes later, then 60, 120, …
    w.clock.advance(20 * MINUTE);
    await reconcile();
    expect(fetches(s.sid)).toBe(1);
    w.clock.advance(11 * MINUTE);
    expect((await reconcile())[0]!.found.map((f) => f.key)).toEqual([`${s.sid}:sent`]);
    expect(fetches(s.sid)).toBe(2);
    w.clock.advance(45 * MINUTE);
    await reconcile();
    expect(fetches(s.sid)).toBe(2);
    w.clock.advance(16 * MINUTE);
    await reconcile();
    expect(fetches(s.sid)).toBe(3);
    const [check] = await w.rows`select checks, last_status from sms_status_checks where sms_id = ${s.smsId}`;
    expect(check).toMatchObject({ checks: 3, last_status: "sent" });

    // Past 72 hours nothing more is asked; the last look happens at the 72-hour mark.
    for (let i = 0; i < 7; i++) {
      w.clock.advance(12 * 60 * MINUTE);
      await reconcile();
    }
    const [last] = await w.rows`select checks, next_check_at from sms_status_checks where sms_id = ${s.smsId}`;
    expect(last.next_check_at).toBeNull();
    const looked = fetches(s.sid);
    w.clock.advance(24 * 60 * MINUTE);
    await reconcile();
    expect(fetches(s.sid)).toBe(looked);
  });

  test("a message Twilio no longer knows (404) is not asked for again", async () => {
    const s = await w.sent();
    w.fake.messages.splice(w.fake.messages.findIndex((m) => m.sid === s.sid), 1);
    w.clock.advance(31 * MINUTE);
    expect((await reconcile())[0]).toMatchObject({ outcome: "complete", checked: 1, found: [] });
    w.clock.advance(5 * 60 * MINUTE);
    await reconcile();
    expect(fetches(s.sid)).toBe(1);
    expect((await w.rows`select last_status, next_check_at from sms_status_checks where sms_id = ${s.smsId}`)[0])
      .toEqual({ last_status: "not_found", next_check_at: null });
  });
});

describe("Twilio throttling or failing", () => {
  test("a 500 and then 429s cut the pass short without failing it; later runs retry, backing off", async () => {
    const s = await w.sent();
    w.fake.setStatus(s.sid, "delivered");
    w.clock.advance(31 * MINUTE);
    const errorsBefore = await counter("switchboard_reconcile_errors_total", { provider: "twilio" });

    w.fake.failReads({ status: 500, code: 20500, message: "Internal Server Error" });
    const [first] = await reconcile();
    expect(first).toMatchObject({ outcome: "failed", cause: "unavailable", found: [] });
    expect(first!.error).toContain("HTTP 500");
    expect(await counter("switchboard_reconcile_errors_total", { provider: "twilio" })).toBe(errorsBefore + 1);

    // One failure: the very next run tries again. It is throttled, and now the pass skips a run.
    w.fake.failReads({ status: 429, code: 20429, message: "Too Many Requests" });
    w.clock.advance(10 * MINUTE);
    expect((await reconcile())[0]).toMatchObject({ outcome: "failed", cause: "throttled" });
    w.clock.advance(10 * MINUTE);
    expect((await reconcile())[0]).toMatchObject({ outcome: "backing_off" });
    w.clock.advance(10 * MINUTE);
    const [later] = await reconcile();
    expect(later).toMatchObject({ outcome: "complete" });
    expect(later!.found.map((f) => f.key)).toEqual([`${s.sid}:delivered`]);
    const [row] = await w.rows`select failures, backoff_until, last_error from reconcile_checkpoints
      where provider = 'twilio-status'`;
    expect(row).toEqual({ failures: 0, backoff_until: null, last_error: null });
  });
});
