import type { getEmail, getSms, listEmails, listSms } from "../queries/people";
import { EMAIL_STATUSES, SMS_FILTER_STATUSES } from "../queries/people";
import {
  Badge,
  Empty,
  KeyValues,
  Layout,
  Masked,
  type PageContext,
  Pager,
  Select,
  Time,
  type Q,
  type Rows,
} from "../ui";

export function SmsListPage({
  ctx,
  query,
  rows,
  next,
}: {
  ctx: PageContext;
  query: Q;
  rows: Rows<typeof listSms>;
  next?: string;
}) {
  return (
    <Layout title="SMS" section="sms" ctx={ctx}>
      <h1>Outbound SMS</h1>
      <form method="get" action="/console/sms" class="filters">
        <Select
          name="status"
          label="Status"
          all="any"
          options={SMS_FILTER_STATUSES}
          value={query.status as string | undefined}
        />
        <label>
          To
          <input type="search" name="phone" value={query.phone as string | undefined} placeholder="+15551234567" />
        </label>
        <button type="submit" class="primary">
          Filter
        </button>
      </form>
      {rows.length === 0 ? (
        <Empty>
          <p>{query.status || query.phone ? "No SMS match." : "No SMS sent yet."}</p>
        </Empty>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th>Created (UTC)</th>
              <th>Kind</th>
              <th>To</th>
              <th>Status</th>
              <th>Error</th>
              <th>MessageSid</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => (
              <tr>
                <td>
                  <a href={`/console/sms/${s.id}`}>
                    <Time at={s.createdAt} />
                  </a>
                </td>
                <td>
                  <a href={`/console/sms/${s.id}`}>{s.kind}</a>
                  {s.channel !== "SMS" ? ` (${s.channel})` : ""}
                </td>
                <td>
                  <Masked text={s.to} />
                </td>
                <td>
                  <Badge status={s.status} />
                </td>
                <td class="error">
                  {s.errorCode ? `${s.errorCode} ` : ""}
                  <Masked text={s.errorMessage} />
                </td>
                <td class="mono small">{s.twilioSid ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager base="/console/sms" query={query} next={next} />
    </Layout>
  );
}

export function SmsPage({ ctx, d }: { ctx: PageContext; d: NonNullable<Awaited<ReturnType<typeof getSms>>> }) {
  const s = d.sms;
  return (
    <Layout title="SMS" section="sms" ctx={ctx}>
      <p class="crumbs">
        <a href="/console/sms">SMS</a> / {s.id}
      </p>
      <h1>
        {s.kind} SMS to {s.to} <Badge status={s.status} />
      </h1>
      <KeyValues
        rows={[
          ["Text", <pre class="wrap">{s.body}</pre>],
          [
            "Patient",
            d.patient ? `${d.patient.name} (${d.patient.phone}${d.patient.email ? `, ${d.patient.email}` : ""})` : null,
          ],
          ["From", `${s.from} (${d.clinic?.name ?? "?"})`],
          ["Channel", s.channel],
          [
            "Appointment",
            s.appointmentId ? <a href={`/console/appointments/${s.appointmentId}`}>{s.appointmentId}</a> : null,
          ],
          [
            "MessageSid",
            s.twilioSid ? (
              <a class="mono" href={`/console/events?key=${s.twilioSid}`}>
                {s.twilioSid}
              </a>
            ) : null,
          ],
          [
            "Error",
            s.errorCode || s.errorMessage ? (
              <span class="error">
                {s.errorCode} {s.errorMessage}
              </span>
            ) : null,
          ],
          ["Send attempts", String(s.attempts)],
          ["Sent", <Time at={s.sentAt} />],
          [
            "Email fallback",
            s.fallbackStatus ? (
              s.fallbackEmailId ? (
                <a href={`/console/emails/${s.fallbackEmailId}`}>{s.fallbackStatus}</a>
              ) : (
                s.fallbackStatus
              )
            ) : null,
          ],
          [
            "Send job",
            d.job
              ? `attempt ${d.job.attempts}, next at ${new Date(d.job.run_at).toISOString()}`
                + (d.job.last_error ? `: ${d.job.last_error.slice(0, 200)}` : "")
              : null,
          ],
        ]}
      />
      <h2>Status history</h2>
      {d.history.length === 0 ? (
        <p class="muted">No status callback yet.</p>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th>Received (UTC)</th>
              <th>Status</th>
              <th>Error code</th>
              <th>Callback</th>
            </tr>
          </thead>
          <tbody>
            {d.history.map((h) => (
              <tr>
                <td>
                  <Time at={h.receivedAt} />
                </td>
                <td>
                  <Badge status={h.status} />
                </td>
                <td class="error">{h.errorCode ?? ""}</td>
                <td>
                  {h.webhookEventId ? (
                    <a href={`/console/events/${h.webhookEventId}`}>webhook {h.webhookEventId}</a>
                  ) : (
                    "—"
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}

export function EmailsPage({
  ctx,
  query,
  rows,
  next,
}: {
  ctx: PageContext;
  query: Q;
  rows: Rows<typeof listEmails>;
  next?: string;
}) {
  return (
    <Layout title="Emails" section="emails" ctx={ctx}>
      <h1>Email outbox</h1>
      <form method="get" action="/console/emails" class="filters">
        <Select
          name="status"
          label="Status"
          all="any"
          options={EMAIL_STATUSES}
          value={query.status as string | undefined}
        />
        <label>
          To
          <input type="search" name="to" value={query.to as string | undefined} placeholder="ada@example.com" />
        </label>
        <button type="submit" class="primary">
          Filter
        </button>
      </form>
      {rows.length === 0 ? (
        <Empty>
          <p>{query.status || query.to ? "No emails match." : "No emails yet."}</p>
        </Empty>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th>Created (UTC)</th>
              <th>Kind</th>
              <th>To</th>
              <th>Subject</th>
              <th>Status</th>
              <th>Tries</th>
              <th>Error</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr>
                <td>
                  <a href={`/console/emails/${e.id}`}>
                    <Time at={e.createdAt} />
                  </a>
                </td>
                <td>{e.kind}</td>
                <td>
                  <Masked text={e.to} />
                </td>
                <td>
                  <a href={`/console/emails/${e.id}`}>
                    <Masked text={e.subject} />
                  </a>
                </td>
                <td>
                  <Badge status={e.status} />
                </td>
                <td class="num">{e.attempts}</td>
                <td class="error">
                  <Masked text={e.lastError} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager base="/console/emails" query={query} next={next} />
    </Layout>
  );
}

export function EmailPage({ ctx, d }: { ctx: PageContext; d: NonNullable<Awaited<ReturnType<typeof getEmail>>> }) {
  const e = d.email;
  return (
    <Layout title="Email" section="emails" ctx={ctx}>
      <p class="crumbs">
        <a href="/console/emails">Emails</a> / {e.id}
      </p>
      <h1>
        {e.subject} <Badge status={e.status} />
      </h1>
      <KeyValues
        rows={[
          ["To", e.to],
          ["Kind", e.kind],
          ["Dedupe key", <span class="mono">{e.dedupeKey}</span>],
          ["Created", <Time at={e.createdAt} />],
          ["Sent", <Time at={e.sentAt} />],
          ["Attempts", String(e.attempts)],
          ["Last error", e.lastError ? <span class="error">{e.lastError}</span> : null],
          ["Next attempt", d.job ? <Time at={d.job.run_at} /> : null],
        ]}
      />
      <h2>Body</h2>
      <pre class="wrap">{e.body || "(removed after the retention period)"}</pre>
    </Layout>
  );
}
