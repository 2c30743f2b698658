import { Elysia, t } from "elysia";
import { callerError } from "../db";
import { AppError, type ErrorResponse } from "../errors";
import type { Logger } from "../log";
import { describeValidation } from "./validation";

/** The body of every error answer of the JSON API (SPEC: never a stack trace). */
export const ErrorBody = t.Object({
  error: t.Object({ code: t.String({ examples: ["not_found"] }), message: t.String(), details: t.Optional(t.Any()) }),
}, { examples: [{ error: { code: "not_found", message: "clinic not found" } }] });

const answer = (status: number, code: string, message: string, details?: unknown) =>
  new AppError(status, code, message, details);

/** Routes whose errors are pages (the console), and how they are drawn. */
interface Pages {
  of(request: Request): boolean;
  render(code: unknown, error: unknown): Response;
}

/**
 * Every error the app's routes throw, answered once, here, as ErrorBody with its status: our AppError (registered
 * with Elysia as APP, so `code` narrows to it), Elysia's own (validation, parse, no route), a database error the
 * caller caused (db.ts translates it), and anything else as a 500 without details, logged with its stack.
 * The webhook routes answer their expected refusals in the provider's own format first (inbound/webhook-route.ts).
 */
export function errorHandler(deps: { log: Logger }, opts: { pages?: Pages } = {}) {
  return new Elysia({ name: "error-handler" })
    .error({ APP: AppError })
    .onError({ as: "global" }, ({ code, error, set, request }): ErrorResponse | Response => {
      if (opts.pages?.of(request)) return opts.pages.render(code, error);
      const known = code === "APP" ? error : expected(code, error) ?? callerError(error);
      if (known) {
        set.status = known.status;
        return known.body;
      }
      deps.log.error("unhandled error", { code, method: request.method, path: new URL(request.url).pathname, error });
      set.status = 500;
      return answer(500, "internal", "internal error").body;
    });
}

/** Elysia's own errors that a caller's request causes. */
function expected(code: unknown, error: unknown): AppError | undefined {
  switch (code) {
    case "VALIDATION": {
      const { message, details } = describeValidation(error);
      return answer(400, "validation", message, details);
    }
    case "PARSE":
      return answer(400, "malformed", "request body could not be parsed");
    case "NOT_FOUND":
      return answer(404, "not_found", "no such route");
    case "INVALID_COOKIE_SIGNATURE":
    case "INVALID_FILE_TYPE":
      return answer(400, "bad_request", String((error as Error).message));
    default:
      return undefined;
  }
}
