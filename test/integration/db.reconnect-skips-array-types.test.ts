import { afterAll, expect, test } from "bun:test";
import { connect } from "../../src/db";
import { createTestDatabase } from "../support/db";
import { startTcpProxy } from "../support/tcp-proxy";

// postgres.js learns the database's array types with a query of its own on a new connection, and nobody awaits it:
// a connection lost during that query left a rejected promise behind (ECONNREFUSED on its reconnect), which a test
// run counts as a failure of whatever test is running and the service logs as an unhandled rejection.
const database = await createTestDatabase();
const target = new URL(database.url);
const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
const via = new URL(database.url);
via.hostname = "127.0.0.1";
via.port = String(proxy.port);
const { sql } = connect(via.toString(), 1);

afterAll(async () => {
  await sql.end({ timeout: 1 });
  await proxy.close();
  await database.drop();
});

const numbers = () =>
  sql<{ xs: number[] }[]>`select array_agg(x) as xs from generate_series(1, 3) x`.then(([r]) => r!.xs);

// bun test fails the running test on an unhandled rejection: that is how the defect showed (in a /readyz test).
test("a reconnect skips the array types query, so losing it leaves no rejection unhandled; arrays parse", async () => {
  expect(await numbers()).toEqual([1, 2, 3]);
  // The database goes away (a query fails) and comes back; the next query opens a new connection, which the proxy
  // cuts if it asks for the types.
  await proxy.cut();
  expect(await numbers().then(() => "answered", () => "failed")).toBe("failed");
  await proxy.restore();
  let cut = false;
  void proxy.cutWhenClientSends("typarray").then(() => { cut = true; });
  const after = await numbers().catch((error: unknown) => error);
  expect(after).toEqual([1, 2, 3]);
  expect(cut).toBe(false);
});
