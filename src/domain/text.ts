/** Postgres text cannot hold NUL (0x00); anything from outside that we store or log as text goes through this. */
export function storableText(value: string, maxLength = Number.POSITIVE_INFINITY): string {
  const clean = value.includes("\u0000") ? value.replaceAll("\u0000", "\uFFFD") : value;
  return clean.length > maxLength ? clean.slice(0, maxLength) : clean;
}
