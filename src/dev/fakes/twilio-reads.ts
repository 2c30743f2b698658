// The read side of the fake Twilio REST API (twilio.ts): what reconciliation and send-sms look-ups call.
import { randomBytes } from "node:crypto";
import { errorBody, type FakeMessage, type TwilioError } from "./twilio-wire";

/** Fields only the read side sets: a message Twilio received, and its media. */
export interface InboundFields {
  direction?: "inbound";
  media?: { contentType: string }[];
}

type ReadScript = TwilioError | { delayMs: number };

/**
 * Twilio's read endpoints over the fake's messages, in Twilio's wire format:
 * - GET /2010-04-01/Accounts/{sid}/Messages.json: newest first; filters To, From, `DateSent>` / `DateSent<`
 *   (on or after / on or before; a date or a date-time); PageSize (default 50, at most 1000), paging by
 *   `next_page_uri` with an opaque PageToken.
 * - GET …/Messages/{sid}.json (fetch; 404 code 20404 when unknown) and …/Messages/{sid}/Media.json.
 * `failReads` scripts the next GET answers as Twilio errors (429, 500), `delayReads` as late. `receive` records an
 * inbound message Twilio got without calling any webhook; `setStatus` moves a message without a status callback.
 */
export function twilioReads(
  accountSid: string,
  messages: (FakeMessage & InboundFields)[],
  resource: (m: FakeMessage & InboundFields) => Record<string, unknown>,
) {
  const script: ReadScript[] = [];
  /** Every GET path and query, in order. */
  const reads: string[] = [];
  const base = `/2010-04-01/Accounts/${accountSid}`;
  const json = (body: unknown, status = 200) => Response.json(body, { status });
  const error = (e: TwilioError) => json(errorBody(e), e.status);
  const sentAt = (m: FakeMessage) => Date.parse(m.date_sent ?? m.date_created);
  const bound = (value: string | null) =>
    (value === null ? undefined : Date.parse(/T/.test(value) ? value : `${value}T00:00:00Z`));

  function list(url: URL) {
    const q = url.searchParams;
    const [to, from] = [q.get("To"), q.get("From")];
    const [after, before] = [bound(q.get("DateSent>")), bound(q.get("DateSent<"))];
    const size = Math.min(Number(q.get("PageSize") ?? 50), 1000);
    const matching = messages.filter((m) => (!to || m.to === to) && (!from || m.from === from)
      && (after === undefined || sentAt(m) >= after) && (before === undefined || sentAt(m) <= before))
      .map((m, i) => ({ m, i })).sort((a, b) => sentAt(b.m) - sentAt(a.m) || b.i - a.i).map(({ m }) => m);
    const token = q.get("PageToken");
    const start = token ? matching.findIndex((m) => m.sid === token.slice(2)) + 1 : 0;
    const page = matching.slice(start, start + size);
    const pageNumber = Number(q.get("Page") ?? 0);
    const next = new URLSearchParams(q);
    next.set("Page", String(pageNumber + 1));
    next.set("PageToken", `PA${page.at(-1)?.sid}`);
    return json({
      messages: page.map(resource), page: pageNumber, page_size: size, start, end: start + Math.max(page.length - 1, 0),
      first_page_uri: `${url.pathname}?${q}`, previous_page_uri: null, uri: `${url.pathname}?${q}`,
      next_page_uri: start + size < matching.length ? `${url.pathname}?${next}` : null,
    });
  }

  function media(m: FakeMessage & InboundFields) {
    const items = (m.media ?? []).map((item, i) => {
      const sid = `ME${m.sid.slice(2, 32)}${String(i).padStart(2, "0")}`;
      return {
        sid, account_sid: accountSid, parent_sid: m.sid, content_type: item.contentType, date_created: m.date_created,
        date_updated: m.date_created, uri: `${base}/Messages/${m.sid}/Media/${sid}.json`,
      };
    });
    const uri = `${base}/Messages/${m.sid}/Media.json`;
    return json({
      media_list: items, page: 0, page_size: 50, start: 0, end: Math.max(items.length - 1, 0), uri, first_page_uri: uri,
      next_page_uri: null, previous_page_uri: null,
    });
  }

  return {
    /** Answers a GET under the account (already authenticated). */
    async handle(url: URL): Promise<Response> {
      reads.push(url.pathname + url.search);
      const scripted = script.shift();
      if (scripted && "delayMs" in scripted) await Bun.sleep(scripted.delayMs);
      else if (scripted) return error(scripted);
      if (url.pathname === `${base}/Messages.json`) return list(url);
      const one = url.pathname.match(/\/Messages\/(SM\w+?)(\/Media)?\.json$/);
      const message = one && messages.find((m) => m.sid === one[1]);
      if (!message) return error({ status: 404, code: 20404, message: "The requested resource was not found" });
      return one[2] ? media(message) : json(resource(message));
    },
    controls: {
      /** Every GET path and query the fake answered, in order. */
      reads,
      failReads(e: TwilioError, times = 1) { for (let i = 0; i < times; i++) script.push(e); },
      /** The next GET answers late (a slow Twilio). */
      delayReads(delayMs: number) { script.push({ delayMs }); },
      /** An inbound message Twilio received (and whose webhook never reached Switchboard). */
      receive(m: { from: string; to: string; body: string; at?: Date; media?: InboundFields["media"] }): FakeMessage {
        const at = (m.at ?? new Date()).toUTCString().replace("GMT", "+0000");
        const message: FakeMessage & InboundFields = {
          sid: `SM${randomBytes(16).toString("hex")}`, account_sid: accountSid, to: m.to, from: m.from, body: m.body,
          status: "received", status_callback: null, date_created: at, date_updated: at, date_sent: at,
          error_code: null, error_message: null, params: {}, media_urls: [], callbacks: [],
          direction: "inbound", media: m.media,
        };
        messages.push(message);
        return message;
      },
      /** Twilio's status of a message moves on; no callback is sent. */
      setStatus(sid: string, status: string, errorCode?: number) {
        const message = messages.find((m) => m.sid === sid);
        if (!message) throw new Error(`no message ${sid} on the fake`);
        const now = new Date().toUTCString().replace("GMT", "+0000");
        Object.assign(message, { status, error_code: errorCode ?? null, date_updated: now });
      },
    },
  };
}
