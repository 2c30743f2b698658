import { afterAll, beforeAll, expect, test } from "bun:test";
import { drizzle } from "drizzle-orm/postgres-js";
import * as schema from "../../db/schema";
import { requeueEarlyCallbacks } from "../../src/effects/sms-status";
import { createHarness, type Harness } from "../support/harness";
import { messageSid, signedTwilioRequest } from "../support/twilio";

// Every stored sid asks for the callbacks that outran it (send-sms), so that look-up must go through an index:
// a scan over every ignored status event grows with each message sent from the Twilio console.
let h: Harness;
beforeAll(async () => { h = await createHarness(); });
afterAll(() => h.close());

const path = "/api/v1/webhooks/twilio/sms-status";
async function callback(sid: string, status: string) {
  const params = { MessageSid: sid, MessageStatus: status, AccountSid: "AC1" };
  const res = await h.request(path, signedTwilioRequest(path, params));
  expect(res.status).toBe(200);
}

/** Runs requeueEarlyCallbacks in a transaction that is rolled back; returns its result and the SQL it ran. */
async function requeueCapturing(sid: string) {
  const statements: { query: string; params: unknown[] }[] = [];
  const logger = { logQuery: (query: string, params: unknown[]) => statements.push({ query, params }) };
  const db = drizzle(h.deps.sql, { schema, logger });
  const rolledBack = new Error("rolled back");
  const requeued = await db.transaction(async (tx) => {
    const n = await requeueEarlyCallbacks(tx, sid);
    throw Object.assign(rolledBack, { n });
  }).catch((error: unknown) => (error === rolledBack ? rolledBack as Error & { n: number } : Promise.reject(error)));
  return { requeued: requeued.n, statements };
}

/** Callbacks for messages sent from the Twilio console pile up as ignored events, each kept in the history. */
async function consoleSentCallbacks(count: number) {
  await h.deps.sql`
    with events as (
      insert into webhook_events (provider, idempotency_key, headers, raw_body, response_status, response_body,
        response_content_type, status, last_error)
      select 'twilio-status', 'SMconsole' || i || ':delivered', '{}', '', 200, '', 'application/json', 'ignored',
        'unknown MessageSid'
      from generate_series(1, ${count}) i
      returning id, idempotency_key)
    insert into sms_status_events (twilio_sid, webhook_event_id, status)
    select split_part(idempotency_key, ':', 1), id, 'delivered' from events`;
  await h.deps.sql`analyze webhook_events`;
  await h.deps.sql`analyze sms_status_events`;
}

test("the callbacks that outran a sid are found through an index on the sid", async () => {
  await consoleSentCallbacks(2_000);
  const sid = messageSid();
  await callback(sid, "sent");
  await callback(sid, "delivered");
  await h.drain();
  const ignored = await h.deps.sql`select count(*)::int as n from webhook_events where status = 'ignored'`;
  expect(ignored[0]!.n).toBe(2_002);

  const { requeued, statements } = await requeueCapturing(sid);
  expect(requeued).toBe(2);
  const update = statements.find((s) => /^update "webhook_events"/i.test(s.query));
  expect(update).toBeDefined();
  // An index condition on the sid itself, not a scan of every ignored twilio-status event filtered afterwards.
  const rows = await h.deps.sql.unsafe(`explain ${update!.query}`, update!.params as never[]);
  const plan = rows.map((r) => String(r["QUERY PLAN"])).join("\n");
  expect(plan).toMatch(/Index Cond: .*(twilio_sid|idempotency_key)/);
});
