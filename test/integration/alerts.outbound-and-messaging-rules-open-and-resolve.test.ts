import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { emailOutbox, smsFailures } from "../../src/alerts/rules/messaging";
import { deliveryFailures, deliveryRetries } from "../../src/alerts/rules/outbound";
import { alertEmails, changesOf, evaluate, incidentsOf, rowsOf } from "../support/alerts";
import { createHarness, type Harness } from "../support/harness";

let h: Harness;
let rows: ReturnType<typeof rowsOf>;
beforeAll(async () => {
  h = await createHarness();
  rows = rowsOf(h);
});
afterAll(() => h.close());

let seq = 0;
async function endpoint(url: string): Promise<string> {
  const [row] = await rows`insert into webhook_endpoints (url, secret)
    values (${url}, 'whsec_dGVzdHRlc3R0ZXN0dGVzdA==') returning id`;
  return row!.id;
}
/** Deliveries to an endpoint that finished `status` (`completedSecondsAgo` ago), with `attempts` attempts each. */
async function deliveries(
  endpointId: string, n: number, status: string, opts: { attempts?: number; completedSecondsAgo?: number } = {},
) {
  const created = await rows`
    insert into deliveries (endpoint_id, event_type, dedupe_key, webhook_id, body, status, attempts, last_error,
      completed_at)
    select ${endpointId}, 'message.created', ${`alert-test-${++seq}-`} || g, 'msg_' || g, '{}', ${status},
      ${opts.attempts ?? 1}, case when ${status} = 'failed' then 'HTTP 503' end,
      now() - make_interval(secs => ${opts.completedSecondsAgo ?? 30})
    from generate_series(1, ${n}::int) g returning id`;
  return created.map((r) => r.id as string);
}

describe("failed deliveries clustering on one endpoint", () => {
  test("open for an endpoint with ALERT_DELIVERY_FAILURES failures in the window, resolve as they age", async () => {
    const down = await endpoint("https://down.example.test/hook");
    const flaky = await endpoint("https://flaky.example.test/hook");
    const failed = await deliveries(down, 5, "failed");
    await deliveries(flaky, 4, "failed");
    await deliveries(flaky, 50, "succeeded");
    await deliveries(down, 20, "failed", { completedSecondsAgo: 3600 });

    expect(changesOf(await evaluate(h, [deliveryFailures]))).toEqual([`delivery_failures opened ${down}`]);
    const [incident] = await incidentsOf(h, "delivery_failures");
    expect(incident.figures)
      .toMatchObject({ endpoint_id: down, url: "https://down.example.test/hook", failed: 5, threshold: 5 });
    expect(incident.examples[0]).toMatchObject({ kind: "endpoint", id: down });
    expect(incident.examples.slice(1).map((e: any) => e.id).sort()).toEqual(failed.sort());
    expect(incident.examples[1].detail).toContain("HTTP 503");

    await rows`update deliveries set completed_at = now() - interval '1 hour' where endpoint_id = ${down}`;
    expect(changesOf(await evaluate(h, [deliveryFailures]))).toEqual([`delivery_failures resolved ${down}`]);
    expect(await alertEmails(h, incident.id)).toEqual(["opened", "resolved"]);
  });
});

describe("outbound retries per minute", () => {
  test("open above ALERT_RETRIES_PER_MINUTE over the window, resolve when the retries stop", async () => {
    const slow = await endpoint("https://slow.example.test/hook");
    const ids = await deliveries(slow, 30, "pending");
    // 30 deliveries, each with a first attempt and one retry now (30 retries in 5 minutes = 6 a minute): under 10.
    const attempt = (n: number, secondsAgo: number) => rows`
      insert into delivery_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error_type)
      select id, ${n}, now() - make_interval(secs => ${secondsAgo}), 30000, null, 'timeout'
      from unnest(${ids}::uuid[]) as id`;
    await attempt(1, 120);
    await attempt(2, 60);
    expect(changesOf(await evaluate(h, [deliveryRetries]))).toEqual([]);

    await attempt(3, 30); // 60 retries: 12 a minute
    expect(changesOf(await evaluate(h, [deliveryRetries]))).toEqual(["delivery_retries opened all"]);
    const [incident] = await incidentsOf(h, "delivery_retries");
    expect(incident.figures)
      .toMatchObject({ retries: 60, per_minute: 12, threshold_per_minute: 10, window_minutes: 5 });
    expect(incident.figures.top_endpoints)
      .toEqual([{ endpoint_id: slow, url: "https://slow.example.test/hook", retries: 60 }]);
    expect(incident.examples[0]).toMatchObject({ kind: "delivery", detail: "attempt 3; timeout" });

    await rows`update delivery_attempts set started_at = started_at - interval '10 minutes'`;
    expect(changesOf(await evaluate(h, [deliveryRetries]))).toEqual(["delivery_retries resolved all"]);
    expect(await alertEmails(h, incident.id)).toEqual(["opened", "resolved"]);
  });
});

