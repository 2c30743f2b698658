// After `simulate` sends a webhook: wait until the service has processed it, then watch what it caused (appointment
// status changes, SMS and their delivery, emails, customer webhooks) settle, all read through the management API.
import { type Api, q } from "./cli";
import { spinner } from "./spinner";

export interface Scope {
  provider: "stripe" | "twilio-sms" | "twilio-status";
  key: string;
  /** Appointments whose history may name this event. */
  appointmentIds: string[];
  /** Which SMS belong to this story: about these appointments, to this number, or this sid. */
  sms: { appointmentIds?: string[]; to?: string; sid?: string };
}

// The parts of the management API's answers read here.
type Null<T> = T | null;
interface Event { id: number; status: string; attempts: number; last_error: Null<string>; received_at: string }
interface History { from_status: Null<string>; to_status: string; cause_type: string; cause_id: Null<string> }
interface Appointment { id: string; status: string; hold_expires_at: Null<string> }
interface Sms {
  id: string; to: string; body: string; status: string; error_code: Null<string>; twilio_sid: Null<string>;
  status_history?: { status: string }[];
}
interface Email { to: string; subject: string; status: string; created_at: string; last_error: Null<string> }
interface Delivery {
  endpoint_id: string; event_type: string; status: string; last_status: Null<number>; last_error: Null<string>;
}

const SMS_FINAL = new Set(["delivered", "undelivered", "failed", "read", "canceled", "skipped_opted_out", "logged"]);
const short = (text: string, n = 72) => (text.length > n ? `${text.slice(0, n - 1)}…` : text).replace(/\s+/g, " ");

async function findEvent(api: Api, scope: Scope): Promise<Event | undefined> {
  const query = q({ provider: scope.provider, idempotency_key: scope.key, limit: 1 });
  return (await api.get<{ data: Event[] }>(`/v1/webhook-events?${query}`)).data[0];
}

async function effects(api: Api, scope: Scope, event: Event) {
  const since = event.received_at;
  const changes: { appointment: Appointment; history: History[] }[] = [];
  for (const id of scope.appointmentIds) {
    const { data } = await api.get<{ data: History[] }>(`/v1/appointments/${id}/history`);
    // A Stripe event is named by its row id; an inbound SMS by its MessageSid (cause "sms").
    const history = data.filter((h) => (h.cause_type === "webhook_event" && h.cause_id === String(event.id))
      || (h.cause_type === "sms" && h.cause_id === scope.key));
    if (history.length === 0) continue;
    changes.push({ appointment: await api.get<Appointment>(`/v1/appointments/${id}`), history });
  }
  const smsQueries = scope.sms.sid ? [q({ sid: scope.sms.sid })]
    : scope.sms.to ? [q({ to: scope.sms.to, since })]
    : (scope.sms.appointmentIds ?? []).map((id) => q({ appointment_id: id, since }));
  const sms: Sms[] = [];
  for (const query of smsQueries) {
    const { data } = await api.get<{ data: Sms[] }>(`/v1/sms?${query}`);
    for (const s of data) sms.push(await api.get<Sms>(`/v1/sms/${s.id}`));
  }
  const emails = (await api.get<{ data: Email[] }>(`/v1/emails?${q({ limit: 50 })}`)).data
    .filter((e) => e.created_at >= since);
  const deliveries = (await api.get<{ data: Delivery[] }>(`/v1/deliveries?${q({ since, limit: 50 })}`)).data;
  // The API lists newest first; a story reads oldest first.
  return { changes, sms: sms.reverse(), emails: emails.reverse(), deliveries: deliveries.reverse() };
}
type Effects = Awaited<ReturnType<typeof effects>>;

const unsettled = (e: Effects) => [
  ...e.sms.filter((s) => !SMS_FINAL.has(s.status)).map(() => "SMS"),
  ...e.emails.filter((m) => m.status === "pending" || m.status === "sending").map(() => "email"),
  ...e.deliveries.filter((d) => d.status === "pending").map(() => "webhook"),
];

