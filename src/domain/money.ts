/**
 * One formatter per currency code Intl knows, with its minor-unit digits (building one costs about 0.1 ms, and
 * reading its options back is not free either); an unknown code is not kept.
 */
const formats = new Map<string, { format: Intl.NumberFormat; digits: number }>();

function formatFor(code: string) {
  let known = formats.get(code);
  if (known) return known;
  try {
    const format = new Intl.NumberFormat("en-US", { style: "currency", currency: code });
    known = { format, digits: format.resolvedOptions().maximumFractionDigits ?? 2 };
  } catch {
    return undefined;
  }
  formats.set(code, known);
  return known;
}

/** Formats Stripe minor units: (6000, "usd") → "$60.00"; zero-decimal currencies such as JPY stay whole. */
export function formatMoney(amountMinor: number, currency: string): string {
  const code = currency.toUpperCase();
  const known = formatFor(code);
  if (!known) return `${(amountMinor / 100).toFixed(2)} ${code}`;
  return known.format.format(amountMinor / 10 ** known.digits);
}
