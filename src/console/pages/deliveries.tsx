import type { deliveries, deliveryAttempts, webhookEndpoints } from "../../../db/schema";
import { DELIVERY_STATUSES, type DeliveryFilters, type listDeliveries } from "../queries/outbound";
import { Action, Badge, Body, Empty, KeyValues, Layout, type PageContext, Pager, Select, Time, timeValue } from "../ui";

export type DeliveryRow = Awaited<ReturnType<typeof listDeliveries>>["rows"][number];

export function DeliveryTable({ rows }: { rows: DeliveryRow[] }) {
  return (
    <table class="list">
      <thead>
        <tr>
          <th>Created (UTC)</th>
          <th>Event</th>
          <th>Endpoint</th>
          <th>Status</th>
          <th>Tries</th>
          <th>Last answer</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((d) => (
          <tr>
            <td>
              <a href={`/console/deliveries/${d.id}`}>
                <Time at={d.createdAt} />
              </a>
            </td>
            <td>
              <a href={`/console/deliveries/${d.id}`}>{d.eventType}</a>
            </td>
            <td class="wrap">
              <a href={`/console/endpoints/${d.endpointId}`}>{d.url}</a>
            </td>
            <td>
              <Badge status={d.status} />
            </td>
            <td class="num">{d.attempts}</td>
            <td class={d.lastError || (d.lastStatus ?? 0) >= 300 ? "error" : undefined}>
              {d.lastError ?? (d.lastStatus ? `HTTP ${d.lastStatus}` : "")}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function DeliveriesPage({
  ctx,
  f,
  query,
  rows,
  next,
}: {
  ctx: PageContext;
  f: DeliveryFilters;
  query: Record<string, unknown>;
  rows: DeliveryRow[];
  next?: string;
}) {
  const filtered = !!(f.status || f.endpoint || f.since || f.until || f.before);
  return (
    <Layout title="Deliveries" section="deliveries" ctx={ctx}>
      <h1>Outbound deliveries</h1>
      <form method="get" action="/console/deliveries" class="filters">
        <Select name="status" label="Status" all="any" options={DELIVERY_STATUSES} value={f.status} />
        <label>
          From (UTC)
          <input type="datetime-local" name="since" value={timeValue(f.since)} />
        </label>
        <label>
          To (UTC)
          <input type="datetime-local" name="until" value={timeValue(f.until)} />
        </label>
        {f.endpoint && <input type="hidden" name="endpoint" value={f.endpoint} />}
        <button type="submit" class="primary">
          Filter
        </button>
        {filtered && <a href="/console/deliveries">Clear</a>}
      </form>
      {f.endpoint && (
        <p>
          Endpoint <a href={`/console/endpoints/${f.endpoint}`}>{f.endpoint}</a> only.
        </p>
      )}
      {rows.length === 0 ? (
        <Empty>
          {filtered ? (
            <p>No deliveries match these filters.</p>
          ) : (
            <p>
              No deliveries yet. Conversations created with a callback_url (and clinics with one) get their messages
              here.
            </p>
          )}
        </Empty>
      ) : (
        <DeliveryTable rows={rows} />
      )}
      <Pager base="/console/deliveries" query={query} next={next} />
    </Layout>
  );
}

type Delivery = typeof deliveries.$inferSelect;
type Attempt = typeof deliveryAttempts.$inferSelect;
type Endpoint = typeof webhookEndpoints.$inferSelect;

export function DeliveryPage({
  ctx,
  d,
  endpoint,
  attempts,
  flash,
}: {
  ctx: PageContext;
  d: Delivery;
  endpoint: Endpoint;
  attempts: Attempt[];
  flash?: string;
}) {
  return (
    <Layout title="Delivery" section="deliveries" ctx={ctx} flash={flash}>
      <p class="crumbs">
        <a href="/console/deliveries">Deliveries</a> / {d.id}
      </p>
      <div class="title-row">
        <h1>
          {d.eventType} delivery <Badge status={d.status} />
        </h1>
        {d.status !== "pending" && <Action action={`/console/deliveries/${d.id}/retry`} label="Retry" ctx={ctx} />}
      </div>
      <KeyValues
        rows={[
          ["Endpoint", <a href={`/console/endpoints/${endpoint.id}`}>{endpoint.url}</a>],
          [
            "Endpoint state",
            endpoint.disabledAt ? <span class="error">disabled: {endpoint.disabledReason}</span> : "enabled",
          ],
          ["webhook-id", <span class="mono">{d.webhookId}</span>],
          ["Created", <Time at={d.createdAt} />],
          ["Completed", <Time at={d.completedAt} />],
          ["Next attempt", d.status === "pending" ? <Time at={d.nextAttemptAt} /> : null],
          ["Attempts", String(d.attempts)],
          ["Conversation", d.conversationId],
          ["Message", d.messageId],
          ["Clinic event", d.clinicEventId],
        ]}
      />
      <h2>Attempts</h2>
      {attempts.length === 0 ? (
        <p class="muted">No attempt yet.</p>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th>#</th>
              <th>Started (UTC)</th>
              <th>Duration</th>
              <th>Address</th>
              <th>Answer</th>
              <th>Error</th>
              <th>Response body</th>
            </tr>
          </thead>
          <tbody>
            {attempts.map((a) => (
              <tr>
                <td class="num">{a.attempt}</td>
                <td>
                  <Time at={a.startedAt} />
                </td>
                <td class="num">{a.durationMs} ms</td>
                <td class="mono">{a.address}</td>
                <td>
                  {a.statusCode ? (
                    <span class={a.statusCode < 300 ? "ok-text" : "error"}>HTTP {a.statusCode}</span>
                  ) : (
                    "—"
                  )}
                </td>
                <td class="error">{a.errorType ? `${a.errorType}: ${a.error ?? ""}` : (a.error ?? "")}</td>
                <td>
                  <pre class="wrap small">{a.responseBody ?? ""}</pre>
                </td>
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
