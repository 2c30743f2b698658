import type { auditLog } from "../../../db/schema";
import { APPOINTMENT_STATUSES } from "../../domain/appointments";
import { formatMoney } from "../../domain/money";
import type { getAppointment, getEmail, getSms, listAppointments, listEmails, listSms } from "../queries/people";
import { EMAIL_STATUSES, SMS_FILTER_STATUSES } from "../queries/people";
import { Badge, Empty, KeyValues, Layout, Masked, type PageContext, Pager, Select, Time } from "../ui";

type Rows<F extends (...a: any[]) => Promise<{ rows: unknown[] }>> = Awaited<ReturnType<F>>["rows"];
type Q = Record<string, unknown>;

export function AppointmentsPage({ ctx, query, rows, next }: { ctx: PageContext; query: Q; rows: Rows<typeof listAppointments>; next?: string }) {
  return (
    <Layout title="Appointments" section="appointments" ctx={ctx}>
      <h1>Appointments</h1>
      <form method="get" action="/console/appointments" class="filters">
        <label>Patient name or phone<input type="search" name="q" value={query.q as string | undefined} placeholder="Ada or +15551234567" /></label>
        <Select name="status" label="Status" all="any" options={APPOINTMENT_STATUSES} value={query.status as string | undefined} />
        <button type="submit" class="primary">Search</button>
      </form>
      {rows.length === 0 ? <Empty><p>{query.q || query.status ? "No appointments match." : "No appointments yet: they are created through the management API."}</p></Empty> : (
        <table class="list">
          <thead><tr><th>Starts (UTC)</th><th>Patient</th><th>Phone</th><th>Clinic</th><th>Status</th><th>Deposit</th><th>SMS</th></tr></thead>
          <tbody>
            {rows.map((a) => (
              <tr>
                <td><a href={`/console/appointments/${a.id}`}><Time at={a.startsAt} /></a></td>
                <td><a href={`/console/appointments/${a.id}`}>{a.patientName}</a></td>
                <td><Masked text={a.patientPhone} /></td>
                <td>{a.clinicName}</td>
                <td><Badge status={a.status} /></td>
                <td>{a.depositAmount === null ? "—" : `${formatMoney(a.depositAmount, a.currency)}${a.depositPaid ? " paid" : ""}`}</td>
                <td><Badge status={a.smsStatus} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager base="/console/appointments" query={query} next={next} />
    </Layout>
  );
}

const causeLink = (type: string, id: string | null) => {
  if (type === "webhook_event" && id) return <a href={`/console/events/${id}`}>webhook {id}</a>;
  if (type === "sms" && id) return <a href={`/console/events?key=${encodeURIComponent(id)}`}>SMS {id}</a>;
  return <span>{type}{id ? ` ${id}` : ""}</span>;
};

export function AppointmentPage({ ctx, d }: { ctx: PageContext; d: NonNullable<Awaited<ReturnType<typeof getAppointment>>> }) {
  const a = d.appointment;
  return (
    <Layout title={`Appointment of ${d.patient.name}`} section="appointments" ctx={ctx}>
      <p class="crumbs"><a href="/console/appointments">Appointments</a> / {a.id}</p>
      <h1>{d.patient.name}, <Time at={a.startsAt} /> UTC <Badge status={a.status} /></h1>
      <div class="cols">
        <KeyValues rows={[
          ["Patient", d.patient.name], ["Phone", <a href={`/console/events?phone=${encodeURIComponent(d.patient.phone)}`}>{d.patient.phone}</a>],
          ["Email", d.patient.email], ["Opted out of SMS", d.patient.optedOut ? <span class="error">yes, since {d.patient.optedOutAt?.toISOString()}</span> : "no"],
          ["Clinic", `${d.clinic.name} (${d.clinic.phone}, ${d.clinic.timezone})`],
        ]} />
        <KeyValues rows={[
          ["Deposit", a.depositAmount === null ? null : formatMoney(a.depositAmount, a.currency)],
          ["Paid", a.depositPaid ? <Time at={a.depositPaidAt} /> : "no"],
          ["Refunded", a.depositRefunded ? <Time at={a.refundedAt} /> : "no"],
          ["Hold expires", <Time at={a.holdExpiresAt} />],
          ["Latest SMS status", <Badge status={a.smsStatus} />],
        ]} />
      </div>
      <h2>Timeline</h2>
      <ol class="trail">
        <li><Time at={a.createdAt} /> <span class="kind">created</span> pending</li>
        {d.history.map((h) => (
          <li><Time at={h.at} /> <span class="kind">status</span> {h.fromStatus ?? "new"} → <Badge status={h.toStatus} /> by {causeLink(h.causeType, h.causeId)}</li>
        ))}
      </ol>
      <h2>SMS</h2>
      {d.sms.length === 0 ? <p class="muted">No SMS about this appointment.</p> : d.sms.map((s) => (
        <div class="box">
          <p><a href={`/console/sms/${s.id}`}>{s.kind} SMS</a> to {s.to}, <Time at={s.createdAt} /> <Badge status={s.status} />
            {s.errorCode && <span class="error"> error {s.errorCode}: {s.errorMessage}</span>}</p>
          <ul class="history">
            {d.statuses.filter((h) => h.twilioSid === s.twilioSid).map((h) => (
              <li><Time at={h.receivedAt} /> <Badge status={h.status} />{h.errorCode ? <span class="error"> error {h.errorCode}</span> : ""}
                {h.webhookEventId && <a class="small" href={`/console/events/${h.webhookEventId}`}> callback</a>}</li>
            ))}
          </ul>
        </div>
      ))}
      <h2>Emails to the patient</h2>
      {d.emails.length === 0 ? <p class="muted">None.</p> : (
        <ul>{d.emails.map((e) => <li><Time at={e.createdAt} /> <a href={`/console/emails/${e.id}`}>{e.subject}</a> <Badge status={e.status} /></li>)}</ul>
      )}
      <h2>Payments ledger</h2>
      {d.ledger.length === 0 ? <p class="muted">No payments recorded.</p> : (
        <table class="list">
          <thead><tr><th>When (UTC)</th><th>Kind</th><th>Amount</th><th>Stripe object</th><th>Webhook</th></tr></thead>
          <tbody>{d.ledger.map((t) => (
            <tr><td><Time at={t.createdAt} /></td><td>{t.kind}</td><td>{formatMoney(t.amount, t.currency)}</td><td class="mono">{t.stripeObjectId}</td>
              <td>{t.webhookEventId ? <a href={`/console/events/${t.webhookEventId}`}>{t.webhookEventId}</a> : "—"}</td></tr>
          ))}</tbody>
        </table>
      )}
    </Layout>
  );
}

export function SmsListPage({ ctx, query, rows, next }: { ctx: PageContext; query: Q; rows: Rows<typeof listSms>; next?: string }) {
  return (
    <Layout title="SMS" section="sms" ctx={ctx}>
      <h1>Outbound SMS</h1>
      <form method="get" action="/console/sms" class="filters">
        <Select name="status" label="Status" all="any" options={SMS_FILTER_STATUSES} value={query.status as string | undefined} />
        <label>To<input type="search" name="phone" value={query.phone as string | undefined} placeholder="+15551234567" /></label>
        <button type="submit" class="primary">Filter</button>
      </form>
      {rows.length === 0 ? <Empty><p>{query.status || query.phone ? "No SMS match." : "No SMS sent yet."}</p></Empty> : (
        <table class="list">
          <thead><tr><th>Created (UTC)</th><th>Kind</th><th>To</th><th>Status</th><th>Error</th><th>MessageSid</th></tr></thead>
          <tbody>{rows.map((s) => (
            <tr>
              <td><a href={`/console/sms/${s.id}`}><Time at={s.createdAt} /></a></td>
              <td><a href={`/console/sms/${s.id}`}>{s.kind}</a>{s.channel !== "SMS" ? ` (${s.channel})` : ""}</td>
              <td><Masked text={s.to} /></td><td><Badge status={s.status} /></td>
              <td class="error">{s.errorCode ? `${s.errorCode} ` : ""}<Masked text={s.errorMessage} /></td>
              <td class="mono small">{s.twilioSid ?? "—"}</td>
            </tr>
          ))}</tbody>
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
      <p class="crumbs"><a href="/console/sms">SMS</a> / {s.id}</p>
      <h1>{s.kind} SMS to {s.to} <Badge status={s.status} /></h1>
      <KeyValues rows={[
        ["Text", <pre class="wrap">{s.body}</pre>],
        ["Patient", d.patient ? `${d.patient.name} (${d.patient.phone}${d.patient.email ? `, ${d.patient.email}` : ""})` : null],
        ["From", `${s.from} (${d.clinic?.name ?? "?"})`], ["Channel", s.channel],
        ["Appointment", s.appointmentId ? <a href={`/console/appointments/${s.appointmentId}`}>{s.appointmentId}</a> : null],
        ["MessageSid", s.twilioSid ? <a class="mono" href={`/console/events?key=${s.twilioSid}`}>{s.twilioSid}</a> : null],
        ["Error", s.errorCode || s.errorMessage ? <span class="error">{s.errorCode} {s.errorMessage}</span> : null],
        ["Send attempts", String(s.attempts)], ["Sent", <Time at={s.sentAt} />],
        ["Email fallback", s.fallbackStatus ? (s.fallbackEmailId ? <a href={`/console/emails/${s.fallbackEmailId}`}>{s.fallbackStatus}</a> : s.fallbackStatus) : null],
        ["Send job", d.job ? `attempt ${d.job.attempts}, next at ${new Date(d.job.run_at).toISOString()}${d.job.last_error ? `: ${d.job.last_error.slice(0, 200)}` : ""}` : null],
      ]} />
      <h2>Status history</h2>
      {d.history.length === 0 ? <p class="muted">No status callback yet.</p> : (
        <table class="list">
          <thead><tr><th>Received (UTC)</th><th>Status</th><th>Error code</th><th>Callback</th></tr></thead>
          <tbody>{d.history.map((h) => (
            <tr><td><Time at={h.receivedAt} /></td><td><Badge status={h.status} /></td><td class="error">{h.errorCode ?? ""}</td>
              <td>{h.webhookEventId ? <a href={`/console/events/${h.webhookEventId}`}>webhook {h.webhookEventId}</a> : "—"}</td></tr>
          ))}</tbody>
        </table>
      )}
    </Layout>
  );
}

export function EmailsPage({ ctx, query, rows, next }: { ctx: PageContext; query: Q; rows: Rows<typeof listEmails>; next?: string }) {
  return (
    <Layout title="Emails" section="emails" ctx={ctx}>
      <h1>Email outbox</h1>
      <form method="get" action="/console/emails" class="filters">
        <Select name="status" label="Status" all="any" options={EMAIL_STATUSES} value={query.status as string | undefined} />
        <label>To<input type="search" name="to" value={query.to as string | undefined} placeholder="ada@example.com" /></label>
        <button type="submit" class="primary">Filter</button>
      </form>
      {rows.length === 0 ? <Empty><p>{query.status || query.to ? "No emails match." : "No emails yet."}</p></Empty> : (
        <table class="list">
          <thead><tr><th>Created (UTC)</th><th>Kind</th><th>To</th><th>Subject</th><th>Status</th><th>Tries</th><th>Error</th></tr></thead>
          <tbody>{rows.map((e) => (
            <tr>
              <td><a href={`/console/emails/${e.id}`}><Time at={e.createdAt} /></a></td><td>{e.kind}</td><td><Masked text={e.to} /></td>
              <td><a href={`/console/emails/${e.id}`}><Masked text={e.subject} /></a></td><td><Badge status={e.status} /></td>
              <td class="num">{e.attempts}</td><td class="error"><Masked text={e.lastError} /></td>
            </tr>
          ))}</tbody>
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
      <p class="crumbs"><a href="/console/emails">Emails</a> / {e.id}</p>
      <h1>{e.subject} <Badge status={e.status} /></h1>
      <KeyValues rows={[
        ["To", e.to], ["Kind", e.kind], ["Dedupe key", <span class="mono">{e.dedupeKey}</span>], ["Created", <Time at={e.createdAt} />],
        ["Sent", <Time at={e.sentAt} />], ["Attempts", String(e.attempts)],
        ["Last error", e.lastError ? <span class="error">{e.lastError}</span> : null],
        ["Next attempt", d.job ? <Time at={d.job.run_at} /> : null],
      ]} />
      <h2>Body</h2>
      <pre class="wrap">{e.body || "(removed after the retention period)"}</pre>
    </Layout>
  );
}

type Audit = typeof auditLog.$inferSelect;
const subjectLink = (a: Audit) => {
  const base = { webhook_event: "events", delivery: "deliveries", endpoint: "endpoints" }[a.subjectType];
  return base && a.subjectId ? <a href={`/console/${base}/${a.subjectId}`}>{a.subjectType} {a.subjectId}</a> : <span>{a.subjectType}</span>;
};

export function AuditPage({ ctx, query, rows, next }: { ctx: PageContext; query: Q; rows: (Audit & { cursor: string })[]; next?: string }) {
  return (
    <Layout title="Audit" section="audit" ctx={ctx}>
      <h1>Console actions</h1>
      {rows.length === 0 ? <Empty><p>Nothing done from the console yet.</p></Empty> : (
        <table class="list">
          <thead><tr><th>When (UTC)</th><th>Action</th><th>On</th><th>From</th><th>Detail</th></tr></thead>
          <tbody>{rows.map((a) => (
            <tr><td><Time at={a.at} /></td><td>{a.action}</td><td>{subjectLink(a)}</td><td class="mono">{a.actor ?? "—"}</td>
              <td class="mono small wrap">{Object.keys(a.detail).length ? JSON.stringify(a.detail) : ""}</td></tr>
          ))}</tbody>
        </table>
      )}
      <Pager base="/console/audit" query={query} next={next} />
    </Layout>
  );
}
