import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { alertEndpoint } from "../../src/alerts/endpoint";
import { evaluateAlerts } from "../../src/alerts/evaluate";
import { processingFailures } from "../../src/alerts/rules/inbound";
import { deliveryFailures } from "../../src/alerts/rules/outbound";
import { buildDeps, closeDeps, type Deps } from "../../src/deps";
import { newSecret } from "../../src/outbound/sign";
import { alertEmails, changesOf, evaluate, incidentsOf, insertEvents, rowsOf } from "../support/alerts";
import { createHarness, type Harness, PUBLIC_URL } from "../support/harness";

let h: Harness;
let other: Deps;
beforeAll(async () => {
  // The alert webhook points at a port nobody listens on: deliveries are only created here, never sent.
  h = await createHarness({ ALERT_WEBHOOK_URL: "https://alerts.example.test/hook", ALERT_WEBHOOK_SECRET: newSecret() });
  // A second process's worth of pools on the same database: the other evaluator.
  other = buildDeps(h.config, h.deps.databaseUrl, { log: h.deps.log });
});
afterAll(async () => {
  await closeDeps(other);
  await h.close();
});

const alertDeliveries = (incidentId: string) => rowsOf(h)`select event_type from deliveries
  where dedupe_key like ${`alert:${incidentId}:%`} order by seq`;

describe("two evaluators at the same moment", () => {
  test("open and resolve each incident once, with one email and one webhook each time", async () => {
    const endpointFailures = async (url: string, completedAgo: string) => {
      const [endpoint] = await rowsOf(h)`insert into webhook_endpoints (url, secret)
        values (${url}, 'whsec_dGVzdHRlc3R0ZXN0dGVzdA==') returning id`;
      await rowsOf(h)`insert into deliveries (endpoint_id, event_type, dedupe_key, webhook_id, body, status,
          completed_at)
        select ${endpoint!.id}, 'message.created', ${url} || g, 'msg_' || g, '{}', 'failed',
          now() - ${completedAgo}::interval
        from generate_series(1, 6) g`;
      return endpoint!.id as string;
    };
    // Several rounds, each racing both evaluators over a fresh endpoint's failures and then its recovery.
    for (let round = 0; round < 6; round++) {
      const id = await endpointFailures(`https://down-${round}.example.test/`, "10 seconds");
      const both = (first: Deps, second: Deps) =>
        Promise.all([evaluateAlerts(first, [deliveryFailures]), evaluateAlerts(second, [deliveryFailures])]);
      const opened = await both(h.deps, other);
      expect(changesOf(opened.flat())).toEqual([`delivery_failures opened ${id}`]);
      await rowsOf(h)`update deliveries set completed_at = now() - interval '2 hours' where endpoint_id = ${id}`;
      const resolved = await both(other, h.deps);
      expect(changesOf(resolved.flat())).toEqual([`delivery_failures resolved ${id}`]);

      const incidents = (await incidentsOf(h, "delivery_failures")).filter((i) => i.key === id);
      expect(incidents).toHaveLength(1);
      expect(await alertEmails(h, incidents[0].id)).toEqual(["opened", "resolved"]);
      expect(await alertDeliveries(incidents[0].id))
        .toEqual([{ event_type: "alert.opened" }, { event_type: "alert.resolved" }]);
    }
    // Every alert delivery goes to the one endpoint of ALERT_WEBHOOK_URL.
    expect(await rowsOf(h)`select url, purpose from webhook_endpoints where purpose is not null`)
      .toEqual([{ url: "https://alerts.example.test/hook", purpose: "alerts" }]);
  });
});

describe("while an incident stays open", () => {
  test("it is reminded every ALERT_REPEAT_HOURS until acknowledged; the resolution still goes out", async () => {
    await insertEvents(h, { provider: "stripe", count: 6, status: "failed", lastError: "boom" });
    expect(changesOf(await evaluate(h, [processingFailures]))).toEqual(["processing_failures opened stripe"]);
    const [incident] = await incidentsOf(h, "processing_failures");
    const back = (hours: number) => rowsOf(h)`update incidents
      set last_notified_at = last_notified_at - make_interval(hours => ${hours}) where id = ${incident.id}`;

    await back(3);
    expect(changesOf(await evaluate(h, [processingFailures]))).toEqual([]);
    await back(2); // 5 hours since the opening notification; ALERT_REPEAT_HOURS is 4
    expect(changesOf(await evaluate(h, [processingFailures]))).toEqual(["processing_failures reminder stripe"]);
    expect(changesOf(await evaluate(h, [processingFailures]))).toEqual([]);
    expect(await alertEmails(h, incident.id)).toEqual(["opened", "reminder:1"]);
    expect(await alertDeliveries(incident.id))
      .toEqual([{ event_type: "alert.opened" }, { event_type: "alert.reminder" }]);

    const ack = await h.api("POST", `/v1/alerts/${incident.id}/acknowledge`, { by: "ada (on call)" });
    expect(ack.status).toBe(200);
    expect(await ack.json())
      .toMatchObject({ id: incident.id, status: "open", acknowledged_by: "ada (on call)", reminders: 1 });
    const again = await (await h.api("POST", `/v1/alerts/${incident.id}/acknowledge`, { by: "someone else" }))
      .json() as any;
    expect(again.acknowledged_by).toBe("ada (on call)");
    await back(10);
    expect(changesOf(await evaluate(h, [processingFailures]))).toEqual([]);

    await insertEvents(h, { provider: "stripe", count: 100, status: "processed" });
    expect(changesOf(await evaluate(h, [processingFailures]))).toEqual(["processing_failures resolved stripe"]);
    expect(await alertEmails(h, incident.id)).toEqual(["opened", "reminder:1", "resolved"]);
  });
});

