// The fault scenarios of issue 12, each against real processes on one database. Every one returns a Row of the
// table; the durations are parameters so `npm test` can run short versions of the first three.
import { type Load, startLoad } from "./load";
import { count, drained, fivexxDuring, outstanding } from "./verify";
import { type Database, seed, type Seeded, startWorld, type World } from "./world";

export interface Row {
  scenario: string;
  sent: number;
  acknowledged: number;
  lost: number;
  doubled: number;
  fivexxDuringFault: number;
  recoveryMs: number | null;
  notes: string[];
  details: Record<string, number>;
}

export interface Options {
  database: () => Promise<Database>;
  rate: number;
  seconds: number;
  log?: (line: string) => void;
}

const random = (min: number, max: number) => min + Math.random() * (max - min);

/** Starts a world with `webs` web and `workers` worker processes, seeds it, runs `body`, always closes it. */
async function inWorld<T>(
  opts: Options,
  shape: { webs: number; workers: number; env?: Record<string, string>; clinics?: number; remindable?: number },
  body: (world: World, seeded: Seeded) => Promise<T>,
): Promise<T> {
  const world = await startWorld(await opts.database(), shape.env);
  try {
    for (let i = 0; i < shape.webs; i++) await world.spawn("web");
    for (let i = 0; i < shape.workers; i++) await world.spawn("worker");
    const seeded = await seed(world, {
      clinics: shape.clinics ?? 2,
      patientsPerClinic: 10,
      remindable: shape.remindable ?? 0,
    });
    return await body(world, seeded);
  } finally {
    await world.close();
  }
}

/**
 * From `since` (the fault's end) until the service acknowledges again and every event stored before it is
 * processed; null when that takes longer than `limitMs`.
 */
async function recovery(world: World, load: Load, since: number, limitMs = 60_000): Promise<number | null> {
  const until = since + limitMs;
  while (Date.now() < until) {
    const acked = load.webhooks.some((w) => (w.ackedAt ?? 0) > since);
    const [row] = await world.sql<{ n: number }[]>`select count(*)::int as n from webhook_events
      where status = 'pending' and received_at <= to_timestamp(${since / 1000})`.catch(() => [{ n: -1 }]);
    if (acked && row!.n === 0) return Date.now() - since;
    await Bun.sleep(100);
  }
  return null;
}

/** Stops the load, waits for the providers' retries and the backlog, and counts. */
async function finish(
  world: World,
  load: Load,
  name: string,
  windows: [number, number][],
  recoveries: (number | null)[],
  notes: string[] = [],
  opts: { endpointsExcluded?: string[]; log?: (line: string) => void } = {},
): Promise<Row> {
  load.stop();
  await load.settle(90_000);
  const done = await drained(world, 180_000, opts);
  if (!done) {
    notes.push(`not drained after 180 s: ${JSON.stringify(await outstanding(world, opts))}`);
    const jobs = await world.sql`select task_identifier as task, locked_by is not null as locked, attempts,
      max(run_at) - now() as next_in, count(*)::int as n, max(last_error) as error
      from graphile_worker.jobs group by 1, 2, 3 order by 1, 2, 3`;
    opts.log?.(`  jobs left: ${JSON.stringify(jobs)}`);
    opts.log?.(`  workers: ${JSON.stringify(await world.sql`select * from worker_heartbeats`)}`);
  }
  const counted = await count(world, load, opts);
  const fivexx = fivexxDuring(load, windows);
  if (fivexx.outside > 0) notes.push(`${fivexx.outside} 5xx outside the fault`);
  counted.details.fivexxOutside = fivexx.outside;
  for (const r of load.fivexx) {
    const [a, b] = windows.find(([a]) => r.answeredAt >= a) ?? [0, 0];
    if (r.at > b + 2000 || r.answeredAt < a) {
      opts.log?.(
        `  5xx outside: ${r.status} ${r.path} sent ${r.at - b} ms after the fault, answered after ` +
          `${r.answeredAt - r.at} ms`,
      );
    }
  }
  if (load.broken.length > 0) notes.push(`${load.broken.length} sends met a closed port (retried)`);
  return {
    scenario: name,
    sent: counted.sent,
    acknowledged: counted.acknowledged,
    lost: counted.lost,
    doubled: counted.doubled,
    fivexxDuringFault: fivexx.during,
    recoveryMs: recoveries.some((r) => r === null) ? null : Math.max(0, ...(recoveries as number[])),
    notes,
    details: counted.details,
  };
}

