import type { Overview } from "../queries/overview";
import { PROVIDERS, EVENT_STATUSES } from "../queries/events";
import { Layout, type PageContext } from "../ui";

const ms = (v: number | null) => (v === null ? "—" : `${v} ms`);
const rate = (c: Record<string, number>) => {
  const done = (c.succeeded ?? 0) + (c.failed ?? 0);
  return done === 0 ? "—" : `${((100 * (c.succeeded ?? 0)) / done).toFixed(1)} %`;
};
function age(seconds: number | null): string {
  if (seconds === null) return "none waiting";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** The part that htmx refreshes every 10 s (GET /console/overview/stats answers just this). */
export function OverviewStats({ o, at }: { o: Overview; at: Date }) {
  const cell = (provider: string, status: string, key: "hour" | "day") =>
    o.received.find((r) => r.provider === provider && r.status === status)?.[key] ?? 0;
  const delivered = (o.sms.delivered ?? 0) + (o.sms.read ?? 0);
  const smsFailed = (o.sms.failed ?? 0) + (o.sms.undelivered ?? 0);
  return (
    <div id="stats" hx-get="/console/overview/stats" hx-trigger="every 10s" hx-swap="outerHTML">
      <div class="cards">
        <div class={["card", o.failed > 0 ? "bad" : undefined]}>
          <a href="/console/events?status=failed">
            <span class="big">{o.failed}</span> webhooks failed
          </a>
        </div>
        <div class="card">
          <a href="/console/events?status=pending">
            <span class="big">{o.pending}</span> waiting to be processed
          </a>
        </div>
        <div class={["card", (o.oldestJobSeconds ?? 0) > 300 ? "bad" : undefined]}>
          <span class="big">{age(o.oldestJobSeconds)}</span> oldest waiting job
        </div>
        <div class="card">
          <span class="big">
            {ms(o.answerMs.hour[0])} / {ms(o.answerMs.hour[1])}
          </span>{" "}
          answer time p50 / p99, last hour
          <div class="muted small">
            last day: {ms(o.answerMs.day[0])} / {ms(o.answerMs.day[1])}
          </div>
        </div>
        <div class="card">
          <a href="/console/deliveries">
            <span class="big">{rate(o.deliveries.hour)}</span> outbound success, last hour
          </a>
          <div class="muted small">
            last day: {rate(o.deliveries.day)}, {o.deliveries.day.failed ?? 0} failed,{" "}
            {o.deliveries.day.pending ?? 0} pending
          </div>
        </div>
        <div class={["card", smsFailed > 0 ? "bad" : undefined]}>
          <a href="/console/sms?status=failed">
            <span class="big">
              {delivered} / {smsFailed}
            </span>{" "}
            SMS delivered / failed, last day
          </a>
        </div>
        <div class={["card", o.emailsFailed > 0 ? "bad" : undefined]}>
          <a href="/console/emails?status=pending">
            <span class="big">{o.emailsWaiting}</span> emails waiting
          </a>
          <div class="muted small">{o.emailsFailed} failed</div>
        </div>
      </div>
      <h2>Webhooks received</h2>
      <table class="list matrix">
        <thead>
          <tr>
            <th>Provider</th>
            {EVENT_STATUSES.map((s) => (
              <th class="num">
                {s}
                <br />
                <span class="muted small">hour · day</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {PROVIDERS.map((p) => (
            <tr>
              <td>
                <a href={`/console/events?provider=${p}`}>{p}</a>
              </td>
              {EVENT_STATUSES.map((s) => (
                <td class="num">
                  <a href={`/console/events?provider=${p}&status=${s}`}>
                    {cell(p, s, "hour")} · {cell(p, s, "day")}
                  </a>
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted small">Updated {at.toISOString().slice(11, 19)} UTC; refreshes every 10 s.</p>
    </div>
  );
}

export function OverviewPage({ ctx, o, at }: { ctx: PageContext; o: Overview; at: Date }) {
  return (
    <Layout title="Overview" section="overview" ctx={ctx}>
      <h1>Overview</h1>
      <form method="get" action="/console/appointments" class="filters">
        <label>
          Find a patient's appointments
          <input type="search" name="q" placeholder="name or +15551234567" />
        </label>
        <button type="submit" class="primary">
          Search
        </button>
      </form>
      <OverviewStats o={o} at={at} />
    </Layout>
  );
}
