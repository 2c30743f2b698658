import type { Html } from "#html/jsx-runtime";
import { securityHeaders } from "../http/page-headers";
import type { Logger } from "../log";
import { ErrorPage, NotFoundPage } from "./pages/misc";
import type { PageContext } from "./ui";

export function htmlResponse(page: Html, status = 200, headers: Record<string, string | string[]> = {}): Response {
  const h = new Headers({ "content-type": "text/html; charset=utf-8", ...securityHeaders() });
  for (const [k, v] of Object.entries(headers)) for (const value of [v].flat()) h.append(k, value);
  return new Response(page.value, { status, headers: h });
}

export function redirect(location: string, headers: Record<string, string | string[]> = {}): Response {
  const h = new Headers(securityHeaders());
  h.set("location", location);
  for (const [k, v] of Object.entries(headers)) for (const value of [v].flat()) h.append(k, value);
  return new Response(null, { status: 303, headers: h });
}

export const notFoundResponse = (ctx?: PageContext, what?: string) => htmlResponse(NotFoundPage({ ctx, what }), 404);

export const isConsolePath = (request: Request) => /^\/console(\/|$|\?)/.test(new URL(request.url).pathname);

/**
 * Errors of console routes become pages, never JSON or a stack trace. Expected errors (a malformed form) say
 * what was wrong; anything else is logged and shown as a plain apology.
 */
export function consoleError(log: Pick<Logger, "error">, code: unknown, error: unknown): Response {
  if (code === "NOT_FOUND") return notFoundResponse();
  if (code === "VALIDATION" || code === "PARSE")
    return htmlResponse(ErrorPage({ status: 400, message: "The request was malformed." }), 400);
  const status = (error as { status?: unknown })?.status;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return htmlResponse(ErrorPage({ status, message: String((error as Error).message ?? "Refused.") }), status);
  }
  log.error("console error", { code, error });
  return htmlResponse(
    ErrorPage({ status: 500, message: "The console could not show this page. It has been logged; try again shortly." }),
    500,
  );
}
