// What `simulate` sends: each provider's request built and signed as that provider does, after the input is checked
// against the target (an unknown appointment, number or sid is a one-line error before anything is sent).
import { STRIPE_PATH, TWILIO_SMS_PATH, TWILIO_STATUS_PATH } from "../domain/webhooks";
import { type Api, apiClient, fail, q, type Target } from "./cli";
import { DEMO_CLINIC } from "./demo";
import type { Scope } from "./follow";
import { charge, closest, signStripe, stripeEvent, stripeEventTypes } from "./stripe-events";
import { e164, inboundSmsParams, signTwilio, statusCallbackParams } from "./twilio-requests";

export interface Prepared {
  path: string;
  body: string;
  headers: Record<string, string>;
  scope: Scope;
  describe: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const TWILIO_STATUSES = [
  "accepted", "scheduled", "queued", "sending", "sent", "delivered", "undelivered", "failed", "read", "canceled",
];
const SEED_HINT = "`npm run seed` prints the demo ones";
const MADE = "(`npm run dev` prints the one it made)";
const form = (params: Record<string, string>) => new URLSearchParams(params).toString();

interface Appointment { id: string; patient_id: string; deposit_amount: number | null; currency: string }
interface Patient { id: string; clinic_id: string }

const stripeSecret = (t: Target) => t.stripeSecret
  ?? fail(`no Stripe signing secret for ${t.url}: set STRIPE_WEBHOOK_SECRET to the service's ${MADE}`);
const twilioToken = (t: Target) => t.twilioAuthToken
  ?? fail(`no Twilio auth token for ${t.url}: set TWILIO_AUTH_TOKEN to the service's ${MADE}`);

async function appointmentById(api: Api, target: Target, id: string): Promise<Appointment> {
  if (!UUID.test(id)) fail(`--appointment ${id} is not an appointment id (a UUID): ${SEED_HINT}`);
  const res = await api.call<Appointment>("GET", `/v1/appointments/${id}`);
  if (res.status === 404) fail(`no appointment ${id} at ${target.url}: ${SEED_HINT}, GET /v1/appointments lists all`);
  return res.body;
}

/** The appointments of every patient with this number (a person may be a patient of several clinics). */
async function appointmentsOf(api: Api, phone: string): Promise<{ patients: Patient[]; appointmentIds: string[] }> {
  const patients = (await api.get<{ data: Patient[] }>(`/v1/patients?${q({ phone, limit: 200 })}`)).data;
  const appointmentIds: string[] = [];
  for (const p of patients) {
    const query = q({ patient_id: p.id, limit: 200 });
    const { data } = await api.get<{ data: { id: string }[] }>(`/v1/appointments?${query}`);
    appointmentIds.push(...data.map((a) => a.id));
  }
  return { patients, appointmentIds };
}

export interface StripeFlags { appointment?: string; amount?: number; currency?: string; eventId?: string }

export async function prepareStripe(target: Target, type: string, flags: StripeFlags): Promise<Prepared> {
  const known = stripeEventTypes();
  if (known.length > 0 ? !known.includes(type) : !/^[a-z_]+(\.[a-z0-9_]+)+$/.test(type)) {
    const hint = closest(type, known);
    fail(`unknown Stripe event type "${type}"${hint ? `; did you mean ${hint}?` : ""} `
      + "(any type the stripe SDK knows is sent, e.g. payment_intent.succeeded)");
  }
  const api = apiClient(target);
  const appointment = flags.appointment ? await appointmentById(api, target, flags.appointment) : undefined;
  if (!appointment && /^(payment_intent|charge)\./.test(type)) fail(`${type} needs --appointment: ${SEED_HINT}`);
  if (flags.currency && !/^[a-z]{3}$/i.test(flags.currency)) fail(`--currency ${flags.currency} is not one, e.g. usd`);
  const amount = flags.amount ?? appointment?.deposit_amount ?? 6000;
  const currency = (flags.currency ?? appointment?.currency ?? "usd").toLowerCase();
  const deposit = { appointmentId: appointment?.id ?? "", amount, currency };
  // The deposit's charge with --amount refunded in all so far (Stripe's amount_refunded is a running total).
  const charged = { ...deposit, amount: Math.max(amount, appointment?.deposit_amount ?? 0) };
  const object = type === "charge.refunded" ? charge(charged, { refunded: amount }) : undefined;
  const event = stripeEvent(type, deposit, { id: flags.eventId, object });
  // Stripe posts its events pretty-printed, and signs exactly those bytes.
  const body = JSON.stringify(event, null, 2);
  const ids = appointment ? [appointment.id] : [];
  return {
    path: STRIPE_PATH, body, headers: await signStripe(body, stripeSecret(target)), describe: `${type} ${event.id}`,
    scope: { provider: "stripe", key: event.id, appointmentIds: ids, sms: { appointmentIds: ids } },
  };
}

export interface SmsFlags { from: string; to?: string; body?: string; media?: string[]; whatsapp?: boolean }

export async function prepareSms(target: Target, flags: SmsFlags): Promise<Prepared> {
  const from = e164(flags.from)
    ?? fail(`--from "${flags.from}" is not a phone number: write it in E.164, e.g. +15550101111`);
  const to = flags.to === undefined ? undefined : e164(flags.to) ?? (/^\d{3,8}$/.test(flags.to) ? flags.to
    : fail(`--to "${flags.to}" is not a phone number: write it in E.164, e.g. ${DEMO_CLINIC.phone}`));
  for (const url of flags.media ?? []) {
    if (!/^https?:\/\/\S+$/.test(url)) fail(`--media ${url} is not a URL (Twilio sends https://api.twilio.com/… ones)`);
  }
  if (flags.body === undefined && !flags.media?.length) fail("--body is needed: what the patient texts, e.g. CONFIRM");
  const api = apiClient(target);
  const { patients, appointmentIds } = await appointmentsOf(api, from);
  const params = inboundSmsParams({
    from, to: to ?? await clinicNumber(api, patients), body: flags.body ?? "", media: flags.media,
    whatsapp: flags.whatsapp, accountSid: target.twilioAccountSid,
  });
  return {
    path: TWILIO_SMS_PATH, body: form(params),
    describe: `"${params.Body}" from ${params.From} to ${params.To} ${params.MessageSid}`,
    headers: signTwilio(target.publicUrl + TWILIO_SMS_PATH, params, twilioToken(target)),
    scope: { provider: "twilio-sms", key: params.MessageSid!, appointmentIds, sms: { to: from } },
  };
}

/** The number the patient texts: their clinic's, else the demo clinic's, else the only clinic's. */
async function clinicNumber(api: Api, patients: Patient[]): Promise<string> {
  const clinics = (await api.get<{ data: { id: string; phone: string }[] }>(`/v1/clinics?${q({ limit: 200 })}`)).data;
  const clinic = clinics.find((c) => c.id === patients[0]?.clinic_id)
    ?? clinics.find((c) => c.phone === DEMO_CLINIC.phone) ?? (clinics.length === 1 ? clinics[0] : undefined);
  return clinic?.phone ?? fail("no clinic number to text: pass --to <the clinic's Twilio number>, or `npm run seed`");
}

export interface StatusFlags { sid: string; errorCode?: string }
interface SentSms { to: string; from: string; channel: string; appointment_id: string | null }

export async function prepareStatus(target: Target, status: string, flags: StatusFlags): Promise<Prepared> {
  if (!TWILIO_STATUSES.includes(status)) fail(`unknown SMS status "${status}": one of ${TWILIO_STATUSES.join(", ")}`);
  if (!/^(SM|MM)[0-9a-f]{32}$/i.test(flags.sid)) fail(`--sid ${flags.sid} is not a message sid (SM and 32 hex digits)`);
  if (flags.errorCode !== undefined && !/^\d{5}$/.test(flags.errorCode)) {
    fail(`--error-code ${flags.errorCode} is not a Twilio error code, e.g. 30003`);
  }
  const [sms] = (await apiClient(target).get<{ data: SentSms[] }>(`/v1/sms?${q({ sid: flags.sid })}`)).data;
  if (!sms) fail(`no SMS with sid ${flags.sid} at ${target.url}: simulate prints the sids it caused, GET /v1/sms all`);
  const address = (n: string) => (sms!.channel === "WHATSAPP" ? `whatsapp:${n}` : n);
  // Twilio always names the error of a failed message: 30003 unreachable handset, 30008 unknown error.
  const errorCode = flags.errorCode ?? (status === "undelivered" ? "30003" : status === "failed" ? "30008" : undefined);
  const params = statusCallbackParams({
    sid: flags.sid, status, to: address(sms!.to), from: address(sms!.from), accountSid: target.twilioAccountSid,
    errorCode,
  });
  const ids = sms!.appointment_id ? [sms!.appointment_id] : [];
  return {
    path: TWILIO_STATUS_PATH, body: form(params),
    describe: `${status}${errorCode ? ` (${errorCode})` : ""} for ${flags.sid}`,
    headers: signTwilio(target.publicUrl + TWILIO_STATUS_PATH, params, twilioToken(target)),
    scope: { provider: "twilio-status", key: `${flags.sid}:${status}`, appointmentIds: ids, sms: { sid: flags.sid } },
  };
}

interface RawEvent {
  id: number; provider: Scope["provider"]; idempotency_key: string; path: string; raw_body: string;
  params: Record<string, string | string[]> | null;
}

export interface ReplayFlags { event: string; from: string; fromApiKey?: string }

async function fetchRaw(flags: ReplayFlags): Promise<{ raw: RawEvent; from: string }> {
  if (!/^\d+$/.test(flags.event)) fail(`--event ${flags.event} is not a webhook event id (see GET /v1/webhook-events)`);
  let source: URL;
  try {
    source = new URL(flags.from);
  } catch {
    return fail(`--from ${flags.from} is not a URL: give the other Switchboard's, e.g. https://sb.example.com`);
  }
  // The key may ride in the URL (https://:KEY@host), so one copied string names both.
  const apiKey = flags.fromApiKey ?? (decodeURIComponent(source.password || source.username) || undefined);
  source.username = source.password = "";
  const from = source.origin;
  if (!apiKey) fail(`no API key for ${from}: pass --from-api-key (or put it in the URL, https://:KEY@host)`);
  const sourceApi = apiClient({ url: from, apiKey }, "--from-api-key");
  const res = await sourceApi.call<RawEvent>("GET", `/v1/webhook-events/${flags.event}/raw`);
  if (res.status === 404) fail(`no webhook event ${flags.event} at ${from}: list them with GET /v1/webhook-events`);
  if (res.status !== 200) throw new Error(`${from} answered ${res.status} for event ${flags.event}`);
  return { raw: res.body, from };
}

/** A webhook stored by another Switchboard, its body byte for byte, re-signed with this target's secrets. */
export async function prepareReplay(target: Target, flags: ReplayFlags): Promise<Prepared> {
  const { raw, from } = await fetchRaw(flags);
  const api = apiClient(target);
  const describe = `${raw.provider} event #${raw.id} from ${from} (${raw.idempotency_key})`;
  const key = raw.idempotency_key;
  if (raw.provider === "stripe") {
    const event = JSON.parse(raw.raw_body) as { data?: { object?: { metadata?: Record<string, string> } } };
    const bookingId = event.data?.object?.metadata?.booking_id ?? "";
    const known = UUID.test(bookingId) && (await api.call("GET", `/v1/appointments/${bookingId}`)).status === 200;
    const ids = known ? [bookingId] : [];
    return {
      path: raw.path, body: raw.raw_body, headers: await signStripe(raw.raw_body, stripeSecret(target)), describe,
      scope: { provider: "stripe", key, appointmentIds: ids, sms: { appointmentIds: ids } },
    };
  }
  const params = raw.params ?? {};
  const first = (name: string) => [params[name]].flat()[0] ?? "";
  const phone = e164(first("From"));
  const appointmentIds = raw.provider === "twilio-sms" && phone
    ? (await appointmentsOf(api, phone)).appointmentIds : [];
  const scope: Scope = raw.provider === "twilio-status"
    ? { provider: raw.provider, key, appointmentIds, sms: { sid: first("MessageSid") } }
    : { provider: raw.provider, key, appointmentIds, sms: { to: phone } };
  const headers = signTwilio(target.publicUrl + raw.path, params, twilioToken(target));
  return { path: raw.path, body: raw.raw_body, headers, describe, scope };
}
