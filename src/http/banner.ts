import type { Config } from "../config";
import { databaseHost } from "../db";
import { STRIPE_PATH, TWILIO_SMS_FALLBACK_PATH, TWILIO_SMS_PATH, TWILIO_STATUS_PATH } from "../domain/webhooks";

export interface Listening {
  /** The service's port (web and all). */
  port?: number;
  /** Where health and metrics are served alone, without a token: METRICS_PORT, or a worker's PORT. */
  metricsPort?: number;
}

/** What runs with less than it could for lack of configuration, in the words an operator acts on. */
export function featuresOff(config: Config): string[] {
  const off: string[] = [];
  if (!config.API_KEY) off.push("management API: API_KEY unset, every /v1 call answers 401");
  if (!config.TWILIO_ACCOUNT_SID || !config.TWILIO_AUTH_TOKEN) {
    off.push("SMS sending: TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN unset, SMS are recorded but not sent");
  }
  if (!config.TWILIO_AUTH_TOKEN)
    off.push("Twilio webhooks: TWILIO_AUTH_TOKEN unset, their signatures cannot be checked (403)");
  if (!config.STRIPE_WEBHOOK_SECRET)
    off.push("Stripe webhooks: STRIPE_WEBHOOK_SECRET unset, every event is refused (400)");
  if (!config.PUBLIC_URL) {
    off.push(
      "PUBLIC_URL unset: Twilio signatures are checked against the request's own URL, "
        + "sent SMS ask for no status callbacks",
    );
  }
  if (!config.SMTP_URL) off.push("email: SMTP_URL unset, emails stay in the outbox (GET /v1/emails) and are logged");
  if (!config.SUPPORT_EMAIL) off.push("support alerts: SUPPORT_EMAIL unset, alerts are logged only");
  if (config.ROLE !== "worker" && !config.METRICS_TOKEN && !config.METRICS_PORT)
    off.push("metrics: METRICS_TOKEN and METRICS_PORT unset, /metrics is not served");
  return off;
}

/** The start-up banner's fields: where the service is, what to paste into Twilio and Stripe, and what is off. */
export function startupSummary(config: Config, listening: Listening): Record<string, unknown> {
  const local = listening.port !== undefined ? `http://localhost:${listening.port}` : undefined;
  const serves = config.ROLE !== "worker" && local;
  const base = (config.PUBLIC_URL ?? local ?? "").replace(/\/+$/, "");
  const metrics =
    listening.metricsPort !== undefined
      ? `http://localhost:${listening.metricsPort}/metrics`
      : config.METRICS_TOKEN && local
        ? `${local}/metrics (Authorization: Bearer METRICS_TOKEN)`
        : undefined;
  return {
    role: config.ROLE,
    port: listening.port,
    database: config.DATABASE_URL ? databaseHost(config.DATABASE_URL) : `embedded Postgres in ${config.DATA_DIR}`,
    ...(serves ? { url: local, docs: `${base}/docs` } : {}),
    ...(serves
      ? {
          webhooks: {
            "Twilio, A message comes in": base + TWILIO_SMS_PATH,
            "Twilio, Primary handler fails": base + TWILIO_SMS_FALLBACK_PATH,
            "Twilio status callback (set by Switchboard)": base + TWILIO_STATUS_PATH,
            "Stripe endpoint URL": base + STRIPE_PATH,
          },
        }
      : {}),
    ...(config.ROLE === "worker" && listening.metricsPort !== undefined
      ? { health: `http://localhost:${listening.metricsPort}/healthz` }
      : {}),
    ...(metrics ? { metrics } : {}),
    off: featuresOff(config),
  };
}
