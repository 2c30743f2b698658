import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHarness, type Harness, METRICS_TOKEN } from "../support/harness";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const scrape = async () => {
  const res = await h.request("/metrics", { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  return res.text();
};
const value = (text: string, series: string) =>
  Number(text.split("\n").find((line) => line.startsWith(`${series} `))?.slice(series.length + 1));

test("queue lag, backlog ages and open incidents are read from the database at each scrape", async () => {
  const before = await scrape();
  expect(value(before, 'switchboard_backlog_oldest_seconds{queue="webhook_events"}')).toBe(0);
  expect(value(before, "switchboard_outbound_oldest_waiting_seconds")).toBe(0);

  await h.deps.sql`insert into webhook_events (provider, idempotency_key, headers, raw_body, response_status,
    response_body, response_content_type, received_at)
    values ('stripe', 'evt_gauge', '{}', '{}', 200, '', 'application/json', now() - interval '10 minutes')`;
  await h.deps.sql`insert into incidents (rule, key, title, figures) values ('backlog', 'webhook_events', 'a backlog',
    '{}')`;
  const after = await scrape();
  expect(value(after, 'switchboard_backlog_oldest_seconds{queue="webhook_events"}')).toBeGreaterThanOrEqual(600);
  expect(value(after, 'switchboard_alert_incidents_open{rule="backlog"}')).toBe(1);
  expect(value(after, 'switchboard_alert_incidents_open{rule="provider_silence"}')).toBe(0);
});