function report(event: Event, e: Effects, endpoints: Map<string, string>, stillMoving: boolean): string[] {
  const why = event.last_error ? `: ${event.last_error}` : "";
  const tries = event.attempts > 1 ? ` (after ${event.attempts} attempts)` : "";
  const lines = [`event #${event.id} ${event.status}${why}${tries}`];
  for (const { appointment, history } of e.changes) {
    const moves = history.map((h) => `${h.from_status ?? "new"} → ${h.to_status}`).join(", ");
    const held = appointment.status === "payment_pending" && appointment.hold_expires_at;
    const hold = held ? `, held until ${appointment.hold_expires_at}` : "";
    lines.push(`  appointment ${appointment.id}: ${moves}${hold}`);
  }
  for (const s of e.sms) {
    const path = [...new Set([...(s.status_history ?? []).map((h) => h.status), s.status])].join(" → ");
    const error = s.error_code ? ` (error ${s.error_code})` : "";
    lines.push(`  SMS to ${s.to} "${short(s.body)}": ${path}${error}${s.twilio_sid ? `  ${s.twilio_sid}` : ""}`);
  }
  for (const m of e.emails) {
    const error = m.last_error ? ` (${short(m.last_error)})` : "";
    lines.push(`  email to ${m.to} "${short(m.subject)}": ${m.status}${error}`);
  }
  for (const d of e.deliveries) {
    const answer = d.last_status ? ` (HTTP ${d.last_status})` : d.last_error ? ` (${short(d.last_error)})` : "";
    lines.push(`  webhook ${d.event_type} to ${endpoints.get(d.endpoint_id) ?? d.endpoint_id}: ${d.status}${answer}`);
  }
  if (lines.length === 1) lines.push("  no appointment change, SMS, email or webhook");
  // The same line several times (a message created, then updated, each delivered) reads better counted.
  const counted = new Map<string, number>();
  for (const line of lines) counted.set(line, (counted.get(line) ?? 0) + 1);
  const out = [...counted].map(([line, n]) => (n > 1 ? `${line}  ×${n}` : line));
  if (stillMoving) {
    out.push(`  (still on the way when we stopped watching: ${unsettled(e).join(", ")}; the API shows the rest)`);
  }
  return out;
}

/**
 * Polls until the event is no longer pending and its effects are final (SMS delivered or failed, emails and webhooks
 * sent) and nothing new appeared for a moment, or `timeoutMs` passed. Returns the event's status and what to print.
 */
export async function follow(api: Api, scope: Scope, timeoutMs: number): Promise<{ status: string; lines: string[] }> {
  const spin = spinner();
  const until = Date.now() + timeoutMs;
  try {
    let event: Event | undefined;
    spin.set("finding the stored event");
    while (!(event = await findEvent(api, scope)) && Date.now() < until) await Bun.sleep(200);
    if (!event) return { status: "missing", lines: [`no ${scope.provider} event ${scope.key} is stored: refused?`] };
    while (event.status === "pending" && Date.now() < until) {
      spin.set(`event #${event.id} waiting to be processed${event.attempts ? ` (attempt ${event.attempts + 1})` : ""}`);
      await Bun.sleep(200);
      event = await api.get<Event>(`/v1/webhook-events/${event.id}`);
    }
    if (event.status === "pending") {
      const hint = `is still pending after ${timeoutMs / 1000} s: is a worker running (ROLE=all or worker)?`;
      return { status: "pending", lines: [`event #${event.id} ${hint}`] };
    }
    // Effects chain (an SMS fails, then an email and a webhook follow): settled means final and unchanged for a while.
    let last = "";
    let quietSince = Date.now();
    let seen = await effects(api, scope, event);
    while (Date.now() < until) {
      const signature = JSON.stringify(seen);
      if (signature !== last) [last, quietSince] = [signature, Date.now()];
      const waiting = unsettled(seen);
      if (waiting.length === 0 && Date.now() - quietSince >= 1500) break;
      const what = waiting.length ? `waiting for ${waiting.join(", ")}` : "watching";
      spin.set(`event #${event.id} ${event.status}; ${what}`);
      await Bun.sleep(250);
      seen = await effects(api, scope, event);
    }
    const { data } = await api.get<{ data: { id: string; url: string }[] }>(`/v1/endpoints?${q({ limit: 200 })}`);
    const endpoints = new Map(data.map((x) => [x.id, x.url]));
    return { status: event.status, lines: report(event, seen, endpoints, unsettled(seen).length > 0) };
  } finally {
    spin.stop();
  }
}