describe("GET /v1/alerts", () => {
  test("lists incidents newest first in pages, filters by status and rule, shows one; in /docs/json", async () => {
    await insertEvents(h, { provider: "twilio-sms", count: 5, status: "failed", lastError: "no clinic" });
    await evaluate(h, [processingFailures]);
    const list = await (await h.api("GET", "/v1/alerts?status=open")).json() as any;
    expect(list).toMatchObject({ has_more: false, next_cursor: null });
    expect(list.data.map((i: any) => `${i.rule} ${i.key}`)).toEqual(["processing_failures twilio-sms"]);
    expect(list.data[0]).toMatchObject({
      status: "open", rule: "processing_failures", key: "twilio-sms", resolved_at: null,
      description: processingFailures.description, hint: processingFailures.hint,
      figures: { failed: 5, finished: 5 }, url: `${PUBLIC_URL}/console/alerts/${list.data[0].id}`,
    });
    expect(list.data[0].examples[0].url).toBe(`${PUBLIC_URL}/console/webhook-events/${list.data[0].examples[0].id}`);

    // Every incident of this file, page by page: newest first, each once, the open one first (the newest).
    const all = (await rowsOf(h)`select id from incidents order by opened_at desc, id desc`).map((r) => r.id);
    const seen: string[] = [];
    let cursor = "";
    for (let pages = 0; pages < 10; pages++) {
      const body = await (await h.api("GET", `/v1/alerts?limit=3${cursor}`)).json() as any;
      seen.push(...body.data.map((i: any) => i.id));
      if (!body.has_more) break;
      cursor = `&cursor=${body.next_cursor}`;
    }
    expect(all.length).toBeGreaterThan(6);
    expect(seen).toEqual(all);
    expect(seen[0]).toBe(list.data[0].id);

    const resolved = await (await h.api("GET", "/v1/alerts?status=resolved&rule=delivery_failures&limit=2"))
      .json() as any;
    expect(resolved).toMatchObject({ has_more: true });
    expect(resolved.data).toHaveLength(2);
    expect(resolved.data.every((i: any) => i.rule === "delivery_failures" && i.resolved_at)).toBe(true);
    expect((await h.api("GET", "/v1/alerts?rule=nonsense")).status).toBe(400);

    const one = await h.api("GET", `/v1/alerts/${list.data[0].id}`);
    expect((await one.json() as any).id).toBe(list.data[0].id);
    expect((await h.api("GET", "/v1/alerts/6f1c2b9e-8a3d-4c55-9a7e-2d4f1b0c9e11")).status).toBe(404);
    expect((await h.api("POST", "/v1/alerts/6f1c2b9e-8a3d-4c55-9a7e-2d4f1b0c9e11/acknowledge")).status).toBe(404);
    expect((await h.request("/v1/alerts")).status).toBe(401);

    const document = await (await h.request("/docs/json")).json() as any;
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining([
      "/v1/alerts", "/v1/alerts/{id}", "/v1/alerts/{id}/acknowledge", "/api/v1/webhooks/twilio/debugger",
    ]));
  });
});

describe("the alert webhook's endpoint", () => {
  test("follows ALERT_WEBHOOK_URL, and a new ALERT_WEBHOOK_SECRET is rolled like a rotation", async () => {
    const [before] = await rowsOf(h)`select id, secret from webhook_endpoints where purpose = 'alerts'`;
    const secret = newSecret();
    const changed = { ...h.config, ALERT_WEBHOOK_URL: "https://pager.example.test/in", ALERT_WEBHOOK_SECRET: secret };
    const moved = await alertEndpoint(h.deps.db, changed);
    expect(moved).toMatchObject({ id: before!.id, url: "https://pager.example.test/in", secret });
    expect(moved!.previousSecret).toBe(before!.secret);
    expect(moved!.previousSecretExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 23 * 3600_000);
    expect(await alertEndpoint(h.deps.db, changed)).toMatchObject({ secret, previousSecret: before!.secret });
    expect(await alertEndpoint(h.deps.db, { ...changed, ALERT_WEBHOOK_URL: undefined })).toBeUndefined();
  });
});
