import { swagger } from "@elysiajs/swagger";
import { Elysia } from "elysia";
import { alertRoutes } from "../api/alerts";
import { appointmentRoutes } from "../api/appointments";
import { clinicRoutes } from "../api/clinics";
import { conversationRoutes } from "../api/conversations";
import { deliveryRoutes } from "../api/deliveries";
import { emailRoutes } from "../api/emails";
import { endpointRoutes } from "../api/endpoints";
import { patientRoutes } from "../api/patients";
import { reconcileRoutes } from "../api/reconcile";
import { smsRoutes } from "../api/sms";
import { webhookEventRoutes } from "../api/webhook-events";
import { consoleError, isConsolePath } from "../console/respond";
import { consoleRoutes } from "../console/routes";
import type { Deps } from "../deps";
import { stripeRoutes } from "../inbound/stripe";
import { twilioDebuggerRoutes } from "../inbound/twilio-debugger";
import { twilioSmsRoutes } from "../inbound/twilio-sms";
import { twilioStatusRoutes } from "../inbound/twilio-status";
import { docsUi } from "./docs-ui";
import { errorHandler } from "./error-handler";
import { healthRoutes } from "./health";
import { finishDocument } from "./openapi";

const DOCS_JSON = "/docs/json";

export function createApp(deps: Deps) {
  // Bun serves a static Response route natively, first registration winning, so the swagger plugin's CDN page would
  // shadow the offline /docs (docs-ui.ts); through Elysia's router the later route wins, as written here.
  return new Elysia({ nativeStaticResponse: false })
    // The console's errors are pages for people, never JSON.
    .use(errorHandler(
      deps, { pages: { of: isConsolePath, render: (code, error) => consoleError(deps.log, code, error) } },
    ))
    // Registered before the plugin so that it sees the plugin's /docs/json answer and finishes the document.
    .onAfterHandle({ as: "global" }, ({ path, response }) =>
      (path === DOCS_JSON ? finishDocument(response as object) : undefined))
    .use(swagger({
      path: "/docs",
      specPath: DOCS_JSON,
      // The operator console is HTML for people, not part of the API.
      exclude: [/^\/console/],
      documentation: {
        info: {
          title: "Switchboard", version: "0.1.0",
          description: "Webhook hub for clinics: Twilio SMS, Twilio status callbacks, Stripe payments, "
            + "and outbound customer webhooks.",
        },
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
    .use(errorHandler(deps))
    .use(healthRoutes(deps, "open"));
}
