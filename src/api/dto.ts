/** `depositPaidAt` → `deposit_paid_at`, as a type. */
type Snake<S extends string> = S extends `${infer Head}${infer Rest}`
  ? `${Head extends Lowercase<Head> ? Head : `_${Lowercase<Head>}`}${Snake<Rest>}`
  : S;
/** A Date goes out as its ISO 8601 string (distributes over `Date | null`). */
type Wire<V> = V extends Date ? string : V;

/** A row as the API speaks it: snake_case keys, ISO 8601 times. */
export type Dto<T> = { [K in keyof T & string as Snake<K>]: Wire<T[K]> };

/** Rows out as the API speaks: snake_case keys, ISO 8601 times. */
export function toDto<T extends Record<string, unknown>>(row: T): Dto<T> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    out[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = value instanceof Date ? value.toISOString() : value;
  }
  return out as Dto<T>;
}
