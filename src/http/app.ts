import { swagger } from "@elysiajs/swagger";
import { Elysia, t } from "elysia";
import { alertRoutes } from "../api/alerts";
import { appointmentRoutes } from "../api/appointments";
import { settleIdempotencyKey } from "../api/idempotency";
import { clinicRoutes } from "../api/clinics";
import { conversationRoutes } from "../api/conversations";
import { deliveryRoutes } from "../api/deliveries";
import { emailRoutes } from "../api/emails";
import { endpointRoutes } from "../api/endpoints";
import { patientRoutes } from "../api/patients";
import { reconcileRoutes } from "../api/reconcile";
import { smsRoutes } from "../api/sms";
import { webhookEventRoutes } from "../api/webhook-events";
import type { Deps } from "../deps";
import { stripeRoutes } from "../inbound/stripe";
import { twilioDebuggerRoutes } from "../inbound/twilio-debugger";
import { twilioSmsRoutes } from "../inbound/twilio-sms";
import { twilioStatusRoutes } from "../inbound/twilio-status";
import { consoleRoutes } from "../console/routes";
import { consoleError, isConsolePath } from "../console/respond";
import { docsUi } from "./docs-ui";
import { AppError } from "./errors";
import { healthRoutes } from "./health";
import { finishDocument } from "./openapi";
import { describeValidation } from "./validation";

const DOCS_JSON = "/docs/json";

const errorBody = (code: string, message: string, details?: unknown) =>
  ({ error: { code, message, ...(details === undefined ? {} : { details }) } });

/** Every Elysia error code mapped to a client-facing status; anything unexpected is a 500 without details. */
function mapError(deps: Deps, code: unknown, error: unknown, set: { status?: number | string }, request: Request) {
  // Elysia wraps what a parse hook throws in its own ParseError.
  const appError = error instanceof AppError ? error : (error as { cause?: unknown })?.cause;
  if (appError instanceof AppError) {
    set.status = appError.status;
    return errorBody(appError.code, appError.message, appError.details);
  }
  // Postgres "data exception" (class 22): a value the schema let through but the column cannot hold
  // (out of range, NUL byte). The caller's input, so a 400, not a 500.
  const sqlState = [error, (error as { cause?: unknown })?.cause].map((e) => (e as { code?: unknown })?.code).find((c) => typeof c === "string");
  if (typeof sqlState === "string" && sqlState.startsWith("22")) {
    set.status = 400;
    return errorBody("invalid_value", "a value is out of range or contains characters that cannot be stored");
  }
  switch (code) {
    case "VALIDATION": {
      set.status = 400;
      const { message, details } = describeValidation(error);
      return errorBody("validation", message, details);
    }
    case "PARSE":
      set.status = 400;
      return errorBody("malformed", "request body could not be parsed");
    case "NOT_FOUND":
      set.status = 404;
      return errorBody("not_found", "no such route");
    case "INVALID_COOKIE_SIGNATURE":
    case "INVALID_FILE_TYPE":
      set.status = 400;
      return errorBody("bad_request", String((error as Error).message));
    default:
      set.status = 500;
      deps.log.error("unhandled error", { code, method: request.method, path: new URL(request.url).pathname, error });
      return errorBody("internal", "internal error");
  }
}

export function createApp(deps: Deps) {
  // Bun serves a static Response route natively, first registration winning, so the swagger plugin's CDN page would
  // shadow the offline /docs (docs-ui.ts); through Elysia's router the later route wins, as written here.
  return new Elysia({ nativeStaticResponse: false })
    .onError(async ({ code, error, set, request }) => {
      if (isConsolePath(request)) return consoleError(deps.log, code, error);
      const body = mapError(deps, code, error, set, request);
      // A management POST that claimed an Idempotency-Key keeps this answer for its retries (or frees the key on 5xx).
      await settleIdempotencyKey(deps, request, Number(set.status), body)
        .catch((e) => deps.log.error("idempotency key not settled", { error: e }));
      return body;
    })
    // Registered before the plugin so that it sees the plugin's /docs/json answer and finishes the document.
    .onAfterHandle({ as: "global" }, ({ path, response }) =>
      (path === DOCS_JSON ? finishDocument(response as object) : undefined))
    .use(swagger({
      path: "/docs",
      specPath: DOCS_JSON,
      // The operator console is HTML for people, not part of the API.
      exclude: [/^\/console/],
      documentation: {
        info: { title: "Switchboard", version: "0.1.0", description: "Webhook hub for clinics: Twilio SMS, Twilio status callbacks, Stripe payments, and outbound customer webhooks." },
        components: {
          securitySchemes: {
            bearer: { type: "http", scheme: "bearer", description: "API_KEY" },
            metrics: { type: "http", scheme: "bearer", description: "METRICS_TOKEN" },
          },
        },
      },
    }))
    .use(docsUi())
    .use(healthRoutes(deps, "token"))
    .use(stripeRoutes(deps))
    .use(twilioSmsRoutes(deps))
    .use(twilioStatusRoutes(deps))
    .use(twilioDebuggerRoutes(deps))
    .use(clinicRoutes(deps))
    .use(patientRoutes(deps))
    .use(appointmentRoutes(deps))
    .use(webhookEventRoutes(deps))
    .use(conversationRoutes(deps))
    .use(deliveryRoutes(deps))
    .use(endpointRoutes(deps))
    .use(emailRoutes(deps))
    .use(smsRoutes(deps))
    .use(alertRoutes(deps))
    .use(reconcileRoutes(deps))
    .use(consoleRoutes(deps));
}

export type App = ReturnType<typeof createApp>;

/** Health and metrics alone: METRICS_PORT (internal, no token), or a worker process's PORT. */
export function createOpsApp(deps: Deps) {
  return new Elysia()
    .onError(({ code, error, set, request }) => mapError(deps, code, error, set, request))
    .use(healthRoutes(deps, "open"));
}
