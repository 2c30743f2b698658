import twilio from "twilio";
import type { Deps } from "../deps";
import { paramsObject } from "../domain/form";
import { AppError } from "../errors";
import { readRawText, requireContentType } from "../http/request";

/**
 * The URL Twilio signed: PUBLIC_URL + the path and query exactly as received (behind Fly's proxy the request's
 * own host is not the one Twilio called). Without PUBLIC_URL (development), the request's own URL.
 */
export function signedUrl(deps: Deps, request: Request): string {
  const base = deps.config.PUBLIC_URL;
  if (!base) return request.url;
  const pathAndQuery = request.url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, "");
  return base.replace(/\/+$/, "") + pathAndQuery;
}

/**
 * X-Twilio-Signature checked with the twilio SDK, which also tries the URL with and without the default port
 * and Twilio's other URL normalisations. False when the header or TWILIO_AUTH_TOKEN is missing.
 */
export function validTwilioSignature(deps: Deps, request: Request, params: URLSearchParams): boolean {
  const token = deps.config.TWILIO_AUTH_TOKEN;
  const header = request.headers.get("x-twilio-signature");
  if (!token || !header) return false;
  try {
    return twilio.validateRequest(token, header, signedUrl(deps, request), paramsObject(params));
  } catch {
    return false;
  }
}

/** How every Twilio webhook is encoded. */
export const FORM = "application/x-www-form-urlencoded";

/**
 * A Twilio webhook's form, read raw within the body limit and verified on it: 415 when it is not form-encoded, 403
 * (`bad_signature`) when X-Twilio-Signature does not match.
 */
export async function readSignedForm(deps: Deps, request: Request): Promise<{ raw: string; params: URLSearchParams }> {
  requireContentType(request, FORM);
  const raw = await readRawText(request);
  const params = new URLSearchParams(raw);
  if (!validTwilioSignature(deps, request, params)) {
    throw new AppError(403, "bad_signature", "bad signature: X-Twilio-Signature does not match");
  }
  return { raw, params };
}
