// "Lost" and "doubled", counted from the database and from what the fakes received, never assumed.
import type { Load } from "./load";
import type { World } from "./world";

export interface Outstanding {
  events: number;
  sms: number;
  emails: number;
  deliveries: number;
}

/** Work not finished yet: events not processed, SMS and emails not handed over, deliveries not succeeded. */
export async function outstanding(world: World, opts: { endpointsExcluded?: string[] } = {}): Promise<Outstanding> {
  const excluded = opts.endpointsExcluded ?? [];
  const [row] = await world.sql<Outstanding[]>`select
    (select count(*) from webhook_events where status = 'pending')::int as events,
    (select count(*) from sms_messages where status in ('pending', 'unknown', 'sending'))::int as sms,
    (select count(*) from email_outbox where status in ('pending', 'sending'))::int as emails,
    (select count(*) from deliveries d join webhook_endpoints e on e.id = d.endpoint_id
      where d.status <> 'succeeded'
        and not (e.url like any(${excluded.map((u) => `${u}%`)}::text[])))::int as deliveries`;
  return row!;
}

/** Polls until nothing is outstanding; returns when that happened (or undefined after `limitMs`). */
export async function drained(world: World, limitMs: number, opts: { endpointsExcluded?: string[] } = {}) {
  const until = Date.now() + limitMs;
  while (Date.now() < until) {
    const left = await outstanding(world, opts).catch(() => undefined);
    if (left && Object.values(left).every((n) => n === 0)) return Date.now();
    await Bun.sleep(250);
  }
  return undefined;
}

export interface Counted {
  sent: number;
  acknowledged: number;
  lost: number;
  doubled: number;
  details: Record<string, number>;
}

/**
 * lost: acknowledged webhooks with no stored event, or whose event is still unprocessed, plus SMS, emails and
 * deliveries (to endpoints that answer) never handed over. doubled: the same effect twice: a ledger row, an SMS
 * Twilio received more often than Switchboard has rows for it (sent or not: a send whose answer was never recorded
 * is not a double), an email the SMTP server received more often than
 * the outbox holds it, a second reply to one inbound SMS.
 */
export async function count(world: World, load: Load, opts: { endpointsExcluded?: string[] } = {}): Promise<Counted> {
  const acked = load.webhooks.filter((w) => w.ackedAt !== undefined);
  const stored = await world.sql<{ provider: string; key: string; status: string }[]>`
    select provider, idempotency_key as key, status from webhook_events`;
  const byKey = new Map(stored.map((r) => [`${r.provider} ${r.key}`, r.status]));
  const missing = acked.filter((w) => !byKey.has(`${w.provider} ${w.key}`)).length;
  const unprocessed = acked.filter((w) => byKey.get(`${w.provider} ${w.key}`) === "pending").length;
  const left = await outstanding(world, opts);

  const [ledger] = await world.sql<{ n: number }[]>`select coalesce(sum(n - 1), 0)::int as n from
    (select count(*) as n from transactions group by stripe_object_id, kind) t`;
  const [replies] = await world.sql<{ n: number }[]>`select coalesce(sum(n - 1), 0)::int as n from
    (select count(*) as n from messages where external_id is not null group by external_id, type) t`;
  const recorded = tally(
    (
      await world.sql<{ to: string; body: string }[]>`
    select "to", body from sms_messages`
    ).map((r) => `${r.to}\u0000${r.body}`),
  );
  const texted = tally(world.twilio.messages.map((m) => `${m.to}\u0000${m.body}`));
  const doubledTexts = [...texted].reduce((sum, [key, n]) => sum + Math.max(0, n - (recorded.get(key) ?? 0)), 0);
  const outbox = tally(
    (await world.sql<{ to: string }[]>`select "to" from email_outbox where status = 'sent'`).map((r) => r.to),
  );
  const mailed = tally(world.smtp.messages.flatMap((m) => m.to));
  const doubledEmails = [...mailed].reduce((sum, [to, n]) => sum + Math.max(0, n - (outbox.get(to) ?? 0)), 0);
  const hooks = world.receiver.received.map((r) => r.headers["webhook-id"]!).filter(Boolean);
  const [outboxRows] = await world.sql<{ n: number; undelivered: number }[]>`select
    (select count(*) from email_outbox)::int as n,
    (select count(*) from webhook_events where provider = 'twilio-status' and idempotency_key like '%:undelivered')::int
      as undelivered`;

  const details = {
    missing,
    unprocessed,
    unsentSms: left.sms,
    unsentEmails: left.emails,
    undelivered: left.deliveries,
    doubledLedger: ledger!.n,
    doubledReplies: replies!.n,
    doubledTexts,
    doubledEmails,
    // Same webhook-id received again (at-least-once; receivers deduplicate on it): reported, not an effect.
    redelivered: hooks.length - new Set(hooks).size,
    smsTexted: world.twilio.messages.length,
    emailsSent: world.smtp.messages.length,
    emailsQueued: outboxRows!.n,
    undeliveredCallbacks: outboxRows!.undelivered,
    customerWebhooks: new Set(hooks).size,
    refusedConnections: load.broken.length,
  };
  return {
    sent: load.webhooks.length,
    acknowledged: acked.length,
    lost: missing + unprocessed + left.sms + left.emails + left.deliveries,
    doubled: ledger!.n + replies!.n + doubledTexts + doubledEmails,
    details,
  };
}

function tally(keys: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const k of keys) out.set(k, (out.get(k) ?? 0) + 1);
  return out;
}

/**
 * 5xx answers to requests that were in flight during a fault window (plus `graceMs` after it: the first statement on
 * a connection the outage broke), and the others.
 */
export function fivexxDuring(load: Load, windows: [number, number][], graceMs = 2000) {
  const inside = load.fivexx.filter((r) => windows.some(([a, b]) => r.answeredAt >= a && r.at <= b + graceMs)).length;
  return { during: inside, outside: load.fivexx.length - inside };
}
