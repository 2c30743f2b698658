import { addressOf } from "./phone";
import { storableText } from "./text";

/** A media item of a message (MMS, WhatsApp): where Twilio keeps it and its MIME type. */
export interface MediaItem { url: string; contentType: string }

/** The parts of Twilio's inbound-message parameters Switchboard acts on. */
export interface InboundSms {
  sid: string;
  channel: "SMS" | "WHATSAPP";
  /** E.164 without any whatsapp: prefix; a short code or sender ID as sent (see addressOf). */
  from: string;
  to: string;
  body: string;
  media: MediaItem[];
  optOutType?: string;
  /** Only on requests to the fallback URL: why Twilio could not use the primary one. */
  errorCode?: string;
  errorUrl?: string;
}

/** Parses Twilio's form parameters; undefined when they lack a MessageSid, From or To. */
export function parseInboundSms(params: URLSearchParams): InboundSms | undefined {
  const sid = params.get("MessageSid") ?? params.get("SmsMessageSid") ?? params.get("SmsSid");
  const rawFrom = params.get("From") ?? "";
  const from = addressOf(rawFrom);
  const to = addressOf(params.get("To") ?? "");
  if (!sid || !from || !to) return undefined;
  // Every MediaUrlN is kept: NumMedia of them, and never fewer than the 10 an MMS can carry.
  const count = Math.min(Math.max(Number(params.get("NumMedia")) || 0, 10), 50);
  const media: MediaItem[] = [];
  for (let i = 0; i < count; i++) {
    const url = params.get(`MediaUrl${i}`);
    if (url) media.push({ url, contentType: params.get(`MediaContentType${i}`) ?? "application/octet-stream" });
  }
  return {
    sid,
    channel: /^whatsapp:/i.test(rawFrom) ? "WHATSAPP" : "SMS",
    from,
    to,
    body: storableText(params.get("Body") ?? ""),
    media,
    optOutType: params.get("OptOutType") || undefined,
    errorCode: params.get("ErrorCode") || undefined,
    errorUrl: params.get("ErrorUrl") || undefined,
  };
}

/** A message's content_type: from its first media item's MIME type, else TEXT. */
export function contentTypeOf(media: MediaItem[]): "TEXT" | "IMAGE" | "VIDEO" | "AUDIO" | "DOCUMENT" {
  const first = media[0]?.contentType.toLowerCase();
  if (!first) return "TEXT";
  if (first.startsWith("image/")) return "IMAGE";
  if (first.startsWith("video/")) return "VIDEO";
  if (first.startsWith("audio/")) return "AUDIO";
  return "DOCUMENT";
}
