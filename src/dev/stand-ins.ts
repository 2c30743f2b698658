// The outside world of `npm run dev` on one loopback port (plus SMTP): the fake Twilio REST API, the customer's
// webhook receiver, and a JSON page of everything they got. The same fakes the tests use (src/dev/fakes).
import { createFakeTwilio } from "./fakes/twilio";
import { createReceiver, type Received } from "./fakes/receiver";
import { readEmail, startSmtpSink } from "./fakes/smtp-sink";

export const RECEIVER_PREFIX = "/hooks/";

export interface StandInsOptions {
  port: number;
  /** Null: TWILIO_API_URL was given, so no fake Twilio. */
  twilio: { accountSid: string; authToken: string; stepMs: number; target: (statusCallback: string) => string } | null;
  /** False: SMTP_URL was given, so no sink. */
  smtp: boolean;
}

const parse = (body: string) => {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return body;
  }
};

const webhookView = (r: Received) => ({
  received_at: new Date(r.at).toISOString(), path: r.path, event: r.headers["switchboard-event"] ?? null,
  webhook_id: r.headers["webhook-id"] ?? null, body: parse(r.body),
});

export async function startStandIns(opts: StandInsOptions) {
  const twilio = opts.twilio ? createFakeTwilio({
    accountSid: opts.twilio.accountSid, authToken: opts.twilio.authToken,
    lifecycle: { stepMs: opts.twilio.stepMs, target: opts.twilio.target },
  }) : undefined;
  const receiver = createReceiver();
  const smtp = opts.smtp ? await startSmtpSink() : undefined;

  const views = {
    sms: () => (twilio?.messages ?? []).map((m) => ({
      sid: m.sid, to: m.to, from: m.from, body: m.body, media_urls: m.media_urls, status: m.status,
      error_code: m.error_code, date_created: m.date_created,
      status_callbacks: m.callbacks.map(({ status, at, answer }) => ({ status, at, answer })),
    })).reverse(),
    emails: () => (smtp?.messages ?? []).map(readEmail).reverse(),
    webhooks: () => receiver.received.map(webhookView).reverse(),
  };
  const page = (body: unknown, status = 200) =>
    new Response(`${JSON.stringify(body, null, 2)}\n`, { status, headers: { "content-type": "application/json" } });
  const notFound = () => page({ error: "not found", try: ["/", "/sms", "/emails", "/webhooks"] }, 404);

  const server = Bun.serve({
    port: opts.port,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(request) {
      const { pathname } = new URL(request.url);
      if (pathname.startsWith("/2010-04-01/") && twilio) return twilio.handle(request);
      if (pathname.startsWith(RECEIVER_PREFIX)) return receiver.handle(request);
      if (request.method !== "GET") return notFound();
      if (pathname === "/") {
        return page({
          about: "What the stand-ins of `npm run dev` received, newest first: SMS sent through the fake Twilio "
            + "API (with the status callbacks it posted back), emails caught by the SMTP sink, webhooks posted to the "
            + "receiver. Also at /sms, /emails and /webhooks.",
          sms: views.sms(), emails: views.emails(), webhooks: views.webhooks(),
        });
      }
      const name = pathname.slice(1);
      return Object.hasOwn(views, name) ? page(views[name as keyof typeof views]()) : notFound();
    },
  });
  const url = `http://127.0.0.1:${server.port}`;
  return {
    url,
    twilioApiUrl: twilio ? url : undefined,
    smtpUrl: smtp?.url,
    receiverUrl: `${url}${RECEIVER_PREFIX.slice(0, -1)}`,
    async stop() {
      twilio?.stop();
      receiver.release();
      server.stop(true);
      await smtp?.close();
    },
  };
}
