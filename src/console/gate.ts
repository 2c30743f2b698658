import { Elysia } from "elysia";
import type { Deps } from "../deps";
import { ErrorPage } from "./pages/misc";
import { htmlResponse, redirect } from "./respond";
import { sameOrigin } from "./security";
import { checkCsrf, consoleKeys, csrfToken, readCookie, readSession, SESSION_COOKIE } from "./session";
import { clientAddress } from "./sign-in";
import type { PageContext } from "./ui";

/** Where a request without a session goes: the sign-in page, then back to what was asked for. */
function unauthenticated(request: Request): Response {
  // An htmx refresh (the overview's every-10-s poll) must not swap the sign-in page into a corner of the old page.
  if (request.headers.get("hx-request"))
    return new Response(null, { status: 401, headers: { "hx-redirect": "/console/sign-in" } });
  const url = new URL(request.url);
  const back =
    request.method === "GET" && url.pathname !== "/console" && url.pathname !== "/console/"
      ? url.pathname + url.search
      : "";
  return redirect(back ? `/console/sign-in?next=${encodeURIComponent(back)}` : "/console/sign-in");
}

/**
 * Put in front of console routes (`.use(authGate(deps))`): their requests need a valid session, and every
 * state-changing one the session's CSRF token and a same-origin source. Gives handlers `ctx` and `actor`.
 */
export function authGate(deps: Pick<Deps, "config" | "clock">) {
  const keys = consoleKeys(deps.config);
  return new Elysia()
    .derive({ as: "scoped" }, ({ request, server }) => {
      const session = readSession(keys, readCookie(request, SESSION_COOKIE), deps.clock.now().getTime());
      const ctx: PageContext = {
        csrf: session ? csrfToken(keys, session.nonce) : "",
        publicUrl: deps.config.PUBLIC_URL,
      };
      return { session, ctx, actor: clientAddress(request, server) };
    })
    .onBeforeHandle({ as: "scoped" }, ({ session, request, body, ctx }) => {
      if (!session) return unauthenticated(request);
      if (request.method === "GET" || request.method === "HEAD") return;
      const token = (body as Record<string, unknown> | undefined)?._csrf;
      if (!sameOrigin(request) || !checkCsrf(keys, session.nonce, token)) {
        return htmlResponse(
          ErrorPage({
            ctx,
            status: 403,
            message:
              "This form was refused: it did not carry this session's security token (it may be from an old page " +
              "or another site). Go back, reload the page and try again.",
          }),
          403,
        );
      }
    });
}
