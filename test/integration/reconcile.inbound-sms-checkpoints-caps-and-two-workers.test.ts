import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildDeps, closeDeps } from "../../src/deps";
import { StorageError } from "../../src/errors";
import { reconcileDue } from "../../src/reconcile/run";
import { type FakeTwilio, startFakeTwilio } from "../support/fake-twilio";
import {
  createHarness, type Harness, seedAppointment, testClock, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN,
} from "../support/harness";
import { uniquePhone } from "../support/twilio";

const MINUTE = 60_000;
let fake: FakeTwilio;
beforeAll(async () => {
  fake = await startFakeTwilio({ accountSid: TWILIO_ACCOUNT_SID, authToken: TWILIO_AUTH_TOKEN });
});
afterAll(() => fake.close());

/** A harness of its own (fresh database) with one clinic, and helpers around its number. */
async function world(env: Record<string, string> = {}) {
  const clock = testClock();
  const h = await createHarness({ TWILIO_API_URL: fake.url, ...env }, { sleep: async () => {}, clock });
  const seeded = await seedAppointment(h, { phone: uniquePhone() });
  const number = seeded.clinic.phone as string;
  // Messages come after the clinic was added (its created_at is the database's clock; the first run starts there).
  clock.set(new Date(Date.parse(seeded.clinic.created_at) + 1000));
  const rows = (q: TemplateStringsArray, ...v: any[]) => h.deps.sql(q, ...v) as Promise<any[]>;
  return {
    h, clock, number, patient: seeded.patient, rows,
    lost: (body: string) => fake.receive({ from: seeded.patient.phone, to: number, body, at: clock.now() }),
    run: async (deps = h.deps) => (await reconcileDue(deps, "twilio-sms")).find((r) => r.number === number)!,
    checkpoint: async () => (await rows`select checkpoint_at, cursor, window_from, failures, last_error
      from reconcile_checkpoints where provider = 'twilio-sms' and number = ${number}`)[0],
    stored: async () => (await rows`select idempotency_key as key from webhook_events
      where provider = 'twilio-sms' order by id`).map((r) => r.key),
    replies: () => fake.messages.filter((m) => m.to === seeded.patient.phone && m.direction !== "inbound"),
    lists: () => fake.reads.filter((r) => r.includes("/Messages.json") && r.includes(encodeURIComponent(number))),
  };
}

describe("paging under the call cap", () => {
  test("a run stops at RECONCILE_MAX_CALLS and keeps Twilio's page cursor; the next runs resume there", async () => {
    const w = await world({ RECONCILE_MAX_CALLS: "1", RECONCILE_PAGE_SIZE: "2" });
    try {
      const sent = [];
      for (let i = 0; i < 5; i++) {
        sent.push(w.lost(`message ${i}`));
        w.clock.advance(1000);
      }
      w.clock.advance(3 * MINUTE);
      const newestFirst = sent.map((m) => m.sid).reverse();

      expect(await w.run()).toMatchObject({ outcome: "partial", checked: 2 });
      expect(await w.stored()).toEqual(newestFirst.slice(0, 2).reverse());
      const halfway = await w.checkpoint();
      const start = Date.parse(halfway.checkpoint_at);
      expect(start).toBeLessThan(Date.parse(sent[0]!.date_sent!));
      expect(halfway.cursor).toContain("PageToken=");

      expect(await w.run()).toMatchObject({ outcome: "partial", checked: 2 });
      expect(Date.parse((await w.checkpoint()).checkpoint_at)).toBe(start);
      expect(await w.run()).toMatchObject({ outcome: "complete", checked: 1 });
      expect((await w.stored()).sort()).toEqual([...newestFirst].sort());
      const done = await w.checkpoint();
      expect(done).toMatchObject({ cursor: null, window_from: null });
      // The window's end: the clock less RECONCILE_GRACE_MINUTES (2).
      expect(Date.parse(done.checkpoint_at)).toBe(w.clock.now().getTime() - 2 * MINUTE);
      expect(w.lists().filter((r) => r.includes("PageToken="))).toHaveLength(2);

      await w.h.drain();
      expect(w.replies()).toHaveLength(5);
    } finally {
      await w.h.close();
    }
  });
});

