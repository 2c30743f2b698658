// The fake Twilio REST API: the tests' fake and `npm run dev`'s stand-in are this one file.
import { randomBytes } from "node:crypto";
import { API_VERSION, signTwilio, statusCallbackParams } from "../twilio-requests";
import { type InboundFields, twilioReads } from "./twilio-reads";
import { errorBody, type FakeMessage, type PostedCallback, type TwilioError } from "./twilio-wire";

/**
 * How the next create call is answered: refused before anything is created (`error`), held before anything is
 * created until released (`hangBefore`), or the message is created and then the answer is late (`delayMs`), never
 * comes until released (`hang`), is an error anyway (`errorAfterCreate`, as a 5xx Twilio gives after it stored
 * the message), or carries another status.
 */
type Scripted =
  | { error: TwilioError } | { hangBefore: true } | { delayMs: number } | { hang: true }
  | { errorAfterCreate: TwilioError } | { status: string };

export interface FakeTwilioOptions {
  accountSid: string;
  authToken: string;
  /**
   * Play each accepted message's life as Twilio does: queued, sent, then delivered (or undelivered with ErrorCode
   * 30003 for a number ending in 0000), one step every `stepMs`, each posted to its StatusCallback signed like
   * Twilio. Off unless given: the tests post the callbacks they need themselves.
   */
  lifecycle?: {
    stepMs?: number;
    /** Where to post a callback for `statusCallback` (a PUBLIC_URL out of reach); it stays signed for the original. */
    target?: (statusCallback: string) => string;
  };
}

const UNREACHABLE = { code: 30003, message: "Unreachable destination handset" };
const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const rfc2822 = (at = new Date()) => at.toUTCString().replace("GMT", "+0000");
const json = (body: unknown, status = 200) => Response.json(body, { status });
const twilioError = (status: number, code: number, message: string) =>
  json(errorBody({ status, code, message }), status);
const notFound = () => twilioError(404, 20404, "The requested resource was not found");
const fails = (to: string) => to.replace(/\D/g, "").endsWith("0000");

/** GSM-7 segments: 160 characters alone, 153 each when split. */
const segments = (body: string) => (body.length <= 160 ? 1 : Math.ceil(body.length / 153));

function resource(m: FakeMessage & InboundFields) {
  return {
    sid: m.sid, account_sid: m.account_sid, api_version: API_VERSION, to: m.to, from: m.from, body: m.body,
    status: m.status,
    direction: m.direction ?? "outbound-api", num_segments: String(segments(m.body)),
    num_media: String(m.media?.length ?? m.media_urls.length),
    price: m.date_sent ? "-0.00790" : null, price_unit: "USD", error_code: m.error_code, error_message: m.error_message,
    messaging_service_sid: m.params.MessagingServiceSid ?? null, date_created: m.date_created,
    date_updated: m.date_updated,
    date_sent: m.date_sent, uri: `/${API_VERSION}/Accounts/${m.account_sid}/Messages/${m.sid}.json`,
    subresource_uris: { media: `/${API_VERSION}/Accounts/${m.account_sid}/Messages/${m.sid}/Media.json` },
  };
}

/**
 * Twilio's REST API for messages, as a request handler speaking its wire format (Basic auth with the account sid
 * and auth token): POST /2010-04-01/Accounts/{sid}/Messages.json creates (201, status "queued"); the GETs (list
 * with paging and filters, fetch, media) are twilio-reads.ts. `fail` and `delay` script the next creates: a
 * Twilio error JSON, or a late answer (the message is still created, as when Twilio is slow to answer).
 */
