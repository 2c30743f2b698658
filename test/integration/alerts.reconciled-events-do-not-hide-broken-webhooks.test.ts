import { afterAll, beforeAll, expect, test } from "bun:test";
import { ingestLatency, providerSilence } from "../../src/alerts/rules/inbound";
import { changesOf, evaluate, insertEvents, rowsOf } from "../support/alerts";
import { createHarness, type Harness } from "../support/harness";

let h: Harness;
beforeAll(async () => { h = await createHarness(); });
afterAll(() => h.close());

const HOUR = 3600;
const WEEK = 7 * 24 * HOUR;
/** Events reconciliation stored: the provider did not deliver them, Switchboard fetched them. */
async function reconciled(opts: Parameters<typeof insertEvents>[1]) {
  const ids = await insertEvents(h, opts);
  await rowsOf(h)`update webhook_events set source = 'reconcile' where id = any(${ids})`;
}

test("a provider whose webhooks stopped stays silent while reconciliation fetches its events", async () => {
  for (const weeks of [1, 2, 3]) {
    await insertEvents(h, { provider: "stripe", count: 1, ageSeconds: weeks * WEEK + HOUR });
  }
  const silence = async () => changesOf(await evaluate(h, [providerSilence], { ALERT_SILENCE_HOURS: 2 }));
  expect(await silence()).toEqual(["provider_silence opened stripe"]);

  // Stripe's webhooks still do not arrive (a wrong signing secret), but reconciliation finds the events.
  await reconciled({ provider: "stripe", count: 3, ageSeconds: 60 });
  expect(await silence()).toEqual([]);

  await insertEvents(h, { provider: "stripe", count: 1, ageSeconds: 10 });
  expect(await silence()).toEqual(["provider_silence resolved stripe"]);
});

test("the answer-time p99 counts only the answers providers waited for", async () => {
  await insertEvents(h, { provider: "twilio-status", count: 30, responseMs: 5 });
  // How long reconciliation took to store what it found is no provider's wait.
  await reconciled({ provider: "twilio-status", count: 5, responseMs: 9000 });
  expect(changesOf(await evaluate(h, [ingestLatency]))).toEqual([]);
});