describe("what could not be stored", () => {
  test("holds the checkpoint: the run stops at it, and a later run stores it and moves on", async () => {
    const w = await world();
    try {
      w.lost("first");
      w.clock.advance(3 * MINUTE);
      expect(await w.run()).toMatchObject({ outcome: "complete" });
      const before = (await w.checkpoint()).checkpoint_at;

      w.clock.advance(MINUTE);
      const older = w.lost("older");
      w.clock.advance(1000);
      const refused = w.lost("refused");
      w.clock.advance(1000);
      const newer = w.lost("newer");
      const real = w.h.deps.ingestBatcher;
      w.h.deps.ingestBatcher = {
        ...real,
        submit: (input) => (input.key === refused.sid
          ? Promise.reject(new StorageError(new Error("database unavailable")))
          : real.submit(input)),
      };
      w.clock.advance(10 * MINUTE);
      const failed = await w.run();
      w.h.deps.ingestBatcher = real;
      expect(failed).toMatchObject({ outcome: "failed", cause: "store" });
      expect(failed.error).toContain("database unavailable");
      expect(failed.found.map((f) => f.key)).toEqual([older.sid]);
      expect((await w.checkpoint()).checkpoint_at).toEqual(before);
      expect(await w.stored()).not.toContain(newer.sid);

      w.clock.advance(10 * MINUTE);
      const retried = await w.run();
      expect(retried).toMatchObject({ outcome: "complete" });
      expect(retried.found.map((f) => f.key)).toEqual([refused.sid, newer.sid]);
      expect(Date.parse((await w.checkpoint()).checkpoint_at)).toBeGreaterThan(Date.parse(before));
    } finally {
      await w.h.close();
    }
  });
});

describe("Twilio throttling or failing the list", () => {
  test("429 and 500 end the run without failing it; the checkpoint waits; a later run finds the message", async () => {
    const w = await world();
    try {
      const message = w.lost("are you open on Saturday?");
      w.clock.advance(3 * MINUTE);
      fake.failReads({ status: 429, code: 20429, message: "Too Many Requests" });
      expect(await w.run()).toMatchObject({ outcome: "failed", cause: "throttled", found: [] });
      const start = (await w.checkpoint()).checkpoint_at;
      const throttled = "throttled (HTTP 429): Too Many Requests";
      expect(await w.checkpoint()).toMatchObject({ failures: 1, last_error: throttled });

      w.clock.advance(10 * MINUTE);
      fake.failReads({ status: 500, code: 20500, message: "Internal Server Error" });
      expect(await w.run()).toMatchObject({ outcome: "failed", cause: "unavailable" });
      expect((await w.checkpoint()).checkpoint_at).toBe(start);
      // Two failures in a row: the next tick is skipped.
      w.clock.advance(10 * MINUTE);
      expect(await w.run()).toMatchObject({ outcome: "backing_off" });
      w.clock.advance(10 * MINUTE);
      const found = await w.run();
      expect(found.found.map((f) => f.key)).toEqual([message.sid]);
      expect(await w.checkpoint()).toMatchObject({ failures: 0, last_error: null });
    } finally {
      await w.h.close();
    }
  });
});

describe("two workers running the pass at once", () => {
  test("reconcile once: one event, one reply, and only one of them lists the number", async () => {
    const w = await world();
    const second = buildDeps(w.h.config, w.h.deps.databaseUrl, { log: w.h.deps.log, clock: w.clock });
    try {
      const message = w.lost("CONFIRM");
      w.clock.advance(3 * MINUTE);
      // Twilio answers the first listing slowly, so both runs are surely under way together.
      fake.delayReads(300);
      const [a, b] = await Promise.all([w.run(), w.run(second)]);
      expect([a, b].flatMap((r) => r.found.map((f) => f.key))).toEqual([message.sid]);
      expect([a.outcome, b.outcome].sort()).toEqual(["busy", "complete"]);
      expect(w.lists()).toHaveLength(1);
      await w.h.drain();
      expect(await w.stored()).toEqual([message.sid]);
      expect(w.replies()).toHaveLength(1);
    } finally {
      await closeDeps(second);
      await w.h.close();
    }
  });
});
