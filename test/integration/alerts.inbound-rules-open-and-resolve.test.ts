import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { backlog } from "../../src/alerts/rules/backlog";
import { ingestLatency, processingFailures, providerSilence } from "../../src/alerts/rules/inbound";
import { alertEmails, changesOf, evaluate, incidentsOf, insertEvents, rowsOf } from "../support/alerts";
import { createHarness, type Harness } from "../support/harness";

let h: Harness;
beforeAll(async () => { h = await createHarness(); });
afterAll(() => h.close());

describe("processing failures", () => {
  test("open when a provider's failed share crosses the threshold, resolve when it falls back", async () => {
    const failed = await insertEvents(h, {
      provider: "stripe", count: 3, status: "failed", lastError: "no appointment abc",
    });
    await insertEvents(h, { provider: "stripe", count: 7, status: "processed" });
    // Two of two failed for another provider: under ALERT_FAILURE_MIN_EVENTS (5), so not judged yet.
    await insertEvents(h, { provider: "twilio-sms", count: 2, status: "failed" });
    // Old failures are outside the 15-minute window.
    await insertEvents(h, { provider: "twilio-status", count: 20, status: "failed", ageSeconds: 3600 });

    expect(changesOf(await evaluate(h, [processingFailures]))).toEqual(["processing_failures opened stripe"]);
    const [incident] = await incidentsOf(h, "processing_failures");
    expect(incident).toMatchObject({
      key: "stripe", resolved_at: null, title: "stripe: 3 of 10 events failed (30%) in 15 min",
    });
    expect(incident.figures).toMatchObject({
      failed: 3, finished: 10, share_percent: 30, threshold_percent: 10, window_minutes: 15,
    });
    expect(incident.examples.map((e: any) => Number(e.id)).sort()).toEqual(failed.sort());
    expect(incident.examples[0]).toMatchObject({ kind: "webhook_event", detail: "no appointment abc" });
    expect(await alertEmails(h, incident.id)).toEqual(["opened"]);

    // Still failing: seen again, not notified again.
    expect(changesOf(await evaluate(h, [processingFailures]))).toEqual([]);
    expect(await alertEmails(h, incident.id)).toEqual(["opened"]);

    await insertEvents(h, { provider: "stripe", count: 30, status: "processed" });
    expect(changesOf(await evaluate(h, [processingFailures]))).toEqual(["processing_failures resolved stripe"]);
    const [resolved] = await incidentsOf(h, "processing_failures");
    expect(resolved.resolved_at).not.toBeNull();
    expect(resolved.figures).toMatchObject({ failed: 3, finished: 40, share_percent: 7.5 });
    expect(await alertEmails(h, incident.id)).toEqual(["opened", "resolved"]);
  });
});

describe("backlog", () => {
  test("opens for a pending webhook event and for a due job nobody started, resolves once they are done", async () => {
    const [eventId] = await insertEvents(h, {
      provider: "twilio-debugger", count: 1, status: "pending", ageSeconds: 600,
    });
    const [job] = await rowsOf(h)`select (graphile_worker.add_job('alerts-test-task', '{}'::json,
      run_at := now() - interval '10 minutes')).id`;
    // Fresh work is not a backlog.
    await insertEvents(h, { provider: "stripe", count: 1, status: "pending", ageSeconds: 5 });

    const outcome = changesOf(await evaluate(h, [backlog])).sort();
    expect(outcome).toEqual(["backlog opened jobs", "backlog opened webhook_events"]);
    const incidents = await incidentsOf(h, "backlog");
    const events = incidents.find((i) => i.key === "webhook_events");
    expect(events.figures).toMatchObject({ waiting: 2, threshold_seconds: 300 });
    expect(events.figures.oldest_seconds).toBeGreaterThanOrEqual(600);
    expect(events.examples[0]).toMatchObject({ kind: "webhook_event", id: String(eventId) });
    const jobs = incidents.find((i) => i.key === "jobs");
    expect(jobs.examples[0]).toMatchObject({ kind: "job", id: String(job.id) });
    expect(jobs.examples[0].detail).toContain("alerts-test-task");

    await rowsOf(h)`update webhook_events set status = 'processed' where status = 'pending'`;
    await rowsOf(h)`select graphile_worker.complete_jobs(array[${job.id}]::bigint[])`;
    expect(changesOf(await evaluate(h, [backlog])).sort())
      .toEqual(["backlog resolved jobs", "backlog resolved webhook_events"]);
    for (const incident of incidents) expect(await alertEmails(h, incident.id)).toEqual(["opened", "resolved"]);
  });
});

describe("ingest answer time", () => {
  test("opens when a provider's p99 of stored answer times passes ALERT_INGEST_P99_MS, resolves below", async () => {
    await insertEvents(h, { provider: "twilio-status", count: 19, responseMs: 6 });
    const [slow] = await insertEvents(h, { provider: "twilio-status", count: 1, responseMs: 4000 });
    expect(changesOf(await evaluate(h, [ingestLatency]))).toEqual(["ingest_p99 opened twilio-status"]);
    const [incident] = await incidentsOf(h, "ingest_p99");
    expect(incident.figures).toMatchObject({ events: 20, threshold_ms: 1000 });
    expect(incident.figures.p99_ms).toBeGreaterThan(1000);
    expect(incident.examples[0]).toMatchObject({ kind: "webhook_event", id: String(slow), detail: "4000 ms" });

    await insertEvents(h, { provider: "twilio-status", count: 300, responseMs: 6 });
    expect(changesOf(await evaluate(h, [ingestLatency]))).toEqual(["ingest_p99 resolved twilio-status"]);
    expect(await alertEmails(h, incident.id)).toEqual(["opened", "resolved"]);
  });
});

describe("provider silence", () => {
  const hour = 3600;
  const week = 7 * 24 * hour;

  test("is off by default, and with ALERT_SILENCE_HOURS opens for a provider quiet when it usually sends", async () => {
    // Stripe sent in these hours in three of the last four weeks; twilio-sms only in one of them.
    for (const weeks of [1, 2, 3]) {
      await insertEvents(h, { provider: "stripe", count: 1, ageSeconds: weeks * week + hour });
    }
    await insertEvents(h, { provider: "twilio-sms", count: 1, ageSeconds: week + hour });
    await rowsOf(h)`update webhook_events set received_at = now() - interval '3 days' where provider = 'stripe'
      and received_at > now() - interval '1 day'`;

    expect(changesOf(await evaluate(h, [providerSilence]))).toEqual([]);
    const silence = async () => changesOf(await evaluate(h, [providerSilence], { ALERT_SILENCE_HOURS: 2 }));
    expect(await silence()).toEqual(["provider_silence opened stripe"]);
    const [incident] = await incidentsOf(h, "provider_silence");
    expect(incident.figures).toMatchObject({ silent_hours: 2, weeks_with_traffic_at_this_time: 3, weeks_looked_at: 4 });

    await insertEvents(h, { provider: "stripe", count: 1, ageSeconds: 10 });
    expect(await silence()).toEqual(["provider_silence resolved stripe"]);
    expect(await alertEmails(h, incident.id)).toEqual(["opened", "resolved"]);
  });
});