export function createFakeTwilio(opts: FakeTwilioOptions) {
  const messages: (FakeMessage & InboundFields)[] = [];
  const creates: Record<string, string>[] = [];
  const script: Scripted[] = [];
  const nextSids: string[] = [];
  const listScript: TwilioError[] = [];
  const held = new Set<() => void>();
  const hold = () => new Promise<void>((resolve) => held.add(resolve));
  let lists = 0;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const auth = `Basic ${Buffer.from(`${opts.accountSid}:${opts.authToken}`).toString("base64")}`;
  let stopped = false;

  async function postCallback(m: FakeMessage) {
    const params = statusCallbackParams({
      sid: m.sid, status: m.status, to: m.to, from: m.from, accountSid: m.account_sid,
      messagingServiceSid: m.params.MessagingServiceSid, errorCode: m.error_code ? String(m.error_code) : undefined,
    });
    const url = m.status_callback!;
    const record: PostedCallback = { status: m.status, url, at: new Date().toISOString(), answer: 0 };
    m.callbacks.push(record);
    try {
      const res = await fetch(opts.lifecycle?.target?.(url) ?? url, {
        method: "POST",
        headers: signTwilio(url, params, opts.authToken),
        body: new URLSearchParams(params).toString(),
        redirect: "manual",
        signal: AbortSignal.timeout(15_000),
      });
      await res.arrayBuffer();
      record.answer = res.status;
    } catch (error) {
      record.answer = `error: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  /** queued → sent → delivered | undelivered, one step at a time; each callback is answered before the next. */
  function playLifecycle(m: FakeMessage, stepMs: number) {
    const steps = ["queued", "sent", fails(m.to) ? "undelivered" : "delivered"];
    const next = (i: number) => {
      if (stopped || i >= steps.length) return;
      const timer = setTimeout(async () => {
        timers.delete(timer);
        const now = new Date();
        m.status = steps[i]!;
        m.date_updated = rfc2822(now);
        if (m.status === "sent") m.date_sent = rfc2822(now);
        if (m.status === "undelivered") {
          Object.assign(m, { error_code: UNREACHABLE.code, error_message: UNREACHABLE.message });
        }
        if (m.status_callback) await postCallback(m);
        next(i + 1);
      }, stepMs);
      timers.add(timer);
    };
    next(0);
  }

  async function create(request: Request): Promise<Response> {
    const form = new URLSearchParams(await request.text());
    const params = Object.fromEntries(form);
    creates.push(params);
    const next = script.shift();
    if (next && "hangBefore" in next) await hold();
    if (next && "error" in next) return json(errorBody(next.error), next.error.status);
    if (!params.To) return twilioError(400, 21604, "A 'To' phone number is required.");
    if (!params.From && !params.MessagingServiceSid) {
      return twilioError(400, 21603, "A 'From' phone number is required.");
    }
    if (!params.Body && !params.MediaUrl) return twilioError(400, 21602, "Message body is required.");
    const now = rfc2822();
    const message: FakeMessage = {
      sid: nextSids.shift() ?? `SM${hex(16)}`, account_sid: opts.accountSid, to: params.To, from: params.From ?? "",
      body: params.Body ?? "", status: next && "status" in next ? next.status : "queued",
      status_callback: params.StatusCallback ?? null, date_created: now,
      date_updated: now, date_sent: null, error_code: null, error_message: null, params,
      media_urls: form.getAll("MediaUrl"), callbacks: [],
    };
    messages.push(message);
    if (opts.lifecycle) playLifecycle(message, opts.lifecycle.stepMs ?? 300);
    if (next && "delayMs" in next) await Bun.sleep(next.delayMs);
    if (next && "hang" in next) await hold();
    if (next && "errorAfterCreate" in next) return json(errorBody(next.errorAfterCreate), next.errorAfterCreate.status);
    return json(resource(message), 201);
  }

  const reads = twilioReads(opts.accountSid, messages, resource);

  async function read(url: URL): Promise<Response> {
    if (url.pathname.endsWith("/Messages.json")) {
      lists++;
      const listError = listScript.shift();
      if (listError) return json(errorBody(listError), listError.status);
    }
    return reads.handle(url);
  }

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const match = url.pathname.match(/^\/2010-04-01\/Accounts\/(AC\w+)\/Messages(\.json$|\/)/);
    if (!match) return notFound();
    if (request.headers.get("authorization") !== auth || match[1] !== opts.accountSid) {
      return twilioError(401, 20003, "Authenticate");
    }
    if (request.method === "GET") return read(url);
    if (match[2] !== ".json") return twilioError(405, 20004, "Method not allowed");
    if (request.method !== "POST") return twilioError(405, 20004, "Method not allowed");
    return create(request);
  }

  return {
    handle,
    /** Messages Twilio accepted. */
    messages,
    /** Every create request's form parameters, accepted or not. */
    creates,
    fail(error: TwilioError, times = 1) { for (let i = 0; i < times; i++) script.push({ error }); },
    delay(delayMs: number, times = 1) { for (let i = 0; i < times; i++) script.push({ delayMs }); },
    /** The next create stores the message and holds its answer until `release()` (or stop). */
    hang() { script.push({ hang: true }); },
    /** The next create is held, before Twilio stores anything, until `release()` (or stop). */
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
    ...reads.controls,
    /** The sid the next created message gets (so a test can post its status callback before the send finishes). */
    useSid(sid: string) { nextSids.push(sid); },
    /** Cancels the status callbacks not yet posted and answers every held request. */
    stop() {
      stopped = true;
      for (const resolve of held) resolve();
      held.clear();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

/** The fake on its own loopback port (what the tests use). */
export function startFakeTwilio(opts: FakeTwilioOptions) {
  const fake = createFakeTwilio(opts);
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: fake.handle });
  const served = {
    url: `http://127.0.0.1:${server.port}`,
    close: () => {
      fake.stop();
      return server.stop(true);
    },
  };
  // Descriptors, not a spread: `hanging` and `lists` stay live getters.
  return Object.defineProperties(served, Object.getOwnPropertyDescriptors(fake)) as typeof served & typeof fake;
}

export type FakeTwilio = ReturnType<typeof startFakeTwilio>;
