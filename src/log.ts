export type Level = "debug" | "info" | "warn" | "error" | "silent";
export type LogFormat = "pretty" | "json";
export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

// E.164 as written (`+`) or URL-encoded in a form body (`%2B`), 7 to 15 digits: short national numbers too.
const E164 = /(?<![\w%+-])(\+|%2[Bb])(\d{7,15})(?![\d])/g;
// Numbers written with separators or without a prefix: at least 10 digits, so ids and counts stay readable.
const PHONE = /(?<![\w-])\+?\d[\d\s().-]{8,}\d(?![\w-])/g;
const EMAIL = /([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;
// scheme://user:password@host: the password goes, whatever logged the URL.
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"]*):[^\s@/"]+@/gi;

/** Keeps a few leading and trailing digits; the shorter the number, the fewer. */
function maskDigits(prefix: string, digits: string): string {
  const lead = digits.length >= 11 ? 4 : digits.length >= 9 ? 3 : 2;
  const tail = digits.length >= 11 ? 4 : 2;
  return `${prefix}${digits.slice(0, lead)}***${digits.slice(-tail)}`;
}

/** Masks phone numbers (`+1555***4567`), emails (`j***@example.com`) and URL passwords anywhere in a string. */
export function mask(text: string): string {
  return text
    .replace(URL_PASSWORD, "$1:***@")
    .replace(EMAIL, (_m, first: string, domain: string) => `${first}***@${domain}`)
    .replace(E164, (_m, prefix: string, digits: string) => maskDigits(prefix, digits))
    .replace(PHONE, (m) => {
      const digits = m.replace(/\D/g, "");
      if (digits.length < 10) return m;
      return maskDigits(m.trimStart().startsWith("+") ? "+" : "", digits);
    });
}

/** An error as fields; at level error (a bug, a 500) with its stack and the cause's message. */
function errorFields(value: unknown, withStack: boolean): unknown {
  if (!(value instanceof Error)) return value;
  const cause = (value as { cause?: unknown }).cause;
  return {
    name: value.name,
    message: value.message,
    code: (value as { code?: unknown }).code,
    ...(cause instanceof Error ? { cause: `${cause.name}: ${cause.message}` } : {}),
    ...(withStack && value.stack ? { stack: value.stack } : {}),
  };
}

const scalar = (v: unknown) =>
  typeof v === "string" ? (/[\s"=]/.test(v) || v === "" ? JSON.stringify(v) : v) : JSON.stringify(v);

/** One readable line, then indented lines for nested values (the start-up banner, an error's stack). */
export function prettyLine(entry: Fields): string {
  const { time, level, msg, service: _service, ...fields } = entry;
  const clock = typeof time === "string" ? time.slice(11, 23) : "";
  let head = `${clock} ${String(level).toUpperCase().padEnd(5)} ${msg}`;
  const body: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (value === null || typeof value !== "object") {
      head += ` ${key}=${scalar(value)}`;
    } else if (Array.isArray(value)) {
      body.push(`  ${key}:`, ...value.map((v) => `    - ${typeof v === "string" ? v : JSON.stringify(v)}`));
    } else if (typeof (value as Fields).stack === "string") {
      body.push(`  ${key}: ${String((value as Fields).stack).replace(/\n/g, "\n  ")}`);
    } else {
      const entries = Object.entries(value as Fields).filter(([, v]) => v !== undefined);
      const width = Math.max(...entries.map(([sub]) => sub.length));
      const text = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
      body.push(`  ${key}:`, ...entries.map(([sub, v]) => `    ${`${sub}:`.padEnd(width + 1)}  ${text(v)}`));
    }
  }
  return [head, ...body].join("\n");
}

/** Structured lines on stdout (JSON, or `pretty` for a terminal); every line passes through `mask`. */
export function createLogger(
  level: Level = "info",
  base: Fields = {},
  write = (line: string) => console.log(line),
  format: LogFormat = "json",
): Logger {
  const emit = (lvl: Level, msg: string, fields?: Fields) => {
    if (ORDER[lvl] < ORDER[level]) return;
    const entry: Fields = { time: new Date().toISOString(), level: lvl, msg, ...base };
    for (const [k, v] of Object.entries(fields ?? {})) entry[k] = errorFields(v, lvl === "error");
    write(mask(format === "pretty" ? prettyLine(entry) : JSON.stringify(entry)));
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(level, { ...base, ...fields }, write, format),
  };
}

/** LOG_FORMAT, or pretty when stdout is a terminal (a person reads it) and JSON otherwise (Fly, a pipe). */
export function logFormat(configured: LogFormat | undefined, isTTY = !!process.stdout.isTTY): LogFormat {
  return configured ?? (isTTY ? "pretty" : "json");
}