/** kill -9 of the web (or worker) process `kills` times at random moments under load; restarted at once. */
export async function killNine(opts: Options, role: "web" | "worker", kills: number): Promise<Row> {
  return inWorld(opts, { webs: 1, workers: 1 }, async (world, seeded) => {
    const load = startLoad(world, seeded, opts.rate);
    const start = Date.now();
    const windows: [number, number][] = [];
    const recoveries: (number | null)[] = [];
    const slot = (opts.seconds * 1000) / kills;
    for (let k = 0; k < kills; k++) {
      // One kill somewhere in each slice of the run, never in its first or last second.
      await Bun.sleep(Math.max(0, start + k * slot + random(1000, slot - 1000) - Date.now()));
      const target = world.procs.find((p) => p.role === role)!;
      const { killedAt, upAt } = await world.kill9AndRestart(target);
      windows.push([killedAt, upAt]);
      opts.log?.(
        `  kill -9 ${role} #${k + 1} at +${((killedAt - start) / 1000).toFixed(1)} s, back after ${upAt - killedAt} ms`,
      );
      recoveries.push(await recovery(world, load, upAt));
    }
    await Bun.sleep(Math.max(0, start + opts.seconds * 1000 - Date.now()));
    return finish(world, load, `kill -9 ${role} ×${kills}`, windows, recoveries, [
      `restart ${Math.round(Math.max(...windows.map(([a, b]) => b - a)))} ms at most`,
    ]);
  });
}

/** Postgres unreachable for `outageSeconds` (every connection cut, new ones refused), no process restarted. */
export async function postgresOutage(opts: Options, outageSeconds: number): Promise<Row> {
  return inWorld(opts, { webs: 1, workers: 1 }, async (world, seeded) => {
    const load = startLoad(world, seeded, opts.rate);
    await Bun.sleep(Math.min(8_000, (opts.seconds * 1000) / 4));
    const web = world.webs()[0]!;
    // As Fly's health check asks: every 500 ms, 2 s timeout (0: no answer in time).
    const readyz = async () =>
      (await fetch(`http://127.0.0.1:${web.port}/readyz`, { signal: AbortSignal.timeout(2000) })).status;
    const cutAt = Date.now();
    await world.pgProxy.cut();
    const during: number[] = [];
    const polling = (async () => {
      while (Date.now() < cutAt + outageSeconds * 1000 - 2000) {
        during.push(await readyz().catch(() => 0));
        await Bun.sleep(500);
      }
    })();
    await Bun.sleep(outageSeconds * 1000);
    await world.pgProxy.restore();
    await polling;
    const restoredAt = Date.now();
    opts.log?.(`  postgres away ${restoredAt - cutAt} ms; /readyz during: ${summarise(during)}`);
    const recovered = await recovery(world, load, restoredAt);
    await Bun.sleep(Math.max(0, cutAt + opts.seconds * 1000 - Date.now()));
    const alive = world.procs.every((p) => p.started.proc.exitCode === null);
    const row = await finish(
      world,
      load,
      `Postgres stopped ${outageSeconds} s`,
      [[cutAt, restoredAt]],
      [recovered],
      [`/readyz while away: ${summarise(during)}`, alive ? "no process restarted" : "a process died"],
      { log: opts.log },
    );
    return {
      ...row,
      details: {
        ...row.details,
        readyzChecks: during.length,
        readyzGreen: during.filter((c) => c === 200).length,
        processesDied: alive ? 0 : 1,
      },
    };
  });
}

const summarise = (codes: number[]) =>
  [...new Set(codes)].map((c) => `${c}×${codes.filter((x) => x === c).length}`).join(" ");

export { twoByTwo, slowEndpoint, providersDown } from "./scenarios-more";
