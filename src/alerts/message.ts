import type { Config } from "../config";
import type { Incident } from "./incidents";
import type { IncidentExample, Rule } from "./rule";

export type AlertEvent = "opened" | "resolved" | "reminder";

/** Console pages per example kind (SPEC 9); kinds without a page (jobs) get no link. */
const CONSOLE_PAGES: Record<string, string> = {
  incident: "alerts", webhook_event: "webhook-events", delivery: "deliveries", endpoint: "endpoints", email: "emails",
  sms: "sms",
};

/** A console link: PUBLIC_URL + /console/<page>/<id> (a path alone without PUBLIC_URL). */
export function consoleUrl(config: Pick<Config, "PUBLIC_URL">, kind: string, id: string): string | null {
  const page = CONSOLE_PAGES[kind];
  if (!page) return null;
  return `${(config.PUBLIC_URL ?? "").replace(/\/+$/, "")}/console/${page}/${encodeURIComponent(id)}`;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The incident as the API, the alert webhook and the console show it. */
export function incidentView(
  config: Pick<Config, "PUBLIC_URL">, incident: Incident, rule?: Pick<Rule, "description" | "hint">,
) {
  return {
    id: incident.id,
    rule: incident.rule,
    key: incident.key,
    status: incident.resolvedAt ? "resolved" as const : "open" as const,
    title: incident.title,
    description: rule?.description ?? null,
    hint: rule?.hint ?? null,
    opened_at: incident.openedAt.toISOString(),
    last_seen_at: incident.lastSeenAt.toISOString(),
    resolved_at: iso(incident.resolvedAt),
    acknowledged_at: iso(incident.acknowledgedAt),
    acknowledged_by: incident.acknowledgedBy,
    reminders: incident.reminders,
    figures: incident.figures,
    examples: incident.examples.map((e: IncidentExample) => ({ ...e, url: consoleUrl(config, e.kind, e.id) })),
    url: consoleUrl(config, "incident", incident.id)!,
  };
}
export type IncidentView = ReturnType<typeof incidentView>;

/** `{type, timestamp, data}` for the alert webhook: `alert.opened`, `alert.resolved`, `alert.reminder`. */
export function alertWebhookBody(view: IncidentView, event: AlertEvent, now: Date): string {
  return JSON.stringify({ type: `alert.${event}`, timestamp: now.toISOString(), data: view });
}

function duration(fromIso: string, toIso: string): string {
  const minutes = Math.max(0, Math.round((Date.parse(toIso) - Date.parse(fromIso)) / 60_000));
  if (minutes < 120) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

const figureLine = ([name, value]: [string, unknown]) =>
  `  ${name}: ${typeof value === "object" && value !== null ? JSON.stringify(value) : String(value)}`;

/** Subject and plain-text body of the email to SUPPORT_EMAIL: what, since when, how bad, examples, what to do. */
export function alertEmail(view: IncidentView, event: AlertEvent, now: Date): { subject: string; body: string } {
  const nowIso = now.toISOString();
  const label = event === "opened" ? "ALERT"
    : event === "resolved" ? "RESOLVED" : `STILL OPEN (${duration(view.opened_at, nowIso)})`;
  const resolved = view.resolved_at ? `; resolved ${view.resolved_at}` : "";
  const acknowledged = view.acknowledged_at
    ? [`Acknowledged: ${view.acknowledged_at}${view.acknowledged_by ? ` by ${view.acknowledged_by}` : ""}`] : [];
  const lines = [
    event === "resolved"
      ? `Resolved after ${duration(view.opened_at, view.resolved_at ?? nowIso)}: ${view.title}`
      : `${view.title}`,
    "",
    `What: ${view.description ?? view.rule} (rule ${view.rule}, key ${view.key})`,
    `Since: ${view.opened_at} (last seen ${view.last_seen_at})${resolved}`,
    ...acknowledged,
    "",
    "Figures:",
    ...Object.entries(view.figures).map(figureLine),
  ];
  if (view.examples.length > 0) {
    lines.push("", "Examples:");
    for (const e of view.examples) {
      lines.push(`  ${e.kind} ${e.id}${e.detail ? `: ${e.detail}` : ""}`);
      if (e.url) lines.push(`    ${e.url}`);
    }
  }
  if (event !== "resolved" && view.hint) lines.push("", `What to check: ${view.hint}`);
  lines.push("", `Incident: ${view.url}`);
  if (event !== "resolved") {
    lines.push(`Acknowledge it (no more reminders): POST /v1/alerts/${view.id}/acknowledge, or in the console.`);
  }
  return { subject: `[Switchboard] ${label}: ${view.title}`, body: lines.join("\n") };
}
