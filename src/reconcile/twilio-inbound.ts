import type { MessageInstance, MessagePage } from "twilio/lib/rest/api/v2010/account/message";
import type { Deps } from "../deps";
import { parseInboundSms } from "../domain/inbound-sms";
import { normalizePhone } from "../domain/phone";
import type { Window } from "../domain/reconcile";
import { decideAnswer } from "../effects/sms-answer";
import { type Budget, call, type CallFailure, describeFailure } from "./calls";
import type { Progress } from "./checkpoints";
import { type Found, messageOf, storedKeys, storeFound } from "./store";

const TWILIO_ORIGIN = "https://api.twilio.com";

export type ListOutcome =
  | { kind: "complete" }
  /** The call budget ran out; the pages before the saved cursor are stored. */
  | { kind: "partial" }
  /**
   * A call failed (`cause` as in CallFailure) or an event could not be stored (`store`); nothing after it was
   * saved. `resumed`: the failed call was the saved cursor's page (a refused cursor is stale and dropped).
   */
  | { kind: "failed"; cause: CallFailure["kind"] | "store"; error: string; resumed: boolean };

export const callFailed = (failure: CallFailure, resumed: boolean): ListOutcome =>
  ({ kind: "failed", cause: failure.kind, error: describeFailure(failure), resumed });
export const storeFailed = (error: unknown): ListOutcome =>
  ({ kind: "failed", cause: "store", error: `could not store: ${messageOf(error)}`, resumed: false });

export interface ListResult { outcome: ListOutcome; checked: number; found: Found[] }

const sentAt = (m: MessageInstance) => m.dateSent ?? m.dateCreated;

/**
 * The webhook Twilio would have posted for an inbound message, from its Message resource (and media list): the
 * parameters the SMS processor reads. Twilio's Advanced Opt-Out `OptOutType` is not in the resource; the
 * keyword in the body still decides STOP and START.
 */
export function inboundWebhookBody(m: MessageInstance, media: { url: string; contentType: string }[]): string {
  const params = new URLSearchParams({
    MessageSid: m.sid, SmsMessageSid: m.sid, SmsSid: m.sid, AccountSid: m.accountSid, From: m.from, To: m.to,
    Body: m.body ?? "", NumMedia: String(media.length), NumSegments: String(m.numSegments ?? "1"),
    SmsStatus: "received", ApiVersion: m.apiVersion ?? "2010-04-01",
  });
  if (m.messagingServiceSid) params.set("MessagingServiceSid", m.messagingServiceSid);
  media.forEach((item, i) => {
    params.set(`MediaUrl${i}`, item.url);
    params.set(`MediaContentType${i}`, item.contentType);
  });
  return params.toString();
}

/**
 * Item 2 of reconciliation, for one number: lists the messages Twilio received for `address` in `window`
 * (newest first, page by page, resuming at `cursor`) and stores every MessageSid not stored yet as if its webhook
 * had come. Its reply goes out as an SMS from the worker (decideAnswer with replyBy "sms"), under the same
 * one-reply, loop-guard and opt-out rules. `save` records progress after each stored page, so the checkpoint
 * never passes a message that could not be stored: a failed store ends the listing there.
 */
export async function listInboundMessages(
  deps: Deps,
  budget: Budget,
  target: { address: string; window: Window; cursor: string | null; note: string },
  save: (progress: Progress) => Promise<void>,
): Promise<ListResult> {
  const client = deps.twilio!;
  const { address, window } = target;
  const result: ListResult = { outcome: { kind: "complete" }, checked: 0, found: [] };
  const first = {
    to: address, dateSentAfter: window.from, dateSentBefore: window.until, pageSize: deps.config.RECONCILE_PAGE_SIZE,
  };
  let cursor = target.cursor;
  for (;;) {
    const resumed = cursor !== null;
    const at = cursor;
    const fetchPage = () => (at ? client.messages.getPage(at) : client.messages.page(first));
    const page = await call<MessagePage>(budget, fetchPage);
    if (page.kind === "exhausted") return { ...result, outcome: { kind: "partial" } };
    if (page.kind === "failed") return { ...result, outcome: callFailed(page.failure, resumed) };
    const listed = page.value.instances;
    result.checked += listed.length;
    const received = listed.filter((m) => m.direction === "inbound" && m.status === "received" && m.to === address
      && sentAt(m) >= new Date(Math.floor(window.from.getTime() / 1000) * 1000) && sentAt(m) <= window.until);
    const stored = await storePage(deps, budget, received, target.note);
    result.found.push(...stored.found);
    if (stored.stop) return { ...result, outcome: stored.stop };
    // Newest first: once a page reaches back before the window, nothing older is needed.
    const oldest = listed.at(-1);
    const next = page.value.nextPageUrl;
    if (!next || (oldest && sentAt(oldest) < window.from)) {
      await save({ kind: "done", checkpointAt: window.until });
      return result;
    }
    cursor = next;
    await save({ kind: "resume", window, cursor });
  }
}

/** Stores a page's missing messages, oldest first (the loop guard counts replies in order). */
async function storePage(deps: Deps, budget: Budget, messages: MessageInstance[], note: string) {
  const known = await storedKeys(deps, "twilio-sms", messages.map((m) => m.sid));
  const missing = messages.filter((m) => !known.has(m.sid)).sort((a, b) => sentAt(a).getTime() - sentAt(b).getTime());
  const found: Found[] = [];
  for (const message of missing) {
    const media = await mediaOf(deps, budget, message);
    if (media.kind === "exhausted") return { found, stop: { kind: "partial" as const } };
    if (media.kind === "failed") return { found, stop: media.stop };
    const rawBody = inboundWebhookBody(message, media.value);
    const sms = parseInboundSms(new URLSearchParams(rawBody));
    if (!sms) continue; // no From or To: nothing a webhook could have carried either
    try {
      const stored = await storeFound(deps, {
        provider: "twilio-sms", kind: "inbound_sms", key: message.sid, rawBody, note,
        answer: decideAnswer(deps, sms, "sms"), phone: normalizePhone(sms.from),
      });
      if (stored) found.push(stored);
    } catch (error) {
      return { found, stop: storeFailed(error) };
    }
  }
  return { found, stop: undefined };
}

type MediaResult =
  | { kind: "ok"; value: { url: string; contentType: string }[] }
  | { kind: "exhausted" }
  | { kind: "failed"; stop: ListOutcome };

/** The message's media as MediaUrlN would carry them (one more call, only when it has media). */
async function mediaOf(deps: Deps, budget: Budget, message: MessageInstance): Promise<MediaResult> {
  if (!(Number(message.numMedia) > 0)) return { kind: "ok", value: [] };
  const listed = await call(budget, () => deps.twilio!.messages(message.sid).media.list());
  if (listed.kind === "exhausted") return listed;
  if (listed.kind === "failed") return { kind: "failed", stop: callFailed(listed.failure, false) };
  return {
    kind: "ok",
    value: listed.value.map((m) => ({ url: TWILIO_ORIGIN + m.uri.replace(/\.json$/, ""), contentType: m.contentType })),
  };
}
