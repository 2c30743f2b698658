// Twilio's webhooks as Twilio sends them: every parameter it posts for an inbound message or a status callback,
// signed with the twilio SDK's own helper over PUBLIC_URL + path.
import { randomBytes } from "node:crypto";
import twilio from "twilio";
import { normalizePhone } from "../domain/phone";

export const API_VERSION = "2010-04-01";
export const twilioSid = (prefix: "SM" | "MM" | "MG") => `${prefix}${randomBytes(16).toString("hex")}`;

/** Twilio's default Advanced Opt-Out keywords, as they arrive flagged in `OptOutType` (CANCEL included). */
const OPT_OUT_TYPES: Record<string, string> = {
  STOP: "STOP", STOPALL: "STOP", UNSUBSCRIBE: "STOP", END: "STOP", QUIT: "STOP", REVOKE: "STOP", OPTOUT: "STOP",
  CANCEL: "STOP",
  START: "START", UNSTOP: "START", YES: "START", HELP: "HELP", INFO: "HELP",
};

const MEDIA_TYPES: Record<string, string> = {
  jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", gif: "image/gif", webp: "image/webp", mp4: "video/mp4",
  "3gp": "video/3gpp", mp3: "audio/mpeg", ogg: "audio/ogg", amr: "audio/amr", pdf: "application/pdf", vcf: "text/vcard",
};
const mediaType = (url: string) =>
  MEDIA_TYPES[url.split(/[?#]/)[0]!.split(".").at(-1)!.toLowerCase()] ?? "application/octet-stream";
const COUNTRIES: Record<string, string> = { "+44": "GB", "+33": "FR", "+49": "DE", "+34": "ES", "+61": "AU" };

/** Where Twilio says a number is, from its country code (the numbers here are made up, so the US ones say New York). */
function place(phone: string, side: "From" | "To"): Record<string, string> {
  const us = phone.startsWith("+1");
  return {
    [`${side}Country`]: us ? "US" : COUNTRIES[phone.slice(0, 3)] ?? "", [`${side}State`]: us ? "NY" : "",
    [`${side}City`]: us ? "NEW YORK" : "", [`${side}Zip`]: us ? "10001" : "",
  };
}

const segments = (body: string) => String(body.length <= 160 ? 1 : Math.ceil(body.length / 153));

export interface InboundSms {
  from: string;
  to: string;
  body: string;
  media?: string[];
  whatsapp?: boolean;
  accountSid: string;
  messagingServiceSid?: string;
  sid?: string;
}

/** The parameters of Twilio's "A message comes in" request. */
export function inboundSmsParams(sms: InboundSms): Record<string, string> {
  const media = sms.media ?? [];
  const sid = sms.sid ?? twilioSid(media.length > 0 ? "MM" : "SM");
  const address = (n: string) => (sms.whatsapp ? `whatsapp:${n}` : n);
  const keyword = sms.body.trim().split(/\s+/)[0]?.replace(/[^A-Za-z]/g, "").toUpperCase() ?? "";
  const params: Record<string, string> = {
    ...(sms.whatsapp ? {} : { ...place(sms.to, "To"), ...place(sms.from, "From") }),
    SmsMessageSid: sid, NumMedia: String(media.length), SmsSid: sid, SmsStatus: "received", Body: sms.body,
    To: address(sms.to), MessagingServiceSid: sms.messagingServiceSid ?? `MG${"0".repeat(32)}`,
    NumSegments: segments(sms.body), ReferralNumMedia: "0", MessageSid: sid, AccountSid: sms.accountSid,
    From: address(sms.from), ApiVersion: API_VERSION,
  };
  media.forEach((url, i) => {
    params[`MediaContentType${i}`] = mediaType(url);
    params[`MediaUrl${i}`] = url;
  });
  if (sms.whatsapp) {
    Object.assign(params, {
      ProfileName: "WhatsApp user", WaId: sms.from.replace(/\D/g, ""), MessageType: media.length ? "image" : "text",
    });
  }
  // Twilio flags the keywords of the Messaging Service's Advanced Opt-Out (on by default) in OptOutType.
  if (!sms.whatsapp && OPT_OUT_TYPES[keyword]) params.OptOutType = OPT_OUT_TYPES[keyword]!;
  return params;
}

export interface StatusCallback {
  sid: string;
  status: string;
  to: string;
  from: string;
  accountSid: string;
  messagingServiceSid?: string;
  errorCode?: string;
}

/** The parameters of a status callback for an outbound message (what the fake Twilio posts, too). */
export function statusCallbackParams(c: StatusCallback): Record<string, string> {
  const final = c.status === "delivered" || c.status === "undelivered";
  return {
    SmsSid: c.sid, SmsStatus: c.status, MessageStatus: c.status, To: c.to, MessageSid: c.sid, AccountSid: c.accountSid,
    From: c.from, ApiVersion: API_VERSION,
    ...(c.messagingServiceSid ? { MessagingServiceSid: c.messagingServiceSid } : {}),
    ...(c.errorCode ? { ErrorCode: c.errorCode } : {}),
    // RawDlrDoneDate as carriers report it: YYMMDDhhmm.
    ...(final ? { RawDlrDoneDate: new Date().toISOString().slice(2, 16).replace(/[-T:]/g, "") } : {}),
  };
}

/** Headers of a Twilio webhook request, X-Twilio-Signature computed for `signedUrl` (PUBLIC_URL + path). */
export function signTwilio(
  signedUrl: string, params: Record<string, string | string[]>, authToken: string,
): Record<string, string> {
  return {
    "content-type": "application/x-www-form-urlencoded; charset=utf-8",
    "x-twilio-signature": twilio.getExpectedTwilioSignature(authToken, signedUrl, params),
    "i-twilio-idempotency-token": crypto.randomUUID(),
    "user-agent": "TwilioProxy/1.1",
  };
}

/** E.164 or undefined; `whatsapp:` and spaces, dashes and brackets are allowed around it. */
export const e164 = (input: string) => normalizePhone(input);
