import { afterAll, beforeAll, expect, test } from "bun:test";
import { NAMED_WITHOUT_FOREIGN_KEY } from "../../db/schema";
import { createHarness, type Harness, seedAppointment } from "../support/harness";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
  await seedAppointment(h);
});
afterAll(() => h.close());

const named = Object.keys(NAMED_WITHOUT_FOREIGN_KEY) as (keyof typeof NAMED_WITHOUT_FOREIGN_KEY)[];

test.each(named)("%s rows cannot be deleted or truncated, so no id naming one dangles", async (table) => {
  const [before] = await h.deps.sql`select count(*)::int as n from ${h.deps.sql(table)}`;
  for (const statement of [`delete from ${table}`, `truncate ${table} cascade`]) {
    const refused = await h.deps.sql.unsafe(statement).then(() => undefined, (error: unknown) => error);
    expect(refused).toMatchObject({
      code: "23001", message: `${table} rows are never deleted: other rows name them by id without a foreign key`,
    });
  }
  const [after] = await h.deps.sql`select count(*)::int as n from ${h.deps.sql(table)}`;
  expect(after!.n).toBe(before!.n);
});

test("the columns that name those rows carry no foreign key (their checks locked every named row)", async () => {
  const columns = Object.values(NAMED_WITHOUT_FOREIGN_KEY).flat();
  const present = await h.deps.sql<{ column: string }[]>`
    select c.relname || '.' || a.attname as column
    from pg_constraint k join pg_class c on c.oid = k.conrelid
    join pg_attribute a on a.attrelid = k.conrelid and a.attnum = any(k.conkey)
    where k.contype = 'f' and c.relname || '.' || a.attname = any(${columns}::text[])`;
  expect(present.map((r) => r.column)).toEqual([]);
  const existing = await h.deps.sql<{ column: string }[]>`
    select table_name || '.' || column_name as column from information_schema.columns
    where table_schema = 'public' and table_name || '.' || column_name = any(${columns}::text[])`;
  expect(existing.map((r) => r.column).sort()).toEqual([...columns].sort());
});
