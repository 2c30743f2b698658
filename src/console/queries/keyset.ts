import { type SQL, sql } from "drizzle-orm";
import type { AnyPgColumn } from "drizzle-orm/pg-core";

/**
 * Keyset pages, newest first, ordered by (time, id): a cursor is the last row's time in microseconds (exact, unlike a
 * JS Date) and its id, `1795427242118123_42`. A page never skips or repeats a row, however many arrive meanwhile.
 */
export interface Cursor {
  micros: string;
  id: string;
}

export const PAGE_SIZE = 50;

export function parseCursor(value: unknown): Cursor | undefined {
  if (typeof value !== "string") return undefined;
  const match = /^(\d{1,20})_([0-9a-f-]{1,40})$/i.exec(value);
  return match ? { micros: match[1]!, id: match[2]! } : undefined;
}

/** The select expression giving a row's cursor. */
export const cursorOf = (time: AnyPgColumn, id: AnyPgColumn) =>
  sql<string>`(extract(epoch from ${time}) * 1000000)::bigint::text || '_' || ${id}::text`;

/** Rows strictly older than the cursor. `idType` casts the cursor's id to the column's type. */
export function olderThan(
  time: AnyPgColumn,
  id: AnyPgColumn,
  cursor: Cursor | undefined,
  idType: "bigint" | "uuid",
): SQL | undefined {
  if (!cursor) return undefined;
  const at = sql`(timestamptz 'epoch' + ${cursor.micros}::bigint * interval '1 microsecond')`;
  return idType === "bigint"
    ? sql`(${time}, ${id}) < (${at}, ${cursor.id}::bigint)`
    : sql`(${time}, ${id}) < (${at}, ${cursor.id}::uuid)`;
}

/** One page: fetch one row more than shown to know whether an older page exists. */
export function page<T extends { cursor: string }>(rows: T[], size = PAGE_SIZE): { rows: T[]; next?: string } {
  return rows.length > size ? { rows: rows.slice(0, size), next: rows[size - 1]!.cursor } : { rows };
}

/** A datetime-local value ("2026-11-23T09:30") or ISO time, read as UTC; undefined when empty or not a time. */
export function parseTime(value: unknown): Date | undefined {
  if (typeof value !== "string" || value.trim() === "") return undefined;
  const text = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`;
  const at = new Date(text);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

export const oneOf = <T extends string>(value: unknown, allowed: readonly T[]): T | undefined =>
  allowed.includes(value as T) ? (value as T) : undefined;

export const text = (value: unknown, max = 200): string | undefined =>
  typeof value === "string" && value.trim() !== "" ? value.trim().slice(0, max) : undefined;

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const uuid = (value: unknown): string | undefined =>
  typeof value === "string" && UUID.test(value) ? value : undefined;
