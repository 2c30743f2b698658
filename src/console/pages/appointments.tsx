import { APPOINTMENT_STATUSES } from "../../domain/appointments";
import { formatMoney } from "../../domain/money";
import type { getAppointment, listAppointments } from "../queries/people";
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

export function AppointmentsPage({
  ctx,
  query,
  rows,
  next,
}: {
  ctx: PageContext;
  query: Q;
  rows: Rows<typeof listAppointments>;
  next?: string;
}) {
  return (
    <Layout title="Appointments" section="appointments" ctx={ctx}>
      <h1>Appointments</h1>
      <form method="get" action="/console/appointments" class="filters">
        <label>
          Patient name or phone
          <input type="search" name="q" value={query.q as string | undefined} placeholder="Ada or +15551234567" />
        </label>
        <Select
          name="status"
          label="Status"
          all="any"
          options={APPOINTMENT_STATUSES}
          value={query.status as string | undefined}
        />
        <button type="submit" class="primary">
          Search
        </button>
      </form>
      {rows.length === 0 ? (
        <Empty>
          <p>
            {query.q || query.status
              ? "No appointments match."
              : "No appointments yet: they are created through the management API."}
          </p>
        </Empty>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th>Starts (UTC)</th>
              <th>Patient</th>
              <th>Phone</th>
              <th>Clinic</th>
              <th>Status</th>
              <th>Deposit</th>
              <th>SMS</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((a) => (
              <tr>
                <td>
                  <a href={`/console/appointments/${a.id}`}>
                    <Time at={a.startsAt} />
                  </a>
                </td>
                <td>
                  <a href={`/console/appointments/${a.id}`}>{a.patientName}</a>
                </td>
                <td>
                  <Masked text={a.patientPhone} />
                </td>
                <td>{a.clinicName}</td>
                <td>
                  <Badge status={a.status} />
                </td>
                <td>
                  {a.depositAmount === null
                    ? "—"
                    : `${formatMoney(a.depositAmount, a.currency)}${a.depositPaid ? " paid" : ""}`}
                </td>
                <td>
                  <Badge status={a.smsStatus} />
                </td>
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
  return (
    <span>
      {type}
      {id ? ` ${id}` : ""}
    </span>
  );
};

export function AppointmentPage({
  ctx,
  d,
}: {
  ctx: PageContext;
  d: NonNullable<Awaited<ReturnType<typeof getAppointment>>>;
}) {
  const a = d.appointment;
  return (
    <Layout title={`Appointment of ${d.patient.name}`} section="appointments" ctx={ctx}>
      <p class="crumbs">
        <a href="/console/appointments">Appointments</a> / {a.id}
      </p>
      <h1>
        {d.patient.name}, <Time at={a.startsAt} /> UTC <Badge status={a.status} />
      </h1>
      <div class="cols">
        <KeyValues
          rows={[
            ["Patient", d.patient.name],
            ["Phone", <a href={`/console/events?phone=${encodeURIComponent(d.patient.phone)}`}>{d.patient.phone}</a>],
            ["Email", d.patient.email],
            [
              "Opted out of SMS",
              d.patient.optedOut ? <span class="error">yes, since {d.patient.optedOutAt?.toISOString()}</span> : "no",
            ],
            ["Clinic", `${d.clinic.name} (${d.clinic.phone}, ${d.clinic.timezone})`],
          ]}
        />
        <KeyValues
          rows={[
            ["Deposit", a.depositAmount === null ? null : formatMoney(a.depositAmount, a.currency)],
            ["Paid", a.depositPaid ? <Time at={a.depositPaidAt} /> : "no"],
            ["Refunded", a.depositRefunded ? <Time at={a.refundedAt} /> : "no"],
            ["Hold expires", <Time at={a.holdExpiresAt} />],
            ["Latest SMS status", <Badge status={a.smsStatus} />],
          ]}
        />
      </div>
      <h2>Timeline</h2>
      <ol class="trail">
        <li>
          <Time at={a.createdAt} /> <span class="kind">created</span> pending
        </li>
        {d.history.map((h) => (
          <li>
            <Time at={h.at} /> <span class="kind">status</span> {h.fromStatus ?? "new"} →{" "}
            <Badge status={h.toStatus} /> by {causeLink(h.causeType, h.causeId)}
          </li>
        ))}
      </ol>
      <h2>SMS</h2>
      {d.sms.length === 0 ? (
        <p class="muted">No SMS about this appointment.</p>
      ) : (
        d.sms.map((s) => (
          <div class="box">
            <p>
              <a href={`/console/sms/${s.id}`}>{s.kind} SMS</a> to {s.to}, <Time at={s.createdAt} />{" "}
              <Badge status={s.status} />
              {s.errorCode && (
                <span class="error">
                  {" "}
                  error {s.errorCode}: {s.errorMessage}
                </span>
              )}
            </p>
            <ul class="history">
              {d.statuses
                .filter((h) => h.twilioSid === s.twilioSid)
                .map((h) => (
                  <li>
                    <Time at={h.receivedAt} /> <Badge status={h.status} />
                    {h.errorCode ? <span class="error"> error {h.errorCode}</span> : ""}
                    {h.webhookEventId && (
                      <a class="small" href={`/console/events/${h.webhookEventId}`}>
                        {" "}
                        callback
                      </a>
                    )}
                  </li>
                ))}
            </ul>
          </div>
        ))
      )}
      <h2>Emails to the patient</h2>
      {d.emails.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <ul>
          {d.emails.map((e) => (
            <li>
              <Time at={e.createdAt} /> <a href={`/console/emails/${e.id}`}>{e.subject}</a> <Badge status={e.status} />
            </li>
          ))}
        </ul>
      )}
      <h2>Payments ledger</h2>
      {d.ledger.length === 0 ? (
        <p class="muted">No payments recorded.</p>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th>When (UTC)</th>
              <th>Kind</th>
              <th>Amount</th>
              <th>Stripe object</th>
              <th>Webhook</th>
            </tr>
          </thead>
          <tbody>
            {d.ledger.map((t) => (
              <tr>
                <td>
                  <Time at={t.createdAt} />
                </td>
                <td>{t.kind}</td>
                <td>{formatMoney(t.amount, t.currency)}</td>
                <td class="mono">{t.stripeObjectId}</td>
                <td>
                  {t.webhookEventId ? <a href={`/console/events/${t.webhookEventId}`}>{t.webhookEventId}</a> : "—"}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}
