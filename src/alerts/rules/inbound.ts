import { sql } from "drizzle-orm";
import { type Assessment, type IncidentExample, names, percent, type Rule, rows, WATCHED_PROVIDERS } from "../rule";

const minutes = (n: number) => sql`make_interval(mins => ${n}::int)`;

interface FailureRow { provider: string; finished: number; failed: number; examples: IncidentExample[] | null }

/** Share of each provider's events received in the window that ended `failed` (of those that finished). */
export const processingFailures: Rule<FailureRow[]> = {
  name: "processing_failures",
  description: "Inbound webhook events that ended failed, as a share of each provider's finished events",
  hint: "Read the examples' last_error (GET /v1/webhook-events/:id); fix the cause, then replay them "
    + "(POST /v1/webhook-events/:id/replay).",
  read: (db, config) => rows(db, sql`
    select p.provider, f.finished, f.failed, f.examples
    from unnest(${names(WATCHED_PROVIDERS)}) as p(provider)
    cross join lateral (
      select count(*) filter (where status <> 'pending')::int as finished,
        count(*) filter (where status = 'failed')::int as failed,
        (array_agg(json_build_object('kind', 'webhook_event', 'id', id::text, 'detail', left(last_error, 200))
          order by id desc) filter (where status = 'failed'))[1:5] as examples
      from webhook_events
      where provider = p.provider and received_at > now() - ${minutes(config.ALERT_FAILURE_WINDOW_MINUTES)}
    ) f`),
  decide: (figures, config) => figures.map((f): Assessment => {
    const share = percent(f.failed, f.finished);
    const firing = f.failed > 0 && f.finished >= config.ALERT_FAILURE_MIN_EVENTS
      && share >= config.ALERT_FAILURE_PERCENT;
    return {
      key: f.provider,
      firing,
      title: `${f.provider}: ${f.failed} of ${f.finished} events failed (${share}%) `
        + `in ${config.ALERT_FAILURE_WINDOW_MINUTES} min`,
      figures: {
        provider: f.provider, failed: f.failed, finished: f.finished, share_percent: share,
        threshold_percent: config.ALERT_FAILURE_PERCENT, min_events: config.ALERT_FAILURE_MIN_EVENTS,
        window_minutes: config.ALERT_FAILURE_WINDOW_MINUTES,
      },
      examples: f.examples ?? [],
    };
  }),
};

interface LatencyRow { provider: string; events: number; p99: number | null; examples: IncidentExample[] | null }

/** p99 of the answer times stored with each provider's webhooks received in the window (reconciled events had none). */
export const ingestLatency: Rule<LatencyRow[]> = {
  name: "ingest_p99",
  description: "How long Switchboard took to acknowledge webhooks (p99 of the stored answer times)",
  hint: "Slow acknowledgements mean the database is slow or overloaded: check its CPU, locks and connections, "
    + "and switchboard_ingest_seconds. Providers retry (and may disable the endpoint) when answers time out.",
  read: (db, config) => rows(db, sql`
    select p.provider, s.events, s.p99, s.examples
    from unnest(${names(WATCHED_PROVIDERS)}) as p(provider)
    cross join lateral (
      select count(response_ms)::int as events,
        percentile_cont(0.99) within group (order by response_ms)::float8 as p99,
        (array_agg(json_build_object('kind', 'webhook_event', 'id', id::text, 'detail', response_ms || ' ms')
          order by response_ms desc nulls last))[1:3] as examples
      from webhook_events
      where provider = p.provider and received_at > now() - ${minutes(config.ALERT_INGEST_WINDOW_MINUTES)}
        and response_ms is not null and source = 'webhook'
    ) s`),
  decide: (figures, config) => figures.map((f): Assessment => {
    const p99 = f.p99 === null ? 0 : Math.round(f.p99);
    const firing = f.events >= config.ALERT_INGEST_MIN_EVENTS && p99 > config.ALERT_INGEST_P99_MS;
    return {
      key: f.provider,
      firing,
      title: `${f.provider}: p99 answer time ${p99} ms over ${f.events} webhooks `
        + `in ${config.ALERT_INGEST_WINDOW_MINUTES} min`,
      figures: {
        provider: f.provider, p99_ms: p99, events: f.events, threshold_ms: config.ALERT_INGEST_P99_MS,
        min_events: config.ALERT_INGEST_MIN_EVENTS, window_minutes: config.ALERT_INGEST_WINDOW_MINUTES,
      },
      examples: f.examples ?? [],
    };
  }),
};

interface SilenceRow { provider: string; last_received_at: string | null; recent: boolean; usual_weeks: number }

/** Weeks looked back at, and how many of them must have had traffic in the same hours, for "usually sends". */
const SILENCE_WEEKS = 4;
const SILENCE_USUAL_WEEKS = 3;

