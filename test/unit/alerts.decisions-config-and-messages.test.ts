import { describe, expect, test } from "bun:test";
import { alertEmail, alertWebhookBody, consoleUrl, incidentView } from "../../src/alerts/message";
import { backlog } from "../../src/alerts/rules/backlog";
import { processingFailures, providerSilence, twilioDebugger } from "../../src/alerts/rules/inbound";
import { smsFailures } from "../../src/alerts/rules/messaging";
import { deliveryRetries } from "../../src/alerts/rules/outbound";
import { parseCronItems } from "graphile-worker";
import { ConfigError, loadConfig } from "../../src/config";
import { cron } from "../../src/jobs";
import { parseDebuggerEvent } from "../../src/domain/twilio-debugger";

const config = loadConfig({ NODE_ENV: "test", PUBLIC_URL: "https://sb.example.test/" });

describe("rule decisions are pure functions of figures and thresholds", () => {
  test("processing failures need both the share and the minimum number of finished events", () => {
    const decide = (failed: number, finished: number) =>
      processingFailures.decide([{ provider: "stripe", failed, finished, examples: null }], config)[0]!.firing;
    expect(decide(1, 10)).toBe(true); // 10 % is the default threshold, inclusive
    expect(decide(1, 11)).toBe(false);
    expect(decide(4, 4)).toBe(false); // under ALERT_FAILURE_MIN_EVENTS (5)
    expect(decide(0, 0)).toBe(false);
  });

  test("backlog fires strictly above ALERT_BACKLOG_SECONDS, and counts an empty queue as fine", () => {
    const decide = (age: number | null) =>
      backlog.decide([{ queue: "jobs", oldest_seconds: age, waiting: 1, examples: null }], config)[0]!.firing;
    expect([decide(300), decide(300.6), decide(null)]).toEqual([false, true, false]);
  });

  test("retries are averaged over the window; SMS share needs ALERT_SMS_MIN_MESSAGES", () => {
    const retries = (n: number) => deliveryRetries.decide({ retries: n, top: null, examples: null }, config)[0]!;
    expect(retries(50)).toMatchObject({ firing: false, figures: { per_minute: 10 } });
    expect(retries(51)).toMatchObject({ firing: true, figures: { per_minute: 10.2 } });
    const sms = (failed: number, finished: number) =>
      smsFailures.decide({ failed, finished, by_error: null, by_sender: null, examples: null }, config)[0]!.firing;
    expect([sms(1, 10), sms(1, 11), sms(5, 9)]).toEqual([true, false, false]);
  });

  test("silence fires only when enabled, usual at this time, and quiet; debugger by count per code", () => {
    const silent = (hours: number, usual: number, recent: boolean) => providerSilence.decide(
      [{ provider: "stripe", last_received_at: null, recent, usual_weeks: usual }],
      { ...config, ALERT_SILENCE_HOURS: hours },
    )[0]!.firing;
    expect([silent(0, 4, false), silent(3, 3, false), silent(3, 2, false), silent(3, 4, true)])
      .toEqual([false, true, false, false]);
    expect(providerSilence.enabled!(config)).toBe(false);
    const found = twilioDebugger.decide([
      { error_code: "30007", events: 2, errors: 2, warnings: 0, last_at: "2026-11-23T15:00:00Z", examples: [] },
    ], config);
    expect(found[0]).toMatchObject({
      key: "30007", firing: true, figures: { twilio_docs: "https://www.twilio.com/docs/api/errors/30007" },
    });
  });
});

describe("the evaluation schedule", () => {
  test("runs every minute, one waiting job at a time, ahead of the webhook backlog, never retried", () => {
    const [item] = parseCronItems(cron({ SWEEP_INTERVAL_MINUTES: 5 }))
      .filter((i) => i.identifier === "evaluate-alerts");
    expect(item).toMatchObject({
      task: "evaluate-alerts", options: { jobKey: "evaluate-alerts", maxAttempts: 1, priority: -10 },
    });
    const at = (min: number) => ({ min, hour: 3, date: 4, month: 5, dow: 2 });
    const everyMinute = [0, 1, 59].map((minute) => item!.match(at(minute)));
    expect(everyMinute).toEqual([true, true, true]);
  });
});

