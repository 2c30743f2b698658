import { type getEndpoint, type listEndpoints } from "../queries/outbound";
import { Action, Badge, Empty, KeyValues, Layout, type PageContext, Pager, Select, Time } from "../ui";
import { DeliveryTable, type DeliveryRow } from "./deliveries";

type EndpointRow = Awaited<ReturnType<typeof listEndpoints>>["rows"][number];
const state = (e: { disabledAt: Date | null; failingSince: Date | null }) =>
  e.disabledAt ? "disabled" : e.failingSince ? "failing" : "enabled";

export function EndpointsPage({
  ctx,
  query,
  rows,
  next,
}: {
  ctx: PageContext;
  query: Record<string, unknown>;
  rows: EndpointRow[];
  next?: string;
}) {
  return (
    <Layout title="Endpoints" section="endpoints" ctx={ctx}>
      <h1>Webhook endpoints</h1>
      <form method="get" action="/console/endpoints" class="filters">
        <Select
          name="state"
          label="State"
          all="all"
          options={["disabled", "failing"]}
          value={query.state as string | undefined}
        />
        <button type="submit" class="primary">
          Filter
        </button>
      </form>
      {rows.length === 0 ? (
        <Empty>
          <p>No endpoints yet: one is made for each conversation with a callback_url and each clinic with one.</p>
        </Empty>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th>URL</th>
              <th>For</th>
              <th>State</th>
              <th>Failing since</th>
              <th>Created (UTC)</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr>
                <td class="wrap">
                  <a href={`/console/endpoints/${e.id}`}>{e.url}</a>
                </td>
                <td>
                  {e.clinicName ? `clinic ${e.clinicName}` : `conversation ${e.conversationId?.slice(0, 8) ?? "?"}`}
                </td>
                <td>
                  <Badge status={state(e)} />
                </td>
                <td>
                  <Time at={e.failingSince} />
                </td>
                <td>
                  <Time at={e.createdAt} />
                </td>
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

export function EndpointPage({
  ctx,
  detail,
  recent,
  secret,
  flash,
}: {
  ctx: PageContext;
  detail: EndpointDetail;
  recent: DeliveryRow[];
  secret?: string;
  flash?: string;
}) {
  const e = detail.endpoint;
  return (
    <Layout title="Endpoint" section="endpoints" ctx={ctx} flash={flash}>
      <p class="crumbs">
        <a href="/console/endpoints">Endpoints</a> / {e.id}
      </p>
      <h1 class="wrap">
        {e.url} <Badge status={state(e)} />
      </h1>
      {secret && (
        <div class="secret" role="alert">
          <p>
            <b>New signing secret</b>, shown this once. Give it to the receiver now; the old secret keeps signing (a
            second signature) until <Time at={e.previousSecretExpiresAt} /> UTC.
          </p>
          <p>
            <code class="select-all">{secret}</code>
          </p>
        </div>
      )}
      <KeyValues
        rows={[
          ["For", e.clinicName ? `clinic ${e.clinicName}` : `conversation ${e.conversationId ?? "?"}`],
          [
            "Disabled",
            e.disabledAt ? (
              <span class="error">
                <Time at={e.disabledAt} /> ({e.disabledReason})
              </span>
            ) : null,
          ],
          ["Failing since", <Time at={e.failingSince} />],
          ["Previous secret valid until", <Time at={e.previousSecretExpiresAt} />],
          [
            "Deliveries",
            `${detail.counts.succeeded ?? 0} succeeded, ${detail.counts.failed ?? 0} failed, `
              + `${detail.counts.pending ?? 0} pending`,
          ],
        ]}
      />
      <div class="actions">
        {e.disabledAt ? (
          <Action action={`/console/endpoints/${e.id}/enable`} label="Enable" ctx={ctx} />
        ) : (
          <Action action={`/console/endpoints/${e.id}/disable`} label="Disable" ctx={ctx} danger />
        )}
        <Action action={`/console/endpoints/${e.id}/rotate-secret`} label="Rotate secret" ctx={ctx} danger />
      </div>
      <h2>Send failed deliveries again</h2>
      <Action action={`/console/endpoints/${e.id}/replay`} label="Replay failed deliveries" ctx={ctx}>
        <label>
          From (UTC)
          <input type="datetime-local" name="since" required />
        </label>
        <label>
          To (UTC, empty: now)
          <input type="datetime-local" name="until" />
        </label>
      </Action>
      <h2>
        Latest deliveries{" "}
        <a class="small" href={`/console/deliveries?endpoint=${e.id}`}>
          all »
        </a>
      </h2>
      {recent.length === 0 ? <p class="muted">None yet.</p> : <DeliveryTable rows={recent} />}
    </Layout>
  );
}
