/** What the API answers for an error (the ErrorBody schema in src/http/error-handler.ts documents it). */
export interface ErrorResponse {
  error: { code: string; message: string; details?: unknown };
}

/**
 * An expected failure: the HTTP status it is answered with and the body, whose `error.code` is stable
 * (`not_found`, `bad_signature`, …). The class holds it as `errorCode`, not `code`: Elysia reads an error's
 * `code` to find the class registered for it with `.error({...})`.
 */
export class AppError extends Error {
  readonly body: ErrorResponse;

  constructor(readonly status: number, readonly errorCode: string, message: string, details?: unknown) {
    super(message);
    this.name = "AppError";
    this.body = { error: { code: errorCode, message, ...(details === undefined ? {} : { details }) } };
  }
}

export const notFound = (what: string) => new AppError(404, "not_found", `${what} not found`);
export const badRequest = (message: string, details?: unknown) => new AppError(400, "bad_request", message, details);

/** The database could not take the write: the provider must retry, so this maps to 5xx. */
export class StorageError extends Error {
  constructor(readonly cause: unknown) {
    super(`storage unavailable: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "StorageError";
  }
}
