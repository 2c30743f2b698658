import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Sql } from "./db";

/** One registry per process (per Deps, so tests do not share counters). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    webhooksReceived: new Counter({
      name: "switchboard_webhooks_received_total",
      help: "Inbound webhooks by provider and outcome (stored, duplicate, rejected, error)",
      labelNames: ["provider", "outcome"] as const,
      registers: [registry],
    }),
    eventsProcessed: new Counter({
      name: "switchboard_events_processed_total",
      help: "Inbound events processed by the worker, by provider and final status",
      labelNames: ["provider", "status"] as const,
      registers: [registry],
    }),
    smsSends: new Counter({
      name: "switchboard_sms_sends_total",
      help: "Outbound SMS send attempts by outcome (sent, reconciled, failed, unconfirmed, retry, skipped)",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    reconciled: new Counter({
      name: "switchboard_reconciled_total",
      help: "Events reconciliation found missing and stored, by provider (twilio, stripe) and kind "
        + "(sms_status, inbound_sms, event)",
      labelNames: ["provider", "kind"] as const,
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: "switchboard_reconcile_errors_total",
      help: "Reconciliation passes cut short by a provider error (429, 5xx, network, refused) or a failed store",
      labelNames: ["provider"] as const,
      registers: [registry],
    }),
    ingestSeconds: new Histogram({
      name: "switchboard_ingest_seconds",
      help: "Time from request to acknowledgement",
      labelNames: ["provider"] as const,
      // Up to 10 s, so that an alert on a p99 of a second or more (deploy/prometheus/alerts.yml) can see it.
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    outboundDeliveries: new Counter({
      name: "switchboard_outbound_deliveries_total",
      help: "Outbound webhook deliveries finished, by outcome (succeeded, failed)",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    outboundAttemptSeconds: new Histogram({
      name: "switchboard_outbound_attempt_seconds",
      help: "Duration of one outbound webhook attempt, by result (success, failure)",
      labelNames: ["result"] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    outboundRetries: new Counter({
      name: "switchboard_outbound_retries_total",
      help: "Outbound webhook attempts scheduled again after a failure",
      registers: [registry],
    }),
    outboundErrors: new Counter({
      name: "switchboard_outbound_errors_total",
      help: "Failed outbound attempts by type (timeout, network, http_status, redirect, refused, gone)",
      labelNames: ["type"] as const,
      registers: [registry],
    }),
    retentionRows: new Counter({
      name: "switchboard_retention_rows_total",
      help: "Rows the retention job emptied (cleared) or removed (deleted), by table",
      labelNames: ["table", "action"] as const,
      registers: [registry],
    }),
    outboundOldestWaiting: new Gauge({
      name: "switchboard_outbound_oldest_waiting_seconds",
      help: "Age of the oldest outbound webhook delivery not yet finished (queue lag)",
      registers: [registry],
    }),
    smsStatus: new Counter({
      name: "switchboard_sms_status_total",
      help: "Outbound SMS moved to a status by a Twilio status callback (delivered, undelivered, failed, ...)",
      labelNames: ["status"] as const,
      registers: [registry],
    }),
    emails: new Counter({
      name: "switchboard_emails_total",
      help: "Outbox email send outcomes (sent, failed, retry, logged) by kind (alert, sms_fallback, ...)",
      labelNames: ["outcome", "kind"] as const,
      registers: [registry],
    }),
    twilioDebuggerEvents: new Counter({
      name: "switchboard_twilio_debugger_events_total",
      help: "Twilio Debugger events received, by level (error, warning) and Twilio error code",
      labelNames: ["level", "error_code"] as const,
      registers: [registry],
    }),
    alerts: new Counter({
      name: "switchboard_alerts_total",
      help: "Alert incidents opened, reminded and resolved, by rule",
      labelNames: ["rule", "event"] as const,
      registers: [registry],
    }),
    backlogOldest: new Gauge({
      name: "switchboard_backlog_oldest_seconds",
      help: "Age of the oldest waiting item by queue (webhook_events: pending events, jobs: due jobs not started, "
        + "email_outbox: unsent emails), read from the database at scrape time",
      labelNames: ["queue"] as const,
      registers: [registry],
    }),
    openIncidents: new Gauge({
      name: "switchboard_alert_incidents_open",
      help: "Open alert incidents by rule, read from the database at scrape time",
      labelNames: ["rule"] as const,
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

/** Age in seconds of the oldest unfinished delivery (0 when none): the queue-lag gauge. */
export async function oldestWaitingSeconds(sql: Sql): Promise<number> {
  const [row] = await sql`select coalesce(extract(epoch from (now() - min(created_at))), 0)::float8 as age
    from deliveries where status = 'pending'`;
  return Number(row?.age ?? 0);
}
