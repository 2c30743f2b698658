/** An expected failure with a stable `code` and the HTTP status it maps to. */
export class AppError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details?: unknown) {
    super(message);
    this.name = "AppError";
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
