import type { deliveries, deliveryAttempts, webhookEndpoints } from "../../../db/schema";
import { DELIVERY_STATUSES, type DeliveryFilters, type getEndpoint, type listDeliveries, type listEndpoints } from "../queries/outbound";
import { Action, Badge, Body, Empty, KeyValues, Layout, type PageContext, Pager, Select, Time, timeValue } from "../ui";

type DeliveryRow = Awaited<ReturnType<typeof listDeliveries>>["rows"][number];

export function DeliveryTable({ rows }: { rows: DeliveryRow[] }) {
  return (
    <table class="list">
      <thead><tr><th>Created (UTC)</th><th>Event</th><th>Endpoint</th><th>Status</th><th>Tries</th><th>Last answer</th></tr></thead>
      <tbody>
        {rows.map((d) => (
          <tr>
            <td><a href={`/console/deliveries/${d.id}`}><Time at={d.createdAt} /></a></td>
            <td><a href={`/console/deliveries/${d.id}`}>{d.eventType}</a></td>
            <td class="wrap"><a href={`/console/endpoints/${d.endpointId}`}>{d.url}</a></td>
            <td><Badge status={d.status} /></td>
            <td class="num">{d.attempts}</td>
            <td class={d.lastError || (d.lastStatus ?? 0) >= 300 ? "error" : undefined}>{d.lastError ?? (d.lastStatus ? `HTTP ${d.lastStatus}` : "")}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function DeliveriesPage({ ctx, f, query, rows, next }: {
  ctx: PageContext; f: DeliveryFilters; query: Record<string, unknown>; rows: DeliveryRow[]; next?: string;
}) {
  const filtered = !!(f.status || f.endpoint || f.since || f.until || f.before);
  return (
    <Layout title="Deliveries" section="deliveries" ctx={ctx}>
      <h1>Outbound deliveries</h1>
      <form method="get" action="/console/deliveries" class="filters">
        <Select name="status" label="Status" all="any" options={DELIVERY_STATUSES} value={f.status} />
        <label>From (UTC)<input type="datetime-local" name="since" value={timeValue(f.since)} /></label>
        <label>To (UTC)<input type="datetime-local" name="until" value={timeValue(f.until)} /></label>
        {f.endpoint && <input type="hidden" name="endpoint" value={f.endpoint} />}
        <button type="submit" class="primary">Filter</button>
        {filtered && <a href="/console/deliveries">Clear</a>}
      </form>
      {f.endpoint && <p>Endpoint <a href={`/console/endpoints/${f.endpoint}`}>{f.endpoint}</a> only.</p>}
      {rows.length === 0
        ? <Empty>{filtered ? <p>No deliveries match these filters.</p>
          : <p>No deliveries yet. Conversations created with a callback_url (and clinics with one) get their messages here.</p>}</Empty>
        : <DeliveryTable rows={rows} />}
      <Pager base="/console/deliveries" query={query} next={next} />
    </Layout>
  );
}

type Delivery = typeof deliveries.$inferSelect;
type Attempt = typeof deliveryAttempts.$inferSelect;
type Endpoint = typeof webhookEndpoints.$inferSelect;

export function DeliveryPage({ ctx, d, endpoint, attempts, flash }: {
  ctx: PageContext; d: Delivery; endpoint: Endpoint; attempts: Attempt[]; flash?: string;
}) {
  return (
    <Layout title="Delivery" section="deliveries" ctx={ctx} flash={flash}>
      <p class="crumbs"><a href="/console/deliveries">Deliveries</a> / {d.id}</p>
      <div class="title-row">
        <h1>{d.eventType} delivery <Badge status={d.status} /></h1>
        {d.status !== "pending" && <Action action={`/console/deliveries/${d.id}/retry`} label="Retry" ctx={ctx} />}
      </div>
      <KeyValues rows={[
        ["Endpoint", <a href={`/console/endpoints/${endpoint.id}`}>{endpoint.url}</a>],
        ["Endpoint state", endpoint.disabledAt ? <span class="error">disabled: {endpoint.disabledReason}</span> : "enabled"],
        ["webhook-id", <span class="mono">{d.webhookId}</span>],
        ["Created", <Time at={d.createdAt} />], ["Completed", <Time at={d.completedAt} />],
        ["Next attempt", d.status === "pending" ? <Time at={d.nextAttemptAt} /> : null],
        ["Attempts", String(d.attempts)],
        ["Conversation", d.conversationId], ["Message", d.messageId], ["Clinic event", d.clinicEventId],
      ]} />
      <h2>Attempts</h2>
      {attempts.length === 0 ? <p class="muted">No attempt yet.</p> : (
        <table class="list">
          <thead><tr><th>#</th><th>Started (UTC)</th><th>Duration</th><th>Address</th><th>Answer</th><th>Error</th><th>Response body</th></tr></thead>
          <tbody>
            {attempts.map((a) => (
              <tr>
                <td class="num">{a.attempt}</td><td><Time at={a.startedAt} /></td><td class="num">{a.durationMs} ms</td>
                <td class="mono">{a.address}</td>
                <td>{a.statusCode ? <span class={a.statusCode < 300 ? "ok-text" : "error"}>HTTP {a.statusCode}</span> : "—"}</td>
                <td class="error">{a.errorType ? `${a.errorType}: ${a.error ?? ""}` : (a.error ?? "")}</td>
                <td><pre class="wrap small">{a.responseBody ?? ""}</pre></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Body</h2>
      <Body text={d.body} contentType="application/json" />
    </Layout>
  );
}

type EndpointRow = Awaited<ReturnType<typeof listEndpoints>>["rows"][number];
const state = (e: { disabledAt: Date | null; failingSince: Date | null }) => (e.disabledAt ? "disabled" : e.failingSince ? "failing" : "enabled");

export function EndpointsPage({ ctx, query, rows, next }: { ctx: PageContext; query: Record<string, unknown>; rows: EndpointRow[]; next?: string }) {
  return (
    <Layout title="Endpoints" section="endpoints" ctx={ctx}>
      <h1>Webhook endpoints</h1>
      <form method="get" action="/console/endpoints" class="filters">
        <Select name="state" label="State" all="all" options={["disabled", "failing"]} value={query.state as string | undefined} />
        <button type="submit" class="primary">Filter</button>
      </form>
      {rows.length === 0 ? <Empty><p>No endpoints yet: one is made for each conversation with a callback_url and each clinic with one.</p></Empty> : (
        <table class="list">
          <thead><tr><th>URL</th><th>For</th><th>State</th><th>Failing since</th><th>Created (UTC)</th></tr></thead>
          <tbody>
            {rows.map((e) => (
              <tr>
                <td class="wrap"><a href={`/console/endpoints/${e.id}`}>{e.url}</a></td>
                <td>{e.clinicName ? `clinic ${e.clinicName}` : `conversation ${e.conversationId?.slice(0, 8) ?? "?"}`}</td>
                <td><Badge status={state(e)} /></td>
                <td><Time at={e.failingSince} /></td>
                <td><Time at={e.createdAt} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager base="/console/endpoints" query={query} next={next} />
    </Layout>
  );
}

type EndpointDetail = NonNullable<Awaited<ReturnType<typeof getEndpoint>>>;

export function EndpointPage({ ctx, detail, recent, secret, flash }: {
  ctx: PageContext; detail: EndpointDetail; recent: DeliveryRow[]; secret?: string; flash?: string;
}) {
  const e = detail.endpoint;
  return (
    <Layout title="Endpoint" section="endpoints" ctx={ctx} flash={flash}>
      <p class="crumbs"><a href="/console/endpoints">Endpoints</a> / {e.id}</p>
      <h1 class="wrap">{e.url} <Badge status={state(e)} /></h1>
      {secret && (
        <div class="secret" role="alert">
          <p><b>New signing secret</b>, shown this once. Give it to the receiver now; the old secret keeps signing
            (a second signature) until <Time at={e.previousSecretExpiresAt} /> UTC.</p>
          <p><code class="select-all">{secret}</code></p>
        </div>
      )}
      <KeyValues rows={[
        ["For", e.clinicName ? `clinic ${e.clinicName}` : `conversation ${e.conversationId ?? "?"}`],
        ["Disabled", e.disabledAt ? <span class="error"><Time at={e.disabledAt} /> ({e.disabledReason})</span> : null],
        ["Failing since", <Time at={e.failingSince} />],
        ["Previous secret valid until", <Time at={e.previousSecretExpiresAt} />],
        ["Deliveries", `${detail.counts.succeeded ?? 0} succeeded, ${detail.counts.failed ?? 0} failed, ${detail.counts.pending ?? 0} pending`],
      ]} />
      <div class="actions">
        {e.disabledAt
          ? <Action action={`/console/endpoints/${e.id}/enable`} label="Enable" ctx={ctx} />
          : <Action action={`/console/endpoints/${e.id}/disable`} label="Disable" ctx={ctx} danger />}
        <Action action={`/console/endpoints/${e.id}/rotate-secret`} label="Rotate secret" ctx={ctx} danger />
      </div>
      <h2>Send failed deliveries again</h2>
      <Action action={`/console/endpoints/${e.id}/replay`} label="Replay failed deliveries" ctx={ctx}>
        <label>From (UTC)<input type="datetime-local" name="since" required /></label>
        <label>To (UTC, empty: now)<input type="datetime-local" name="until" /></label>
      </Action>
      <h2>Latest deliveries <a class="small" href={`/console/deliveries?endpoint=${e.id}`}>all »</a></h2>
      {recent.length === 0 ? <p class="muted">None yet.</p> : <DeliveryTable rows={recent} />}
    </Layout>
  );
}
