// The benchmark's realistic workloads (bench/README.md): the rows a cell's database is seeded with and the
// requests that act on them, both derived from the request's index, so that the pre-signing process and the
// seeding SQL agree without sharing anything but the count.
//   stripe: request i is `payment_intent.succeeded` for appointment i (pending or payment_pending, deposit unpaid).
//   twilio-status: the `sent` and then the `delivered` callback of each SMS (queued on Twilio), `gap` requests apart:
//   in blocks of 2 × gap requests, first `sent` for gap SMS, then `delivered` for the same ones, as Twilio reports a
//   delivery a moment after the carrier took the message.
import { createHash } from "node:crypto";
import type postgres from "postgres";

export type Provider = "stripe" | "twilio-status";
export const PATHS: Record<Provider, string> = {
  stripe: "/api/v1/webhooks/stripe/payment-events",
  "twilio-status": "/api/v1/webhooks/twilio/sms-status",
};
export const CLINICS = 50;
export const DEPOSIT = 5000;
const ACCOUNT_SID = `AC${"0".repeat(32)}`;

const md5 = (s: string) => createHash("md5").update(s).digest("hex");
/** Postgres prints `md5(text)::uuid` the same way. */
const asUuid = (hex: string) =>
  `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
export const appointmentId = (i: number) => asUuid(md5(`bench-appointment:${i}`));
export const smsSid = (k: number) => `SM${md5(`bench-sms:${k}`)}`;
export const patientPhone = (i: number) => `+1555${String(i).padStart(7, "0")}`;
export const clinicPhone = (c: number) => `+1444${String(c).padStart(7, "0")}`;

/** The gap (in requests) that puts an SMS's `delivered` about one second after its `sent` at `rate` per second. */
export const gapAt = (rate: number) => Math.max(1, Math.round(rate));

/** Appointments (and for twilio-status, SMS) a workload of `requests` acts on. */
export function seededRows(provider: Provider, requests: number, gap: number): number {
  if (provider === "stripe") return requests;
  const blocks = Math.floor(requests / (2 * gap));
  return blocks * gap + Math.min(gap, requests - blocks * 2 * gap);
}

export const stripeEvent = (i: number, created: number) => JSON.stringify({
  id: `evt_bench_${i}`, object: "event", api_version: "2024-06-20", created, livemode: false,
  pending_webhooks: 1, request: { id: null, idempotency_key: null }, type: "payment_intent.succeeded",
  data: { object: {
    id: `pi_bench_${i}`, object: "payment_intent", amount: DEPOSIT, amount_received: DEPOSIT, currency: "usd",
    status: "succeeded", created, livemode: false, metadata: { booking_id: appointmentId(i) },
  } },
});

/** Twilio's status callback form for request `j`, as Twilio posts it, and its idempotency key. */
export function statusCallback(j: number, gap: number): { key: string; params: Record<string, string> } {
  const block = Math.floor(j / (2 * gap));
  const r = j - block * 2 * gap;
  const k = block * gap + (r < gap ? r : r - gap);
  const status = r < gap ? "sent" : "delivered";
  const sid = smsSid(k);
  return {
    key: `${sid}:${status}`,
    params: {
      MessageSid: sid, SmsSid: sid, MessageStatus: status, SmsStatus: status, AccountSid: ACCOUNT_SID,
      From: clinicPhone(k % CLINICS), To: patientPhone(k), ApiVersion: "2010-04-01",
    },
  };
}

/**
 * Seeds `rows` appointments (one patient each, over CLINICS clinics) starting a week from now, so that no reminder
 * or hold sweep touches them. stripe: every other one `payment_pending` (hold 2 h ahead, no expire-hold job), the
 * rest `pending`, deposit unpaid. twilio-status: confirmed and paid, each with its confirmation SMS sent and `queued`.
 */
export async function seed(db: postgres.Sql, provider: Provider, rows: number): Promise<void> {
  await db.begin(async (sql) => {
    // Foreign keys hold by construction here; their per-row triggers would double the time (superuser only).
    await sql.savepoint((sp) => sp`set local session_replication_role = replica`).catch(() => {});
    await insertRows(sql, provider, rows);
  });
  await db`vacuum analyze`;
  await db`checkpoint`.catch(() => {});
}

async function insertRows(sql: postgres.TransactionSql, provider: Provider, rows: number) {
  await sql`insert into clinics (id, name, phone, timezone)
    select md5('bench-clinic:' || c)::uuid, 'Clinic ' || c, '+1444' || lpad(c::text, 7, '0'), 'America/New_York'
    from generate_series(0, ${CLINICS - 1}) c`;
  await sql`insert into patients (id, clinic_id, name, phone)
    select md5('bench-patient:' || i)::uuid, md5('bench-clinic:' || (i % ${CLINICS}))::uuid, 'Patient ' || i,
      '+1555' || lpad(i::text, 7, '0')
    from generate_series(0, ${rows - 1}) i`;
  const stripe = provider === "stripe";
  await sql`insert into appointments (id, clinic_id, patient_id, starts_at, status, deposit_amount, deposit_paid,
      deposit_paid_at, hold_expires_at, sms_status)
    select md5('bench-appointment:' || i)::uuid, md5('bench-clinic:' || (i % ${CLINICS}))::uuid,
      md5('bench-patient:' || i)::uuid, now() + interval '7 days' + i * interval '1 minute',
      case when not ${stripe} then 'confirmed' when i % 2 = 1 then 'payment_pending' else 'pending' end,
      ${DEPOSIT}, not ${stripe}, case when not ${stripe} then now() - interval '1 hour' end,
      case when ${stripe} and i % 2 = 1 then now() + interval '2 hours' end,
      case when not ${stripe} then 'queued' end
    from generate_series(0, ${rows - 1}) i`;
  if (!stripe) {
    await sql`insert into sms_messages (id, dedupe_key, kind, clinic_id, patient_id, appointment_id, "to", "from",
        body, status, twilio_sid, attempts, created_at, sent_at, updated_at)
      select md5('bench-sms-row:' || i)::uuid, 'deposit-confirmation:pi_seed_' || i, 'confirmation',
        md5('bench-clinic:' || (i % ${CLINICS}))::uuid, md5('bench-patient:' || i)::uuid,
        md5('bench-appointment:' || i)::uuid, '+1555' || lpad(i::text, 7, '0'),
        '+1444' || lpad((i % ${CLINICS})::text, 7, '0'), 'Your appointment is confirmed.', 'queued',
        'SM' || md5('bench-sms:' || i), 1, now() - interval '1 minute', now() - interval '1 minute',
        now() - interval '1 minute'
      from generate_series(0, ${rows - 1}) i`;
  }
}
