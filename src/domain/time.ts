/** Intl formatters are costly to build (about 0.1 ms each): one pair per time zone, kept. */
const formatters = new Map<string, { date: Intl.DateTimeFormat; time: Intl.DateTimeFormat }>();

function formattersFor(timeZone: string) {
  let pair = formatters.get(timeZone);
  if (!pair) {
    pair = {
      date: new Intl.DateTimeFormat(
        "en-US", { timeZone, weekday: "short", month: "short", day: "numeric", year: "numeric" },
      ),
      time: new Intl.DateTimeFormat("en-US", { timeZone, hour: "numeric", minute: "2-digit" }),
    };
    formatters.set(timeZone, pair);
  }
  return pair;
}

/** "Mon, Nov 23, 2026 at 10:00 AM" in the clinic's own time zone. */
export function formatWhen(at: Date, timeZone: string): string {
  const { date, time } = formattersFor(timeZone);
  return `${date.format(at)} at ${time.format(at)}`;
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
