import type { auditLog, webhookEvents } from "../../../db/schema";
import { mask } from "../../log";
import { EVENT_STATUSES, type EventFilters, type EventRow, eventSummary, PROVIDERS } from "../queries/events";
import type { TrailItem } from "../queries/trail";
import {
  Action,
  Badge,
  Body,
  Empty,
  KeyValues,
  Layout,
  Masked,
  type PageContext,
  Pager,
  Select,
  Time,
  timeValue,
} from "../ui";

export const WEBHOOK_PATHS = {
  twilioSms: "/v1/clinic/webhooks/twilio/sms",
  twilioFallback: "/v1/clinic/webhooks/twilio/sms/fallback",
  twilioStatus: "/api/v1/webhooks/twilio/sms-status",
  stripe: "/api/v1/webhooks/stripe/payment-events",
};

/** Where to point the providers, with this deployment's PUBLIC_URL. */
export function NoWebhooksYet({ publicUrl }: { publicUrl?: string }) {
  const base = (publicUrl ?? "").replace(/\/+$/, "");
  return (
    <Empty>
      <h2>No webhooks yet</h2>
      {!base && (
        <p class="warn">PUBLIC_URL is not set: set it to this service's external address (Twilio signs that URL).</p>
      )}
      <p>
        Point Twilio at{" "}
        <code>
          {base}
          {WEBHOOK_PATHS.twilioSms}
        </code>{" "}
        ("A message comes in", HTTP POST) and at{" "}
        <code>
          {base}
          {WEBHOOK_PATHS.twilioFallback}
        </code>{" "}
        as its fallback URL. Status callbacks come to{" "}
        <code>
          {base}
          {WEBHOOK_PATHS.twilioStatus}
        </code>{" "}
        by themselves (every SMS names it).
      </p>
      <p>
        In Stripe, add the endpoint{" "}
        <code>
          {base}
          {WEBHOOK_PATHS.stripe}
        </code>{" "}
        with the events payment_intent.succeeded, payment_intent.payment_failed and charge.refunded, and set its signing
        secret as STRIPE_WEBHOOK_SECRET.
      </p>
    </Empty>
  );
}

