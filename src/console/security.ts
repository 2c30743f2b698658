/**
 * Headers on every console (and /docs) response: nothing but this origin may run or style the page, no framing,
 * and nothing is cached (pages hold patients' phone numbers).
 */
export const CONSOLE_CSP =
  "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

export function securityHeaders(csp = CONSOLE_CSP): Record<string, string> {
  return {
    "content-security-policy": csp,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
  };
}

/**
 * A cross-site POST is refused even before the CSRF token is checked: browsers send Origin on POST, and
 * Sec-Fetch-Site tells whether the form was on another site.
 */
export function sameOrigin(request: Request): boolean {
  const site = request.headers.get("sec-fetch-site");
  if (site && site !== "same-origin" && site !== "none") return false;
  const origin = request.headers.get("origin");
  if (!origin || origin === "null") return origin === null;
  try {
    return new URL(origin).host === (request.headers.get("host") ?? new URL(request.url).host);
  } catch {
    return false;
  }
}
