import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

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
      help: "Outbound SMS send attempts by outcome (sent, reconciled, failed, retry, skipped)",
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
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
