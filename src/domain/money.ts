/** One formatter per currency code Intl knows (building one costs about 0.1 ms); an unknown code is not kept. */
const formats = new Map<string, Intl.NumberFormat>();

function formatFor(code: string): Intl.NumberFormat | undefined {
  let format = formats.get(code);
  if (format) return format;
  try {
    format = new Intl.NumberFormat("en-US", { style: "currency", currency: code });
  } catch {
    return undefined;
  }
  formats.set(code, format);
  return format;
}

/** Formats Stripe minor units: (6000, "usd") → "$60.00"; zero-decimal currencies such as JPY stay whole. */
export function formatMoney(amountMinor: number, currency: string): string {
  const code = currency.toUpperCase();
  const format = formatFor(code);
  if (!format) return `${(amountMinor / 100).toFixed(2)} ${code}`;
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(amountMinor / 10 ** digits);
}
