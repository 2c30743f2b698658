import { randomBytes } from "node:crypto";

/** A message as the fake Twilio REST API keeps it (the fields of Twilio's Message resource that matter here). */
export interface FakeMessage {
  sid: string;
  account_sid: string;
  to: string;
  from: string;
  body: string;
  status: string;
  status_callback: string | null;
  date_created: string;
  /** Every form parameter as sent. */
  params: Record<string, string>;
}

export interface TwilioError { status: number; code: number; message: string }
/**
 * How the next create call is answered: refused before anything is created (`error`), held before anything is
 * created until released (`hangBefore`), or the message is created and then the answer is late (`delayMs`), never
 * comes until released (`hang`), is an error anyway (`errorAfterCreate`, as a 5xx Twilio gives after it stored
 * the message), or carries another status.
 */
type Scripted =
  | { error: TwilioError } | { hangBefore: true } | { delayMs: number } | { hang: true }
  | { errorAfterCreate: TwilioError } | { status: string };

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const errorBody = (e: TwilioError) =>
  ({ code: e.code, message: e.message, more_info: `https://www.twilio.com/docs/errors/${e.code}`, status: e.status });

/**
 * A fake of Twilio's REST API on loopback, speaking its wire format: POST /2010-04-01/Accounts/{sid}/Messages.json
 * (form-encoded, Basic auth with the account sid and auth token) answers 201 with the Message JSON (sid "SM…",
 * status "queued"); GET on the same path lists messages (filters To, From). `fail`, `delay`, `hang`, `failAfterCreate`
 * and `answerStatus` script the next create calls (see Scripted); `failList` scripts the next list look-ups.
 * Errors are Twilio's error JSON {code, message, more_info, status}.
 */
export async function startFakeTwilio(opts: { accountSid: string; authToken: string }) {
  const messages: FakeMessage[] = [];
  const creates: Record<string, string>[] = [];
  const script: Scripted[] = [];
  const nextSids: string[] = [];
  const listScript: TwilioError[] = [];
  const held = new Set<() => void>();
  let lists = 0;
  const auth = `Basic ${Buffer.from(`${opts.accountSid}:${opts.authToken}`).toString("base64")}`;
  const json = (body: unknown, status = 200) => Response.json(body, { status });
  const resource = (m: FakeMessage) => ({
    sid: m.sid, account_sid: m.account_sid, api_version: "2010-04-01", to: m.to, from: m.from, body: m.body, status: m.status,
    direction: "outbound-api", num_segments: "1", num_media: "0", price: null, price_unit: "USD", error_code: null, error_message: null,
    messaging_service_sid: null, date_created: m.date_created, date_updated: m.date_created, date_sent: null,
    uri: `/2010-04-01/Accounts/${m.account_sid}/Messages/${m.sid}.json`,
    subresource_uris: { media: `/2010-04-01/Accounts/${m.account_sid}/Messages/${m.sid}/Media.json` },
  });

  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      const url = new URL(request.url);
      const match = url.pathname.match(/^\/2010-04-01\/Accounts\/(AC\w+)\/Messages\.json$/);
      if (!match) return json(errorBody({ status: 404, code: 20404, message: "The requested resource was not found" }), 404);
      if (request.headers.get("authorization") !== auth || match[1] !== opts.accountSid) {
        return json(errorBody({ status: 401, code: 20003, message: "Authenticate" }), 401);
      }
      if (request.method === "GET") {
        lists++;
        const listError = listScript.shift();
        if (listError) return json(errorBody(listError), listError.status);
        const to = url.searchParams.get("To"), from = url.searchParams.get("From");
        const found = messages.filter((m) => (!to || m.to === to) && (!from || m.from === from)).reverse();
        return json({ messages: found.map(resource), page: 0, page_size: found.length, start: 0, end: Math.max(found.length - 1, 0),
          first_page_uri: url.pathname, next_page_uri: null, previous_page_uri: null, uri: url.pathname + url.search });
      }
      if (request.method !== "POST") return json(errorBody({ status: 405, code: 20004, message: "Method not allowed" }), 405);
      const params = Object.fromEntries(new URLSearchParams(await request.text()));
      creates.push(params);
      const next = script.shift();
      if (next && "hangBefore" in next) await new Promise<void>((resolve) => held.add(resolve));
      if (next && "error" in next) return json(errorBody(next.error), next.error.status);
      if (!params.To) return json(errorBody({ status: 400, code: 21604, message: "A 'To' phone number is required." }), 400);
      if (!params.From) return json(errorBody({ status: 400, code: 21603, message: "A 'From' phone number is required." }), 400);
      if (!params.Body) return json(errorBody({ status: 400, code: 21602, message: "Message body is required." }), 400);
      const message: FakeMessage = {
        sid: nextSids.shift() ?? `SM${hex(16)}`, account_sid: opts.accountSid,
        to: params.To, from: params.From, body: params.Body, status: next && "status" in next ? next.status : "queued",
        status_callback: params.StatusCallback ?? null, date_created: new Date().toUTCString().replace("GMT", "+0000"), params,
      };
      messages.push(message);
      if (next && "delayMs" in next) await Bun.sleep(next.delayMs);
      if (next && "hang" in next) await new Promise<void>((resolve) => held.add(resolve));
      if (next && "errorAfterCreate" in next) {
        return json(errorBody(next.errorAfterCreate), next.errorAfterCreate.status);
      }
      return json(resource(message), 201);
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    /** Messages Twilio accepted. */
    messages,
    /** Every create request's form parameters, accepted or not. */
    creates,
    fail(error: TwilioError, times = 1) { for (let i = 0; i < times; i++) script.push({ error }); },
    delay(delayMs: number, times = 1) { for (let i = 0; i < times; i++) script.push({ delayMs }); },
    /** The next create stores the message and holds its answer until `release()` (or close). */
    hang() { script.push({ hang: true }); },
    /** The next create is held, before Twilio stores anything, until `release()` (or close). */
    hangBeforeCreate() { script.push({ hangBefore: true }); },
    /** How many create requests are being held now. */
    get hanging() { return held.size; },
    release() {
      for (const resolve of held) resolve();
      held.clear();
    },
    /** The next creates store the message, then answer this error (Twilio failing after it took the message). */
    failAfterCreate(error: TwilioError, times = 1) {
      for (let i = 0; i < times; i++) script.push({ errorAfterCreate: error });
    },
    /** The next create answers with this status instead of "queued" (e.g. "sending"). */
    answerStatus(status: string) { script.push({ status }); },
    /** The next list look-ups answer this error. */
    failList(error: TwilioError, times = 1) { for (let i = 0; i < times; i++) listScript.push(error); },
    /** How many list look-ups were made. */
    get lists() { return lists; },
    /** The sid the next created message gets (so a test can post its status callback before the send finishes). */
    useSid(sid: string) { nextSids.push(sid); },
    close() {
      for (const resolve of held) resolve();
      held.clear();
      return server.stop(true);
    },
  };
}

export type FakeTwilio = Awaited<ReturnType<typeof startFakeTwilio>>;
