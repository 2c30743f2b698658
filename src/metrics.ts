import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface MetricProbes {
  /** Age in seconds of the oldest delivery still waiting to be sent, read from the database at scrape time. */
  outboundOldestWaiting?: () => Promise<number>;
}

/** One registry per process (per Deps, so tests do not share counters). */
export function createMetrics(probes: MetricProbes = {}) {
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
    ingestSeconds: new Histogram({
      name: "switchboard_ingest_seconds",
      help: "Time from request to acknowledgement",
      labelNames: ["provider"] as const,
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
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
      async collect() {
        if (probes.outboundOldestWaiting) this.set(await probes.outboundOldestWaiting().catch(() => -1));
      },
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
