import twilio from "twilio";
import { PUBLIC_URL, TWILIO_AUTH_TOKEN } from "./harness";

let seq = 0;
export const messageSid = () => `SM${Date.now().toString(16)}${(++seq).toString(16).padStart(8, "0")}`.padEnd(34, "0");

/** Twilio's inbound-message parameters (the ones it always sends), with `extra` on top. */
export function inboundParams(
  from: string, to: string, body: string, extra: Record<string, string> = {},
): Record<string, string> {
  const sid = extra.MessageSid ?? messageSid();
  return {
    ToCountry: "US", ToState: "NY", SmsMessageSid: sid, NumMedia: "0", ToCity: "NEW YORK", FromZip: "10001",
    SmsSid: sid,
    FromState: "NY", SmsStatus: "received", FromCity: "NEW YORK", Body: body, FromCountry: "US", To: to, ToZip: "10001",
    NumSegments: "1", MessageSid: sid, AccountSid: `AC${"0".repeat(32)}`, From: from, ApiVersion: "2010-04-01",
    ...extra,
  };
}

/**
 * A request as Twilio sends it: form-encoded, signed with the twilio SDK's own getExpectedTwilioSignature over
 * `signUrl` (default PUBLIC_URL + path, query included) and the parameters.
 */
export function signedTwilioRequest(
  path: string,
  params: Record<string, string>,
  opts: { signUrl?: string; token?: string; signature?: string | null; contentType?: string } = {},
): RequestInit {
  const signature = opts.signature === undefined
    ? twilio.getExpectedTwilioSignature(opts.token ?? TWILIO_AUTH_TOKEN, opts.signUrl ?? `${PUBLIC_URL}${path}`, params)
    : opts.signature;
  const headers: Record<string,
  string> = { "content-type": opts.contentType ?? "application/x-www-form-urlencoded; charset=UTF-8" };
  if (signature !== null) headers["x-twilio-signature"] = signature;
  return { method: "POST", headers, body: new URLSearchParams(params).toString() };
}

let phoneSeq = 0;
/** A phone number no other test in the run uses (patients, so the per-pair loop guard never carries over). */
export const uniquePhone = () =>
  `+1556${String(process.pid % 1000).padStart(3, "0")}${String(++phoneSeq).padStart(4, "0")}`;

/** Posts a signed inbound SMS through the whole app; returns the answer and the MessageSid used. */
export async function postSms(
  h: { request(path: string, init?: RequestInit): Promise<Response> },
  params: Record<string, string>,
  path = "/v1/clinic/webhooks/twilio/sms",
) {
  const res = await h.request(path, signedTwilioRequest(path, params));
  return {
    status: res.status, contentType: res.headers.get("content-type"), twiml: await res.text(), sid: params.MessageSid!,
  };
}