describe("SMS failure share", () => {
  test("open when undelivered and failed SMS pass ALERT_SMS_FAILURE_PERCENT, resolve as they dilute", async () => {
    const [clinic] = await rows`insert into clinics (name, phone, timezone)
      values ('Harbor', '+15550001111', 'UTC') returning id`;
    const sms = (n: number, status: string, errorCode: string | null, from = "+15550001111") => rows`
      insert into sms_messages (dedupe_key, kind, clinic_id, "to", "from", body, status, error_code, updated_at)
      select ${`alert-test-${++seq}-`} || g, 'reminder', ${clinic!.id}, '+15557654321', ${from}, 'hi', ${status},
        ${errorCode}, now() - interval '1 minute'
      from generate_series(1, ${n}::int) g returning id`;
    const filtered = await sms(2, "undelivered", "30007");
    await sms(1, "failed", "30003", "+15550002222");
    await sms(7, "delivered", null);
    await sms(40, "sending", null); // not final: not counted

    expect(changesOf(await evaluate(h, [smsFailures]))).toEqual(["sms_failures opened all"]);
    const [incident] = await incidentsOf(h, "sms_failures");
    expect(incident.title).toBe("3 of 10 SMS undelivered or failed (30%) in 60 min, mostly error 30007");
    expect(incident.figures.by_error_code).toEqual([{ value: "30007", n: 2 }, { value: "30003", n: 1 }]);
    expect(incident.figures.by_sending_number)
      .toEqual([{ value: "+15550001111", n: 2 }, { value: "+15550002222", n: 1 }]);
    expect(incident.examples.map((e: any) => e.id)).toEqual(expect.arrayContaining(filtered.map((r) => r.id)));

    await sms(30, "delivered", null);
    expect(changesOf(await evaluate(h, [smsFailures]))).toEqual(["sms_failures resolved all"]);
    expect(await alertEmails(h, incident.id)).toEqual(["opened", "resolved"]);
  });
});

describe("email outbox", () => {
  test("open for failing and long-waiting emails, leaving alert emails out; resolve when cleared", async () => {
    const email = (n: number, status: string, kind: string, minutesAgo: number) => rows`
      insert into email_outbox (dedupe_key, kind, "to", subject, body, status, last_error, created_at)
      select ${`alert-test-${++seq}-`} || g, ${kind}, 'someone@example.test', 's', 'b', ${status},
        case when ${status} = 'failed' then '550 mailbox unavailable' end, now() - make_interval(mins => ${minutesAgo})
      from generate_series(1, ${n}::int) g returning id`;
    // Alert emails that fail would otherwise keep reopening the incident that reports them.
    await email(5, "failed", "alert", 1);
    await email(2, "failed", "sms_fallback", 1);
    await email(1, "pending", "sms_fallback", 5);
    expect(changesOf(await evaluate(h, [emailOutbox]))).toEqual([]);

    const failed = await email(1, "failed", "payment_failed", 2);
    const [waiting] = await email(1, "pending", "hold_expired", 20);
    expect(changesOf(await evaluate(h, [emailOutbox])).sort())
      .toEqual(["email_outbox opened failed", "email_outbox opened waiting"]);
    const incidents = await incidentsOf(h, "email_outbox");
    const failing = incidents.find((i) => i.key === "failed");
    expect(failing.figures).toMatchObject({ failed: 3, threshold: 3, window_minutes: 60 });
    expect(failing.examples.map((e: any) => e.id)).toContain(failed[0]!.id);
    expect(failing.examples[0].detail).toContain("550 mailbox unavailable");
    const slow = incidents.find((i) => i.key === "waiting");
    expect(slow.figures).toMatchObject({ waiting: 1, oldest_waiting_minutes: 20, threshold_minutes: 15 });
    expect(slow.examples).toEqual([{ kind: "email", id: waiting!.id, detail: "hold_expired; attempts 0" }]);

    await rows`update email_outbox set created_at = created_at - interval '2 hours' where status = 'failed'`;
    await rows`update email_outbox set status = 'sent' where id = ${waiting!.id}`;
    expect(changesOf(await evaluate(h, [emailOutbox])).sort())
      .toEqual(["email_outbox resolved failed", "email_outbox resolved waiting"]);
    for (const incident of incidents) expect(await alertEmails(h, incident.id)).toEqual(["opened", "resolved"]);
  });
});
