import { sql } from "drizzle-orm";
import { type Assessment, type IncidentExample, type Rule, rows } from "../rule";

const minutes = (n: number) => sql`make_interval(mins => ${n}::int)`;

interface EndpointFailuresRow {
  endpoint_id: string; url: string; clinic_id: string | null; conversation_id: string | null; purpose: string | null;
  disabled_at: string | null; failing_since: string | null; failed: number; examples: IncidentExample[];
}

/** Deliveries that ended `failed` in the window, per endpoint: a customer receiver that is down or refusing. */
export const deliveryFailures: Rule<EndpointFailuresRow[]> = {
  name: "delivery_failures",
  description: "Outbound webhook deliveries failing on one endpoint (after all their retries)",
  hint: "Look at the attempts of the example deliveries (GET /v1/deliveries/:id): status codes, timeouts, refusals. "
    + "Once the receiver works, re-enable the endpoint if it was disabled and replay the range "
    + "(POST /v1/endpoints/:id/enable, POST /v1/endpoints/:id/replay).",
  read: (db, config) => rows(db, sql`
    select d.endpoint_id, e.url, e.clinic_id, e.conversation_id, e.purpose, e.disabled_at, e.failing_since,
      count(*)::int as failed,
      (array_agg(json_build_object('kind', 'delivery', 'id', d.id::text, 'detail',
        concat_ws('; ', d.event_type, left(d.last_error, 160))) order by d.completed_at desc))[1:5] as examples
    from deliveries d join webhook_endpoints e on e.id = d.endpoint_id
    where d.status = 'failed' and d.completed_at > now() - ${minutes(config.ALERT_DELIVERY_WINDOW_MINUTES)}
    group by d.endpoint_id, e.id`),
  decide: (figures, config) => figures.map((f): Assessment => ({
    key: f.endpoint_id,
    firing: f.failed >= config.ALERT_DELIVERY_FAILURES,
    title: `${f.failed} deliveries to ${f.url} failed in ${config.ALERT_DELIVERY_WINDOW_MINUTES} min`
      + (f.disabled_at ? " (endpoint disabled)" : ""),
    figures: {
      endpoint_id: f.endpoint_id, url: f.url, clinic_id: f.clinic_id, conversation_id: f.conversation_id,
      purpose: f.purpose, failed: f.failed, threshold: config.ALERT_DELIVERY_FAILURES,
      window_minutes: config.ALERT_DELIVERY_WINDOW_MINUTES,
      disabled_at: f.disabled_at ? new Date(f.disabled_at).toISOString() : null,
      failing_since: f.failing_since ? new Date(f.failing_since).toISOString() : null,
    },
    examples: [{ kind: "endpoint", id: f.endpoint_id, detail: f.url }, ...f.examples],
  })),
};

interface RetriesRow {
  retries: number;
  top: { endpoint_id: string; url: string; retries: number }[] | null;
  examples: IncidentExample[] | null;
}

/** Attempts after the first (retries) started in the window, per minute, across all endpoints. */
export const deliveryRetries: Rule<RetriesRow> = {
  name: "delivery_retries",
  description: "Outbound webhook retries per minute: receivers answering errors or timing out",
  hint: "The figures name the endpoints with the most retries; their attempts (GET /v1/deliveries/:id) show "
    + "what the receivers answer.",
  read: async (db, config) => (await rows<RetriesRow>(db, sql`
    with recent as (
      select a.delivery_id, a.attempt, a.started_at, a.status_code, a.error_type, d.endpoint_id
      from delivery_attempts a join deliveries d on d.id = a.delivery_id
      where a.attempt > 1 and a.started_at > now() - ${minutes(config.ALERT_RETRY_WINDOW_MINUTES)}
    )
    select (select count(*)::int from recent) as retries,
      (select json_agg(t) from (select r.endpoint_id, e.url, count(*)::int as retries from recent r
        join webhook_endpoints e on e.id = r.endpoint_id
        group by r.endpoint_id, e.url order by 3 desc limit 3) t) as top,
      (select array_agg(json_build_object('kind', 'delivery', 'id', delivery_id::text, 'detail',
        concat_ws('; ', 'attempt ' || attempt, error_type, 'HTTP ' || status_code)) order by started_at desc)
        from (select * from recent order by started_at desc limit 5) x) as examples`))[0]!,
  decide: (f, config) => {
    const perMinute = Math.round((f.retries / config.ALERT_RETRY_WINDOW_MINUTES) * 10) / 10;
    return [{
      key: "all",
      firing: perMinute > config.ALERT_RETRIES_PER_MINUTE,
      title: `${perMinute} outbound retries a minute over ${config.ALERT_RETRY_WINDOW_MINUTES} min`
        + (f.top?.[0] ? `, most to ${f.top[0].url}` : ""),
      figures: {
        retries: f.retries, per_minute: perMinute, threshold_per_minute: config.ALERT_RETRIES_PER_MINUTE,
        window_minutes: config.ALERT_RETRY_WINDOW_MINUTES, top_endpoints: f.top ?? [],
      },
      examples: f.examples ?? [],
    }];
  },
};
