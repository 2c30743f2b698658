import { Elysia } from "elysia";
import type { Deps } from "../deps";
import { recordConsoleAction } from "./audit";
import { SignInPage } from "./pages/misc";
import { htmlResponse, redirect } from "./respond";
import { sameOrigin } from "./security";
import {
  checkCredential,
  checkCsrf,
  consoleKeys,
  cookie,
  csrfToken,
  issueSession,
  newNonce,
  readCookie,
  SESSION_COOKIE,
  SESSION_MS,
  SIGN_IN_COOKIE,
} from "./session";
import { clearSignInAttempts, clientAddress, countSignInAttempt } from "./sign-in";

/** Only a console path of this site is a place to go back to after sign-in. */
const safeNext = (value: unknown) =>
  typeof value === "string" && /^\/console(\/[^\s\\]*)?$/.test(value) && !value.startsWith("//") ? value : "/console";

/** GET and POST /console/sign-in: the password (or API key) becomes a signed 8-hour session cookie. */
export function signInRoutes(deps: Pick<Deps, "db" | "config" | "clock" | "log">) {
  const keys = consoleKeys(deps.config);
  const form = (status: number, error?: string, next?: string) => {
    // A fresh random value per form, in a cookie: the form's token must match it (login CSRF).
    const nonce = newNonce();
    const action = next && next !== "/console" ? `?next=${encodeURIComponent(next)}` : "";
    return htmlResponse(
      SignInPage({ csrf: csrfToken(keys, nonce), error, configured: !!keys.credential, action }),
      status,
      {
        "set-cookie": cookie(keys, SIGN_IN_COOKIE, nonce, 3600),
      },
    );
  };

  return new Elysia()
    .get("/sign-in", ({ query }) => form(200, undefined, safeNext(query.next)), { detail: { hide: true } })
    .post(
      "/sign-in",
      async ({ request, body, query, server }) => {
        const fields = (body ?? {}) as Record<string, unknown>;
        const next = safeNext(query.next);
        if (!sameOrigin(request) || !checkCsrf(keys, readCookie(request, SIGN_IN_COOKIE), fields._csrf)) {
          return form(403, "This sign-in form had expired or came from another site. Please sign in again.", next);
        }
        const address = clientAddress(request, server);
        const now = deps.clock.now();
        const wait = await countSignInAttempt(deps.db, address, now);
        if (wait !== undefined) {
          deps.log.warn("console sign-in rate limited", { address });
          const response = form(
            429,
            `Too many sign-in attempts from your address. Try again in ${Math.ceil(wait / 60)} minutes.`,
            next,
          );
          response.headers.set("retry-after", String(wait));
          return response;
        }
        if (typeof fields.password !== "string" || !checkCredential(keys, fields.password)) {
          await recordConsoleAction(deps.db, { action: "sign_in_failed", subjectType: "session", actor: address });
          return form(401, "Wrong password or API key.", next);
        }
        await clearSignInAttempts(deps.db, address);
        await recordConsoleAction(deps.db, { action: "sign_in", subjectType: "session", actor: address });
        const { value } = issueSession(keys, now.getTime());
        return redirect(next, {
          "set-cookie": [cookie(keys, SESSION_COOKIE, value, SESSION_MS / 1000), cookie(keys, SIGN_IN_COOKIE, "", 0)],
        });
      },
      { detail: { hide: true } },
    );
}
