export type Level = "debug" | "info" | "warn" | "error" | "silent";
export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

const PHONE = /(?<![\w-])\+?\d[\d\s().-]{8,}\d(?![\w-])/g;
const EMAIL = /([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;

/** Masks phone numbers (`+1555***4567`) and emails (`j***@example.com`) anywhere in a string. */
export function mask(text: string): string {
  return text
    .replace(EMAIL, (_m, first: string, domain: string) => `${first}***@${domain}`)
    .replace(PHONE, (m) => {
      const digits = m.replace(/[^\d+]/g, "");
      if (digits.replace("+", "").length < 10) return m;
      return `${digits.slice(0, digits.startsWith("+") ? 5 : 4)}***${digits.slice(-4)}`;
    });
}

function errorFields(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, code: (value as any).code };
  return value;
}

/** Structured JSON lines on stdout; every line passes through `mask`. */
export function createLogger(level: Level = "info", base: Fields = {}, write = (line: string) => console.log(line)): Logger {
  const emit = (lvl: Level, msg: string, fields?: Fields) => {
    if (ORDER[lvl] < ORDER[level]) return;
    const entry: Fields = { time: new Date().toISOString(), level: lvl, msg, ...base };
    for (const [k, v] of Object.entries(fields ?? {})) entry[k] = errorFields(v);
    write(mask(JSON.stringify(entry)));
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
  };
}