/**
 * A provider that usually sends in these hours has sent nothing for ALERT_SILENCE_HOURS. "Usually" is learnt from
 * the data: the same hours of the same weekday had webhooks in at least 3 of the last 4 weeks, so a clinic closed
 * at night or at weekends is not alerted then. Off unless ALERT_SILENCE_HOURS is set. Only webhooks count: events
 * reconciliation fetched (source `reconcile`) mean the provider could not reach us, which is what this is about.
 */
export const providerSilence: Rule<SilenceRow[]> = {
  name: "provider_silence",
  description: "A provider that normally sends webhooks at this time has gone quiet",
  hint: "Check the provider's status page and its webhook settings (URL, signing secret), INBOUND_ALLOW_CIDRS, "
    + "and the provider's own delivery log (Twilio Debugger, Stripe dashboard → Webhooks).",
  enabled: (config) => config.ALERT_SILENCE_HOURS > 0,
  read: (db, config) => rows(db, sql`
    select p.provider,
      (select max(received_at) from webhook_events where provider = p.provider and source = 'webhook')
        as last_received_at,
      exists (select 1 from webhook_events where provider = p.provider and source = 'webhook'
        and received_at > now() - make_interval(hours => ${config.ALERT_SILENCE_HOURS}::int)) as recent,
      (select count(*)::int from generate_series(1, ${SILENCE_WEEKS}::int) as w(n) where exists (
        select 1 from webhook_events where provider = p.provider and source = 'webhook'
          and received_at > now() - make_interval(weeks => w.n, hours => ${config.ALERT_SILENCE_HOURS}::int)
          and received_at <= now() - make_interval(weeks => w.n))) as usual_weeks
    from unnest(${names(["stripe", "twilio-sms", "twilio-status"])}) as p(provider)`),
  decide: (figures, config) => figures.map((f): Assessment => {
    const usual = f.usual_weeks >= SILENCE_USUAL_WEEKS;
    const last = f.last_received_at ? new Date(f.last_received_at).toISOString() : "never";
    return {
      key: f.provider,
      firing: config.ALERT_SILENCE_HOURS > 0 && usual && !f.recent,
      title: f.recent
        ? `${f.provider}: webhooks are arriving again (last ${last})`
        : `${f.provider}: no webhook for ${config.ALERT_SILENCE_HOURS} h (last ${last}); `
          + `${f.usual_weeks} of the last ${SILENCE_WEEKS} weeks had some at this time`,
      figures: {
        provider: f.provider, last_received_at: f.last_received_at ? last : null,
        silent_hours: config.ALERT_SILENCE_HOURS,
        weeks_with_traffic_at_this_time: f.usual_weeks, weeks_looked_at: SILENCE_WEEKS,
      },
      examples: [],
    };
  }),
};

interface DebuggerRow {
  error_code: string; events: number; errors: number; warnings: number; last_at: string; examples: IncidentExample[];
}

/** Twilio Debugger events (POST /api/v1/webhooks/twilio/debugger), one incident per error code. */
export const twilioDebugger: Rule<DebuggerRow[]> = {
  name: "twilio_debugger",
  description: "Twilio reported errors or warnings on the account (Twilio Debugger), grouped by error code",
  hint: "Look the error code up in Twilio's error dictionary (link in the figures) and the resource in the "
    + "Twilio console; the examples are the stored debugger webhooks with Twilio's own description.",
  read: (db, config) => rows(db, sql`
    select error_code, count(*)::int as events,
      count(*) filter (where level = 'error')::int as errors,
      count(*) filter (where level = 'warning')::int as warnings,
      max(received_at) as last_at,
      (array_agg(json_build_object('kind', 'webhook_event', 'id', webhook_event_id::text,
        'detail', concat_ws(' ', level, resource_sid, left(more_info ->> 'Msg', 160)))
        order by id desc))[1:5] as examples
    from twilio_debugger_events
    where received_at > now() - ${minutes(config.ALERT_DEBUGGER_WINDOW_MINUTES)}
    group by error_code`),
  decide: (figures, config) => figures.map((f): Assessment => ({
    key: f.error_code,
    firing: f.events >= config.ALERT_DEBUGGER_MIN_EVENTS,
    title: `Twilio error ${f.error_code}: ${f.events} debugger event${f.events === 1 ? "" : "s"} `
      + `(${f.errors} errors, ${f.warnings} warnings) in ${config.ALERT_DEBUGGER_WINDOW_MINUTES} min`,
    figures: {
      error_code: f.error_code, events: f.events, errors: f.errors, warnings: f.warnings,
      last_at: new Date(f.last_at).toISOString(), min_events: config.ALERT_DEBUGGER_MIN_EVENTS,
      window_minutes: config.ALERT_DEBUGGER_WINDOW_MINUTES,
      twilio_docs: /^\d+$/.test(f.error_code) ? `https://www.twilio.com/docs/api/errors/${f.error_code}` : null,
    },
    examples: f.examples,
  })),
};
