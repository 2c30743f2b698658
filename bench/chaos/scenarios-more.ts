// The scenarios without a crash: several processes on one database, a slow customer, providers down.
import { API_KEY } from "../../test/support/harness";
import { startLoad } from "./load";
import type { Options, Row } from "./scenarios";
import { count, drained, fivexxDuring } from "./verify";
import { seed, startWorld } from "./world";

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

/**
 * 2 web + 2 worker processes: every effect once, the per-endpoint limits hold at the receiver, each cron task runs
 * once per tick (SWEEP_INTERVAL_MINUTES=1), each due reminder is sent once.
 */
export async function twoByTwo(opts: Options): Promise<Row> {
  const limits = { inFlight: 2, perWindow: 40, windowMs: 5000 };
  const world = await startWorld(await opts.database(), {
    OUTBOUND_MAX_IN_FLIGHT: String(limits.inFlight),
    OUTBOUND_MAX_PER_WINDOW: String(limits.perWindow),
    OUTBOUND_WINDOW_MS: String(limits.windowMs),
    LOG_LEVEL: "debug",
  });
  try {
    const cron = world.linesMatching(/Completed task \d+ \((send-reminders|sweep-holds|sweep-deliveries)/);
    for (const role of ["web", "web", "worker", "worker"] as const) await world.spawn(role);
    world.receiver.script([{ status: 200, delayMs: 150 }]);
    const seeded = await seed(world, { clinics: 4, patientsPerClinic: 10, remindable: 8 });
    const load = startLoad(world, seeded, opts.rate);
    // Long enough to hold at least one cron tick (every minute here).
    await Bun.sleep(opts.seconds * 1000);
    load.stop();
    await load.settle(90_000);
    await drained(world, 180_000);
    const counted = await count(world, load);
    const notes: string[] = [];

    const byPath = new Map<string, number[]>();
    for (const r of world.receiver.received) byPath.set(r.path, [...(byPath.get(r.path) ?? []), r.at]);
    let worstInFlight = 0;
    let worstWindow = 0;
    for (const [path, times] of byPath) {
      worstInFlight = Math.max(worstInFlight, world.receiver.maxInFlightAt(path));
      times.sort((a, b) => a - b);
      for (let i = 0, j = 0; i < times.length; i++) {
        while (times[i]! - times[j]! >= limits.windowMs) j++;
        worstWindow = Math.max(worstWindow, i - j + 1);
      }
    }
    notes.push(
      `per endpoint: at most ${worstInFlight} in flight (limit ${limits.inFlight}), ${worstWindow} started in any ` +
        `${limits.windowMs / 1000} s (limit ${limits.perWindow})`,
    );
    const ticks = new Map<string, number>();
    for (const { at, line } of cron) {
      const task = line.match(/\((send-reminders|sweep-holds|sweep-deliveries)/)![1]!;
      const key = `${task} ${new Date(at).toISOString().slice(0, 16)}`;
      ticks.set(key, (ticks.get(key) ?? 0) + 1);
    }
    const extra = [...ticks.values()].reduce((sum, n) => sum + n - 1, 0);
    notes.push(`cron: ${ticks.size} task ticks, ${extra} extra runs`);
    const [reminders] = await world.sql<{ appointments: number; sms: number }[]>`
      select count(distinct appointment_id)::int as appointments, count(*)::int as sms from sms_messages
      where kind = 'reminder' and appointment_id = any(${seeded.remindable}::uuid[])`;
    notes.push(
      `reminders: ${reminders!.sms} for ${reminders!.appointments} of ${seeded.remindable.length} due appointments`,
    );
    const violations = (worstInFlight > limits.inFlight ? 1 : 0) + (worstWindow > limits.perWindow ? 1 : 0);
    return {
      scenario: "2 web + 2 worker",
      sent: counted.sent,
      acknowledged: counted.acknowledged,
      lost: counted.lost,
      doubled: counted.doubled + extra + (reminders!.sms - reminders!.appointments) + violations,
      fivexxDuringFault: load.fivexx.length,
      recoveryMs: null,
      notes,
      details: counted.details,
    };
  } finally {
    await world.close();
  }
}

/** A hanging and a failing customer endpoint beside healthy ones: the healthy ones keep their pace. */
export async function slowEndpoint(opts: Options): Promise<Row> {
  const world = await startWorld(await opts.database(), { OUTBOUND_TIMEOUT_MS: "2000" });
  try {
    const web = await world.spawn("web");
    await world.spawn("worker");
    const api = async (path: string, body: unknown) => {
      const res = await fetch(`http://127.0.0.1:${web.port}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as { id: string } };
    };
    const conversation = async (path: string) =>
      (
        await api("/v1/conversations", {
          channel: "API",
          usecase: "chaos",
          config: { callback_url: `${world.receiver.url}${path}` },
        })
      ).body.id;
    const healthy = await Promise.all([1, 2, 3].map((i) => conversation(`/healthy/${i}`)));
    world.receiver.on("/hanging", [{ hang: true }]);
    world.receiver.on("/failing", [{ status: 500 }]);
    const bad = [await conversation("/hanging"), await conversation("/failing")];
    const posted = new Map<string, number>();
    let sent = 0,
      acked = 0,
      fivexx = 0;
    const post = async (id: string, phase: string) => {
      sent++;
      const started = Date.now();
      const res = await api(`/v1/conversations/${id}/messages`, {
        content: `${phase} ${sent}`,
        content_type: "TEXT",
        type: "BOT",
      });
      if (res.status === 201) acked++;
      if (res.status >= 500) fivexx++;
      if (healthy.includes(id) && res.status === 201) posted.set(res.body.id, started);
    };
    const phase = async (name: string, targets: string[], seconds: number) => {
      const until = Date.now() + seconds * 1000;
      const marks = posted.size;
      while (Date.now() < until) {
        await Promise.all(targets.map((id) => post(id, name)));
        await Bun.sleep(Math.max(0, 1000 / (opts.rate / targets.length)));
      }
      return [...posted.keys()].slice(marks);
    };
    const before = await phase("alone", healthy, opts.seconds / 3);
    const beside = await phase("beside", [...healthy, ...bad], (opts.seconds * 2) / 3);
    await drained(world, 120_000, {
      endpointsExcluded: [`${world.receiver.url}/hanging`, `${world.receiver.url}/failing`],
    });
    const arrived = new Map(world.receiver.received.map((r) => [JSON.parse(r.body).data?.id as string, r.at]));
    const latency = (ids: string[]) =>
      ids.map((id) => (arrived.get(id) ?? NaN) - posted.get(id)!).filter(Number.isFinite);
    const [a, b] = [latency(before), latency(beside)];
    const lost = [...posted.keys()].filter((id) => !arrived.has(id)).length;
    const hooks = world.receiver.received
      .filter((r) => r.path.startsWith("/healthy"))
      .map((r) => r.headers["webhook-id"]);
    return {
      scenario: "slow + failing endpoint",
      sent,
      acknowledged: acked,
      lost,
      doubled: 0,
      fivexxDuringFault: fivexx,
      recoveryMs: null,
      details: { redelivered: hooks.length - new Set(hooks).size },
      notes: [
        `healthy delivery p50/p95: alone ${percentile(a, 50)}/${percentile(a, 95)} ms, beside the bad ones ` +
          `${percentile(b, 50)}/${percentile(b, 95)} ms (${a.length}/${b.length} messages)`,
      ],
    };
  } finally {
    await world.close();
  }
}

/** Twilio's API and the SMTP server unreachable for `downSeconds` under load: queued, then sent once. */
export async function providersDown(opts: Options, downSeconds: number): Promise<Row> {
  const world = await startWorld(await opts.database());
  try {
    await world.spawn("web");
    await world.spawn("worker");
    const seeded = await seed(world, { clinics: 2, patientsPerClinic: 10, remindable: 0 });
    const load = startLoad(world, seeded, opts.rate);
    await Bun.sleep(5_000);
    const downAt = Date.now();
    await Promise.all([world.twilioProxy.cut(), world.smtpProxy.cut()]);
    await Bun.sleep(downSeconds * 1000);
    const [queued] = await world.sql<{ sms: number; emails: number }[]>`select
      (select count(*) from sms_messages where status in ('pending', 'unknown', 'sending'))::int as sms,
      (select count(*) from email_outbox where status in ('pending', 'sending'))::int as emails`;
    await Promise.all([world.twilioProxy.restore(), world.smtpProxy.restore()]);
    const upAt = Date.now();
    opts.log?.(`  providers down ${upAt - downAt} ms; queued then: ${queued!.sms} SMS, ${queued!.emails} emails`);
    await Bun.sleep(Math.max(0, downAt + opts.seconds * 1000 - Date.now()));
    load.stop();
    // Recovery: until every SMS and email queued before the providers came back has gone out.
    let recoveryMs: number | null = null;
    for (const until = Date.now() + 240_000; Date.now() < until;) {
      const [left] = await world.sql<{ n: number }[]>`select
        ((select count(*) from sms_messages where status in ('pending', 'unknown', 'sending')
            and created_at <= to_timestamp(${upAt / 1000}))
        + (select count(*) from email_outbox where status in ('pending', 'sending')
            and created_at <= to_timestamp(${upAt / 1000})))::int as n`;
      if (left!.n === 0) {
        recoveryMs = Date.now() - upAt;
        break;
      }
      await Bun.sleep(250);
    }
    await load.settle(90_000);
    await drained(world, 180_000);
    const counted = await count(world, load);
    return {
      scenario: `Twilio + SMTP down ${downSeconds} s`,
      sent: counted.sent,
      acknowledged: counted.acknowledged,
      lost: counted.lost,
      doubled: counted.doubled,
      fivexxDuringFault: fivexxDuring(load, [[downAt, upAt]]).during,
      recoveryMs,
      notes: [
        `queued while down: ${queued!.sms} SMS, ${queued!.emails} emails; then ${counted.details.smsTexted} texts, ` +
          `${counted.details.emailsSent} emails in all`,
      ],
      details: counted.details,
    };
  } finally {
    await world.close();
  }
}
