import { SMTPServer } from "smtp-server";

export interface SinkMessage { from: string; to: string[]; raw: string; at: string }

const unQuote = (s: string) =>
  s.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
const decodeQp = (s: string) => Buffer.from(unQuote(s), "latin1").toString("utf8");

/** RFC 2047 encoded words (=?UTF-8?Q?…?= / =?UTF-8?B?…?=), as nodemailer writes a subject that is not ASCII. */
const ENCODED_WORD = /=\?([^?]+)\?([QBqb])\?([^?]*)\?=\s*/g;
const decodeWords = (s: string) => s.replace(ENCODED_WORD, (_m, _set, kind: string, t: string) =>
  (kind.toUpperCase() === "B" ? Buffer.from(t, "base64").toString("utf8") : decodeQp(t.replace(/_/g, " "))));

/** A sunk message as a person reads it: headers and plain-text body decoded (single-part text, as sent here). */
export function readEmail(m: SinkMessage) {
  const split = m.raw.search(/\r?\n\r?\n/);
  const head = (split < 0 ? m.raw : m.raw.slice(0, split)).replace(/\r?\n[ \t]+/g, " ");
  const body = split < 0 ? "" : m.raw.slice(split).replace(/^\r?\n\r?\n/, "");
  const header = (name: string) => head.match(new RegExp(`^${name}:\\s*(.*)$`, "im"))?.[1]?.trim() ?? "";
  const encoding = header("Content-Transfer-Encoding").toLowerCase();
  const text = encoding === "base64" ? Buffer.from(body, "base64").toString("utf8")
    : encoding === "quoted-printable" ? decodeQp(body) : body;
  return {
    received_at: m.at, from: m.from, to: m.to, subject: decodeWords(header("Subject")), date: header("Date"),
    message_id: header("Message-ID"), text: text.replace(/\r\n/g, "\n").trimEnd(),
  };
}

/**
 * A real SMTP server on loopback. `refuse(code, times)` makes it answer the next `times` DATA commands
 * with that code (4xx temporary, 5xx permanent). `hold()` makes it take the next message and keep its answer
 * until `release()`: the message counts as received, as when a server has it but the client never hears so.
 */
export async function startSmtpSink() {
  const messages: SinkMessage[] = [];
  const refusals: number[] = [];
  const held = new Set<() => void>();
  let holdNext = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", async () => {
        if (holdNext > 0) {
          holdNext--;
          await new Promise<void>((resolve) => held.add(resolve));
        }
        const code = refusals.shift();
        if (code) {
          const error = new Error(code >= 500 ? "Mailbox unavailable" : "Try again later");
          return callback(Object.assign(error, { responseCode: code }));
        }
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("utf8"),
          at: new Date().toISOString(),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    refuse(code: number, times = 1) { for (let i = 0; i < times; i++) refusals.push(code); },
    hold() { holdNext++; },
    /** How many answers are being held now. */
    get holding() { return held.size; },
    release() {
      for (const resolve of held) resolve();
      held.clear();
    },
    /** Plain-text body of a message (quoted-printable soft breaks removed). */
    text: (m: SinkMessage) => unQuote(m.raw),
    close() {
      for (const resolve of held) resolve();
      held.clear();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
