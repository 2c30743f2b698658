/** "Mon, Nov 23, 2026 at 10:00 AM" in the clinic's own time zone. */
export function formatWhen(at: Date, timeZone: string): string {
  const date = new Intl.DateTimeFormat(
    "en-US", { timeZone, weekday: "short", month: "short", day: "numeric", year: "numeric" },
  ).format(at);
  const time = new Intl.DateTimeFormat("en-US", { timeZone, hour: "numeric", minute: "2-digit" }).format(at);
  return `${date} at ${time}`;
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