describe("alert settings", () => {
  test("defaults are the README's, and ALERT_WEBHOOK_URL needs ALERT_WEBHOOK_SECRET", () => {
    expect(config).toMatchObject({
      ALERT_REPEAT_HOURS: 4, ALERT_FAILURE_PERCENT: 10, ALERT_FAILURE_WINDOW_MINUTES: 15, ALERT_BACKLOG_SECONDS: 300,
      ALERT_INGEST_P99_MS: 1000, ALERT_DELIVERY_FAILURES: 5, ALERT_RETRIES_PER_MINUTE: 10,
      ALERT_SMS_FAILURE_PERCENT: 10,
      ALERT_EMAIL_FAILURES: 3, ALERT_EMAIL_PENDING_MINUTES: 15, ALERT_SILENCE_HOURS: 0, ALERT_DEBUGGER_MIN_EVENTS: 1,
    });
    expect(() => loadConfig({ ALERT_WEBHOOK_URL: "https://alerts.example.test/" }))
      .toThrow(/ALERT_WEBHOOK_SECRET: required/);
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    expect(() => loadConfig({ ALERT_WEBHOOK_URL: "http://alerts.example.test/", ALERT_WEBHOOK_SECRET: secret }))
      .toThrow(/ALERT_WEBHOOK_URL: must be https/);
    expect(loadConfig({
      ALERT_WEBHOOK_URL: "http://127.0.0.1:9000/", ALERT_WEBHOOK_SECRET: secret, OUTBOUND_ALLOW_PRIVATE: "true",
    }).ALERT_WEBHOOK_URL).toBe("http://127.0.0.1:9000/");
    try {
      loadConfig({ ALERT_WEBHOOK_URL: "not a url", ALERT_WEBHOOK_SECRET: "short", ALERT_FAILURE_PERCENT: "150" });
      throw new Error("accepted");
    } catch (error) {
      expect((error as ConfigError).problems.map((p) => p.split(":")[0])).toEqual(
        expect.arrayContaining(["ALERT_WEBHOOK_URL", "ALERT_WEBHOOK_SECRET", "ALERT_FAILURE_PERCENT"]));
    }
  });
});

describe("a Twilio Debugger event", () => {
  const params = (payload: string, extra: Record<string, string> = {}) =>
    new URLSearchParams({
      Sid: "NO123", AccountSid: "AC1", Level: "Warning", Timestamp: "2026-11-23T15:00:00Z", Payload: payload, ...extra,
    });

  test("takes its error code from the JSON payload, a number or a string", () => {
    const payload = JSON.stringify({ error_code: 11200, resource_sid: "SM1", more_info: { Msg: "x" } });
    expect(parseDebuggerEvent(params(payload)))
      .toMatchObject({ sid: "NO123", level: "warning", errorCode: "11200", resourceSid: "SM1" });
    expect(parseDebuggerEvent(params(payload))?.moreInfo).toEqual({ Msg: "x" });
    expect(parseDebuggerEvent(params("{}", { Level: "ERROR" })))
      .toMatchObject({ level: "error", errorCode: "unknown" });
  });

  test("is still an event when the payload is not JSON, and none without a Sid", () => {
    expect(parseDebuggerEvent(params("<html>", { Timestamp: "yesterday" })))
      .toMatchObject({ errorCode: "unknown", occurredAt: null });
    expect(parseDebuggerEvent(new URLSearchParams({ Level: "Error" }))).toBeUndefined();
  });
});

describe("notifications", () => {
  const incident = {
    id: "6f1c2b9e-8a3d-4c55-9a7e-2d4f1b0c9e11", rule: "processing_failures", key: "stripe",
    title: "stripe: 3 of 10 events failed (30%) in 15 min", figures: { failed: 3, finished: 10, window_minutes: 15 },
    examples: [{ kind: "webhook_event", id: "42", detail: "no appointment" }, { kind: "job", id: "7" }],
    openedAt: new Date("2026-11-23T15:00:00Z"), lastSeenAt: new Date("2026-11-23T15:04:00Z"), resolvedAt: null,
    lastNotifiedAt: new Date("2026-11-23T15:00:00Z"), reminders: 0, acknowledgedAt: null, acknowledgedBy: null,
  };

  test("say what, since when, how bad, with examples linked to the console and what to check", () => {
    const view = incidentView(config, incident, processingFailures);
    const { subject, body } = alertEmail(view, "opened", new Date("2026-11-23T15:05:00Z"));
    expect(subject).toBe("[Switchboard] ALERT: stripe: 3 of 10 events failed (30%) in 15 min");
    expect(body).toContain("Since: 2026-11-23T15:00:00.000Z (last seen 2026-11-23T15:04:00.000Z)");
    expect(body).toContain("  failed: 3\n  finished: 10");
    expect(body).toContain("webhook_event 42: no appointment\n    https://sb.example.test/console/webhook-events/42");
    expect(body).toContain(`What to check: ${processingFailures.hint}`);
    expect(body).toContain(`POST /v1/alerts/${incident.id}/acknowledge`);
    expect(view.examples[1]).toEqual({ kind: "job", id: "7", url: null });

    const later = { ...incident, resolvedAt: new Date("2026-11-23T17:30:00Z") };
    const resolved = incidentView(config, later, processingFailures);
    expect(alertEmail(resolved, "resolved", new Date()).body).toStartWith("Resolved after 2 h 30 min: ");
    expect(alertEmail(view, "reminder", new Date("2026-11-23T19:00:00Z")).subject)
      .toStartWith("[Switchboard] STILL OPEN (4 h 0 min): ");
    expect(JSON.parse(alertWebhookBody(view, "opened", new Date("2026-11-23T15:05:00Z")))).toMatchObject({
      type: "alert.opened", timestamp: "2026-11-23T15:05:00.000Z",
      data: { id: incident.id, status: "open", figures: incident.figures },
    });
  });

  test("console links are relative without PUBLIC_URL", () => {
    expect(consoleUrl({ PUBLIC_URL: undefined }, "delivery", "d1")).toBe("/console/deliveries/d1");
    expect(consoleUrl({ PUBLIC_URL: undefined }, "job", "1")).toBeNull();
  });
});
