import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHarness, type Harness } from "../support/harness";
import { signedStripeRequest, stripeEvent } from "../support/stripe";
import { waitFor } from "../support/wait";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

test("response_ms counts the wait for the commit: the answer cannot leave before the lock is released", async () => {
  const event = stripeEvent("customer.created", { id: "cus_slow_commit" });
  // Another transaction holds the same (provider, key) uncommitted: the webhook's insert waits for it.
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let lockTaken!: () => void;
  const taken = new Promise<void>((resolve) => {
    lockTaken = resolve;
  });
  const blocker = h.deps.sql
    .begin(async (tx) => {
      await tx`insert into webhook_events
        (provider, idempotency_key, headers, raw_body, response_status, response_body, response_content_type)
      values ('stripe', ${event.id}, '{}', '', 500, '', 'text/plain')`;
      lockTaken();
      await released;
      throw new Error("roll back");
    })
    .catch(() => {});
  await taken;

  const answer = h.request("/api/v1/webhooks/stripe/payment-events", await signedStripeRequest(event));
  // Bounded wait until the webhook's insert is really blocked on the lock.
  await waitFor(
    async () =>
      (
        await h.deps.sql`select 1 from pg_stat_activity
    where wait_event_type = 'Lock' and query like '%insert into webhook_events%'`
      ).length > 0,
    "the insert to wait on the lock",
    10_000,
  );
  // The request was received before its insert started waiting: from here to the release is a lower bound.
  const blockedAt = performance.now();
  await Bun.sleep(200);
  const heldFor = performance.now() - blockedAt;
  release();
  await blocker;
  expect((await answer).status).toBe(200);

  const row = await waitFor(
    async () => {
      const [r] = await h.deps
        .sql`select response_ms from webhook_events where provider = 'stripe' and idempotency_key = ${event.id}`;
      return r && r.response_ms >= Math.floor(heldFor) ? r : undefined;
    },
    "response_ms to cover the wait for the commit",
    10_000,
  ).catch(async (error) => {
    const [r] = await h.deps.sql`select response_ms from webhook_events where idempotency_key = ${event.id}`;
    throw new Error(`${error.message}: response_ms ${r?.response_ms}, held for ${heldFor.toFixed(1)} ms`);
  });
  expect(row.response_ms).toBeGreaterThanOrEqual(Math.floor(heldFor));
});
