import { readdirSync } from "node:fs";
import { swagger } from "@elysiajs/swagger";
import { Elysia, t } from "elysia";
import { appointmentRoutes } from "../api/appointments";
import { clinicRoutes } from "../api/clinics";
import { conversationRoutes } from "../api/conversations";
import { deliveryRoutes } from "../api/deliveries";
import { emailRoutes } from "../api/emails";
import { endpointRoutes } from "../api/endpoints";
import { patientRoutes } from "../api/patients";
import { webhookEventRoutes } from "../api/webhook-events";
import { MIGRATIONS_DIR, migrationsCurrent, retryOnStaleConnection } from "../db";
import type { Deps } from "../deps";
import { stripeRoutes } from "../inbound/stripe";
import { twilioSmsRoutes } from "../inbound/twilio-sms";
import { twilioStatusRoutes } from "../inbound/twilio-status";
import { consoleRoutes } from "../console/routes";
import { consoleError, isConsolePath } from "../console/respond";
import { docsUi } from "./docs-ui";
import { AppError } from "./errors";

const EXPECTED_MIGRATIONS = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith(".sql")).length;

const errorBody = (code: string, message: string, details?: unknown) =>
  ({ error: { code, message, ...(details === undefined ? {} : { details }) } });

/** Every Elysia error code mapped to a client-facing status; anything unexpected is a 500 without details. */
function mapError(deps: Deps, code: unknown, error: unknown, set: { status?: number | string }) {
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
      const all = (error as { all?: { path?: string; message?: string; summary?: string }[] }).all ?? [];
      const details = all.map((e) => ({ path: e.path, message: e.summary ?? e.message }));
      return errorBody("validation", details[0] ? `${details[0].path || "request"}: ${details[0].message}` : "invalid request", details);
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
      deps.log.error("unhandled error", { code, error });
      return errorBody("internal", "internal error");
  }
}

export function createApp(deps: Deps) {
  // Bun serves a static Response route natively, first registration winning, so the swagger plugin's CDN page would
  // shadow the offline /docs (docs-ui.ts); through Elysia's router the later route wins, as written here.
  return new Elysia({ nativeStaticResponse: false })
    .onError(({ code, error, set, request }) =>
      isConsolePath(request) ? consoleError(deps.log, code, error) : mapError(deps, code, error, set))
    .use(swagger({
      path: "/docs",
      specPath: "/docs/json",
      // The operator console is HTML for people, not part of the API.
      exclude: [/^\/console/],
      documentation: {
        info: { title: "Switchboard", version: "0.1.0", description: "Webhook hub for clinics: Twilio SMS, Twilio status callbacks, Stripe payments, and outbound customer webhooks." },
        components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "API_KEY" } } },
      },
    }))
    .use(docsUi())
    .get("/healthz", () => ({ status: "ok" as const }), {
      response: { 200: t.Object({ status: t.Literal("ok") }) },
      detail: { tags: ["health"], summary: "Process is alive" },
    })
    .get("/readyz", async ({ set }) => {
      try {
        const current = await retryOnStaleConnection(() => migrationsCurrent(deps.sql, EXPECTED_MIGRATIONS));
        if (!current) set.status = 503;
        return { status: current ? "ready" : "migrations pending" };
      } catch {
        set.status = 503;
        return { status: "database unreachable" };
      }
    }, {
      response: { 200: t.Object({ status: t.String({ examples: ["ready"] }) }), 503: t.Object({ status: t.String({ examples: ["database unreachable"] }) }) },
      detail: { tags: ["health"], summary: "Database reachable and migrations current" },
    })
    .get("/metrics", async () => new Response(await deps.metrics.registry.metrics(), {
      headers: { "content-type": deps.metrics.registry.contentType },
    }), { detail: { tags: ["health"], summary: "Prometheus metrics" } })
    .use(stripeRoutes(deps))
    .use(twilioSmsRoutes(deps))
    .use(twilioStatusRoutes(deps))
    .use(clinicRoutes(deps))
    .use(patientRoutes(deps))
    .use(appointmentRoutes(deps))
    .use(webhookEventRoutes(deps))
    .use(conversationRoutes(deps))
    .use(deliveryRoutes(deps))
    .use(endpointRoutes(deps))
    .use(emailRoutes(deps))
    .use(consoleRoutes(deps));
}

export type App = ReturnType<typeof createApp>;
