import { asc, desc, type SQL, sql } from "drizzle-orm";
import type { AnyPgColumn } from "drizzle-orm/pg-core";
import { t, type TSchema } from "elysia";
import { AppError } from "../errors";

/**
 * One way to page every list: keyset pagination on (sort column, id), so a page never skips or repeats a row
 * when rows arrive meanwhile, and every list has a reachable end (`has_more: false`). The cursor is opaque to
 * clients: base64url of the last row's exact position, read as text from Postgres (a timestamp keeps its
 * microseconds, which a JavaScript Date would lose).
 */

export const QueryInt = (
  name: string,
  opts: { minimum: number; maximum: number; default?: number; description?: string },
) =>
  // The title names the field in a validation error (Elysia checks query numbers on their own, without a path).
  t.Integer({ ...opts, title: name });

export const PageQuery = t.Object({
  limit: t.Optional(QueryInt("limit", { minimum: 1, maximum: 200, default: 50, description: "Items per page" })),
  cursor: t.Optional(t.String({ minLength: 1, maxLength: 500, description: "`next_cursor` of the previous page" })),
});

export const page = <T extends TSchema>(item: T) =>
  t.Object({
    data: t.Array(item),
    has_more: t.Boolean({ description: "Whether another page follows" }),
    next_cursor: t.Union([t.String(), t.Null()], {
      description: "Pass as `cursor` for the next page; null on the last page",
    }),
  });

/** How a list is ordered: an optional sort column (a timestamp), then the id as the tiebreaker. */
export interface Keyset {
  sort?: AnyPgColumn;
  id: AnyPgColumn;
  idType: "uuid" | "bigint";
  direction: "asc" | "desc";
}

/** The select field holding a row's position, to build the next cursor from. */
export const position = (k: Keyset) =>
  k.sort
    ? sql<string>`json_build_array(${k.sort}::text, ${k.id}::text)::text`
    : sql<string>`json_build_array(${k.id}::text)::text`;

export const orderBy = (k: Keyset): SQL[] => {
  const dir = k.direction === "asc" ? asc : desc;
  return k.sort ? [dir(k.sort), dir(k.id)] : [dir(k.id)];
};

const badCursor = () =>
  new AppError(400, "validation", "cursor: must be the next_cursor of a previous page", [
    { field: "cursor", message: "must be the next_cursor of a previous page" },
  ]);

/** Rows after the cursor's position, in the list's direction; undefined for the first page. */
export function after(k: Keyset, cursor: string | undefined): SQL | undefined {
  if (cursor === undefined) return undefined;
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw badCursor();
  }
  const ok = Array.isArray(values) && values.length === (k.sort ? 2 : 1) && values.every((v) => typeof v === "string");
  const id = ok ? (values as string[]).at(-1)! : "";
  if (!ok || !(k.idType === "bigint" ? /^\d{1,18}$/.test(id) : /^[0-9a-f-]{36}$/i.test(id))) throw badCursor();
  const op = k.direction === "asc" ? sql`>` : sql`<`;
  const idValue = k.idType === "uuid" ? sql`${id}::uuid` : sql`${id}::bigint`;
  if (!k.sort) return sql`${k.id} ${op} ${idValue}`;
  const at = (values as string[])[0]!;
  if (!/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?[+-]\d\d(:\d\d)?$/.test(at)) throw badCursor();
  return sql`(${k.sort}, ${k.id}) ${op} (${at}::timestamptz, ${idValue})`;
}

/**
 * The page from `limit + 1` rows fetched in order with `position(k)` selected as `_position`: the extra row
 * only says that more follow.
 */
export function toPage<R extends { _position: string }, D>(
  rows: R[],
  limit: number,
  dto: (row: Omit<R, "_position">) => D,
) {
  const more = rows.length > limit;
  const kept = rows.slice(0, limit);
  const last = kept.at(-1);
  return {
    data: kept.map(({ _position: _, ...row }) => dto(row)),
    has_more: more,
    next_cursor: more && last ? Buffer.from(last._position, "utf8").toString("base64url") : null,
  };
}