export function EventsPage({
  ctx,
  f,
  query,
  rows,
  next,
}: {
  ctx: PageContext;
  f: EventFilters;
  query: Record<string, unknown>;
  rows: EventRow[];
  next?: string;
}) {
  const filtered = !!(f.provider || f.status || f.since || f.until || f.key || f.phone || f.badPhone || f.before);
  return (
    <Layout title="Webhooks" section="events" ctx={ctx}>
      <h1>Webhooks received</h1>
      <form method="get" action="/console/events" class="filters">
        <Select name="provider" label="Provider" all="all" options={PROVIDERS} value={f.provider} />
        <Select name="status" label="Status" all="any" options={EVENT_STATUSES} value={f.status} />
        <label>
          From (UTC)
          <input type="datetime-local" name="since" value={timeValue(f.since)} />
        </label>
        <label>
          To (UTC)
          <input type="datetime-local" name="until" value={timeValue(f.until)} />
        </label>
        <label>
          Idempotency key
          <input type="search" name="key" value={f.key} placeholder="evt_… or SM…" />
        </label>
        <label>
          Phone
          <input type="search" name="phone" value={query.phone as string | undefined} placeholder="+15551234567" />
        </label>
        <button type="submit" class="primary">
          Filter
        </button>
        {filtered && <a href="/console/events">Clear</a>}
      </form>
      {f.badPhone && (
        <p class="warn">"{f.badPhone}" is not a phone number; write it with its country code, like +15551234567.</p>
      )}
      {rows.length === 0 ? (
        filtered ? (
          <Empty>
            <p>No webhooks match these filters.</p>
          </Empty>
        ) : (
          <NoWebhooksYet publicUrl={ctx.publicUrl} />
        )
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th>Received (UTC)</th>
              <th>Provider</th>
              <th>What</th>
              <th>Answer</th>
              <th>Status</th>
              <th>Tries</th>
              <th>Last error</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr>
                <td>
                  <a href={`/console/events/${r.id}`}>
                    <Time at={r.receivedAt} />
                  </a>
                </td>
                <td>{r.provider}</td>
                <td class="what">
                  <a href={`/console/events/${r.id}`}>{mask(eventSummary(r.provider, r.preview))}</a>
                  <div class="mono small muted">{r.key}</div>
                </td>
                <td class="num">
                  {r.responseStatus}
                  <span class="muted"> · {r.responseMs ?? "?"} ms</span>
                </td>
                <td>
                  <Badge status={r.status} />
                </td>
                <td class="num">{r.attempts}</td>
                <td class="error">{r.lastError ? <Masked text={r.lastError.slice(0, 120)} /> : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager base="/console/events" query={query} next={next} />
    </Layout>
  );
}

type Event = typeof webhookEvents.$inferSelect;
type Audit = typeof auditLog.$inferSelect;
interface Job {
  run_at: Date;
  attempts: number;
  max_attempts: number;
  last_error: string | null;
  locked_at: Date | null;
}

export function EventPage({
  ctx,
  event,
  trail,
  job,
  audit,
  flash,
}: {
  ctx: PageContext;
  event: Event;
  trail: TrailItem[];
  job?: Job;
  audit: Audit[];
  flash?: string;
}) {
  return (
    <Layout title={`Webhook ${event.id}`} section="events" ctx={ctx} flash={flash}>
      <p class="crumbs">
        <a href="/console/events">Webhooks</a> / {event.id}
      </p>
      <div class="title-row">
        <h1>
          {event.provider} webhook {event.id} <Badge status={event.status} />
        </h1>
        <a class="button" href={`/console/events/${event.id}/replay`}>
          Replay…
        </a>
      </div>
      <div class="cols">
        <section>
          <h2>Received</h2>
          <KeyValues
            rows={[
              ["Received", <Time at={event.receivedAt} />],
              ["Idempotency key", <span class="mono">{event.idempotencyKey}</span>],
              ["Twilio idempotency token", event.providerToken],
              [
                "Answer",
                `HTTP ${event.responseStatus} (${event.responseContentType}) in ${event.responseMs ?? "?"} ms`,
              ],
              ["Answer body", <pre class="wrap">{event.responseBody}</pre>],
            ]}
          />
        </section>
        <section>
          <h2>Processing</h2>
          <KeyValues
            rows={[
              ["Status", <Badge status={event.status} />],
              ["Attempts", String(event.attempts)],
              ["Last error", event.lastError ? <span class="error">{event.lastError}</span> : null],
              ["Processed", <Time at={event.processedAt} />],
              [
                "Queued job",
                job
                  ? `${job.locked_at ? "running" : `runs at ${new Date(job.run_at).toISOString()}`}, `
                    + `attempt ${job.attempts} of ${job.max_attempts}`
                    + (job.last_error ? `; last error: ${job.last_error.slice(0, 200)}` : "")
                  : null,
              ],
            ]}
          />
        </section>
      </div>
      <section>
        <h2>What it caused</h2>
        {trail.length === 0 ? (
          <p class="muted">Nothing recorded{event.status === "pending" ? " yet: it has not been processed" : ""}.</p>
        ) : (
          <ol class="trail">
            {trail.map((t) => (
              <li>
                <Time at={t.at} /> <span class="kind">{t.kind}</span>{" "}
                {t.href ? <a href={t.href}>{t.label}</a> : <span>{t.label}</span>}{" "}
                {t.status && <Badge status={t.status} />}
                {t.detail && <div class="error small">{t.detail}</div>}
              </li>
            ))}
          </ol>
        )}
      </section>
      <section>
        <h2>Body</h2>
        <Body text={event.rawBody} contentType={event.headers["content-type"]} />
      </section>
      <section>
        <h2>
          Headers <span class="muted small">(signatures redacted)</span>
        </h2>
        <table class="params">
          <tbody>
            {Object.entries(event.headers).map(([k, v]) => (
              <tr>
                <td class="mono">{k}</td>
                <td class="mono wrap">{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {audit.length > 0 && (
        <section>
          <h2>Console actions</h2>
          <ul>
            {audit.map((a) => (
              <li>
                <Time at={a.at} /> {a.action} from {a.actor ?? "?"}
              </li>
            ))}
          </ul>
        </section>
      )}
    </Layout>
  );
}

export function ReplayConfirmPage({ ctx, event }: { ctx: PageContext; event: Event }) {
  return (
    <Layout title={`Replay webhook ${event.id}`} section="events" ctx={ctx}>
      <p class="crumbs">
        <a href="/console/events">Webhooks</a> / <a href={`/console/events/${event.id}`}>{event.id}</a> / replay
      </p>
      <h1>
        Replay {event.provider} webhook {event.id}?
      </h1>
      <p>
        It goes back to <b>pending</b> and the worker processes it again, like the management API's
        <code>POST /v1/webhook-events/{event.id}/replay</code>. Its effects are keyed, so nothing that already happened
        (an SMS, an email, a ledger row) happens twice. Now: <Badge status={event.status} />
        {event.lastError ? <span class="error"> {event.lastError}</span> : ""}
      </p>
      <div class="actions">
        <Action action={`/console/events/${event.id}/replay`} label="Replay now" ctx={ctx} />
        <a href={`/console/events/${event.id}`}>Cancel</a>
      </div>
    </Layout>
  );
}
