import { SMTPServer } from "smtp-server";

export interface SinkMessage { from: string; to: string[]; raw: string }

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
          const error = Object.assign(new Error(code >= 500 ? "Mailbox unavailable" : "Try again later"), { responseCode: code });
          return callback(error);
        }
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("utf8"),
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
    text: (m: SinkMessage) => m.raw.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_s, h) => String.fromCharCode(parseInt(h, 16))),
    close() {
      for (const resolve of held) resolve();
      held.clear();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
