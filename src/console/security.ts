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
