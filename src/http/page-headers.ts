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
