import { afterEach, beforeEach, expect, test } from "bun:test";
import { createHarness, type Harness } from "../support/harness";

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(() => h.close());

const readyz = async () => {
  const res = await h.request("/readyz");
  return { status: res.status, body: (await res.json()) as any };
};

test("a migrated database is ready", async () => {
  expect(await readyz()).toEqual({
    status: 200,
    body: {
      status: "ready",
      pending_migrations: [],
      worker_schema: { applied: expect.any(Number), expected: expect.any(Number) },
    },
  });
});

test("a missing migration is pending even when another row keeps the count up", async () => {
  // The journal's last migration was never applied, but some other migration row was recorded (another branch,
  // a hand-applied script): the number of rows still equals the number of files.
  const [last] = await h.deps
    .sql`select id, hash, created_at from drizzle.__drizzle_migrations order by created_at desc limit 1`;
  await h.deps.sql`update drizzle.__drizzle_migrations set hash = 'not-this-build' where id = ${last!.id}`;
  const { status, body } = await readyz();
  expect(status).toBe(503);
  expect(body.status).toBe("migrations pending");
  expect(body.pending_migrations).toHaveLength(1);
  expect(body.pending_migrations[0]).toMatch(/^\d{4}_\w+$/);
});

test("graphile-worker's schema behind this build's is not ready", async () => {
  await h.deps.sql`delete from graphile_worker.migrations where id = (select max(id) from graphile_worker.migrations)`;
  const { status, body } = await readyz();
  expect(status).toBe(503);
  expect(body.status).toBe("worker schema behind");
  expect(body.worker_schema.applied).toBe(body.worker_schema.expected - 1);
});

test("a database nobody migrated is 'migrations pending', not 'unreachable'", async () => {
  await h.deps.sql`drop schema drizzle cascade`;
  const { status, body } = await readyz();
  expect(status).toBe(503);
  expect(body.status).toBe("migrations pending");
  expect(body.pending_migrations.length).toBeGreaterThan(3);
});
