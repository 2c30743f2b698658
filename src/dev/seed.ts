// `npm run seed`: a demo clinic, three patients and their upcoming appointments, through the management API (so it
// works against a staging deployment too). Everything is looked up before it is created: a second run adds nothing.
import { createHash } from "node:crypto";
import { TWILIO_SMS_PATH } from "../domain/webhooks";
import {
  type Api, apiClient, ensureRunning, fail, program, q, resolveTarget, runProgram, send, type Target, targetOptions,
  type TargetFlags,
} from "./cli";
import { DEMO_CLINIC, DEMO_PATIENTS as PATIENTS } from "./demo";
import { RECEIVER_PREFIX } from "./stand-ins";
import { inboundSmsParams, signTwilio } from "./twilio-requests";

const DEPOSIT = { deposit_amount: 6000, currency: "usd" };
const ACTIVE = new Set(["pending", "confirmed", "payment_pending", "cancellation_requested", "reschedule_requested"]);

interface Clinic { id: string; name: string; phone: string; callback_url: string | null }
interface Patient { id: string; name: string; phone: string; email: string | null; opted_out: boolean }
interface Appointment { id: string; starts_at: string; status: string; deposit_amount: number | null; currency: string }

async function created<T>(api: Api, path: string, body: unknown): Promise<T> {
  const res = await api.call<T>("POST", path, body);
  if (res.status !== 201) {
    throw new Error(`POST ${path} answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
  }
  return res.body;
}

async function clinic(api: Api, callbackUrl: string | undefined, warn: (s: string) => void) {
  const { data } = await api.get<{ data: Clinic[] }>(`/v1/clinics?${q({ limit: 200 })}`);
  const found = data.find((c) => c.phone === DEMO_CLINIC.phone);
  if (found) {
    if (callbackUrl && found.callback_url !== callbackUrl) {
      warn(`the demo clinic keeps its callback URL ${found.callback_url ?? "(none)"}; `
        + "clinics cannot be changed through the API");
    }
    return { ...found, created: false };
  }
  const body = { ...DEMO_CLINIC, ...(callbackUrl ? { callback_url: callbackUrl } : {}) };
  return { ...await created<Clinic>(api, "/v1/clinics", body), created: true };
}

async function patient(api: Api, clinicId: string, p: (typeof PATIENTS)[number]) {
  const { data } = await api.get<{ data: Patient[] }>(`/v1/patients?${q({ clinic_id: clinicId, phone: p.phone })}`);
  if (data[0]) return { ...data[0], created: false };
  const body = { clinic_id: clinicId, name: p.name, phone: p.phone, ...("email" in p ? { email: p.email } : {}) };
  return { ...await created<Patient>(api, "/v1/patients", body), created: true };
}

/** An opt-out as it really happens: the patient texts STOP (one fixed MessageSid, so a second run is a duplicate). */
async function optOut(target: Target, clinicPhone: string, p: Patient): Promise<boolean> {
  if (!target.twilioAuthToken) return false;
  const sid = `SM${createHash("sha256").update(`seed-stop:${p.id}`).digest("hex").slice(0, 32)}`;
  const params = inboundSmsParams({
    from: p.phone, to: clinicPhone, body: "STOP", accountSid: target.twilioAccountSid, sid,
  });
  const path = TWILIO_SMS_PATH;
  const res = await send(`${target.url}${path}`, {
    method: "POST", headers: signTwilio(target.publicUrl + path, params, target.twilioAuthToken),
    body: new URLSearchParams(params).toString(),
  });
  if (res.status === 403) {
    fail(`${target.url} refused the STOP's signature: set TWILIO_AUTH_TOKEN and PUBLIC_URL to the service's`);
  }
  return res.ok;
}

async function appointment(api: Api, patientId: string, index: number) {
  const query = q({ patient_id: patientId, limit: 200 });
  const { data } = await api.get<{ data: Appointment[] }>(`/v1/appointments?${query}`);
  const upcoming = data.filter((a) => ACTIVE.has(a.status) && Date.parse(a.starts_at) > Date.now())
    .sort((a, b) => a.starts_at.localeCompare(b.starts_at))[0];
  if (upcoming) return { ...upcoming, created: false };
  // Three days out (past the reminder window), on the hour, one patient after the other.
  const day = new Date();
  const startsAt = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() + 3, 15 + index));
  const body = { patient_id: patientId, starts_at: startsAt.toISOString(), ...DEPOSIT };
  return { ...await created<Appointment>(api, "/v1/appointments", body), created: true };
}

async function seed(flags: TargetFlags & { callbackUrl?: string; json?: boolean }) {
  const target = resolveTarget(flags);
  await ensureRunning(target);
  const api = apiClient(target);
  const warnings: string[] = [];
  const receiver = target.session && `${target.session.stand_ins_url}${RECEIVER_PREFIX}harbor-dental`;
  const callbackUrl = flags.callbackUrl ?? receiver;
  if (!callbackUrl) {
    warnings.push("no callback URL for the clinic (no `npm run dev` beside us): pass --callback-url for its webhooks");
  }
  const c = await clinic(api, callbackUrl, (w) => warnings.push(w));
  const people = [];
  for (const [index, p] of PATIENTS.entries()) {
    let row = await patient(api, c.id, p);
    if (p.optOut && !row.opted_out) {
      if (await optOut(target, c.phone, row)) row = { ...row, ...await api.get<Patient>(`/v1/patients/${row.id}`) };
      else warnings.push(`${p.name} is not opted out: set TWILIO_AUTH_TOKEN so his STOP can be signed`);
    }
    people.push({ ...p, ...row, appointment: await appointment(api, row.id, index) });
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ clinic: c, patients: people, warnings }, null, 2)}\n`);
    return;
  }
  const state = (made: boolean) => (made ? "created" : "already there");
  const [ada, , cleo] = people;
  const lines = [
    `Clinic   ${c.name}  ${c.phone}  ${c.id}  (${state(c.created)})`,
    `         callback URL: ${c.callback_url ?? "none"}`,
    "",
    "Patients, each with an appointment and a $60.00 deposit to pay:",
    ...people.flatMap((p) => [
      `  ${p.name.padEnd(13)} ${p.phone}  patient ${p.id}  (${state(p.created)})${p.opted_out ? "  opted out" : ""}`,
      `  ${"".padEnd(13)} appointment ${p.appointment.id}  ${p.appointment.starts_at}  ${p.appointment.status}`
        + `  (${state(p.appointment.created)})`,
      `  ${"".padEnd(13)} ${p.note}`,
    ]),
    ...warnings.map((w) => `\nnote: ${w}`),
    "",
    "Try next:",
    `  npm run simulate -- stripe payment_intent.payment_failed --appointment ${ada!.appointment.id}`,
    `  npm run simulate -- stripe payment_intent.succeeded --appointment ${ada!.appointment.id}`,
    `  npm run simulate -- sms --from ${ada!.phone} --body CONFIRM`,
    `  npm run simulate -- stripe payment_intent.succeeded --appointment ${cleo!.appointment.id}`,
    `  npm run simulate -- stripe charge.refunded --appointment ${ada!.appointment.id}`,
    "  npm run simulate -- --help",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

const cmd = targetOptions(program("seed", "Create the demo clinic, three patients and their upcoming appointments "
  + "(once: a second run adds nothing)."))
  .option("--callback-url <url>", "the clinic's callback URL (default: the receiver of the `npm run dev` beside you)")
  .option("--json", "print what it made or found as JSON")
  .action((opts) => seed(opts));

await runProgram(cmd);
