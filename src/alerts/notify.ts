import type { Executor } from "../db";
import type { Deps } from "../deps";
import { queueEmail } from "../effects/email";
import { createDelivery } from "../outbound/store";
import { alertEndpoint } from "./endpoint";
import type { Incident } from "./incidents";
import { type AlertEvent, alertEmail, alertWebhookBody, incidentView } from "./message";
import type { Rule } from "./rule";

/**
 * Queues one notification of an incident's opening, reminder or resolution in the caller's transaction, the one that
 * changed the incident: an email to SUPPORT_EMAIL through the outbox, and a delivery to ALERT_WEBHOOK_URL. Both are
 * keyed on the incident and event, so they exist once. Sending happens later in their own jobs; a failing SMTP
 * server or alert receiver never reaches back into evaluation. Returns the channels used.
 */
export async function notifyIncident(
  deps: Pick<Deps, "config" | "clock">, tx: Executor, incident: Incident, event: AlertEvent, rule?: Rule<unknown>,
): Promise<string[]> {
  const { config } = deps;
  const now = deps.clock.now();
  const view = incidentView(config, incident, rule);
  const dedupeKey = `alert:${incident.id}:${event}${event === "reminder" ? `:${incident.reminders}` : ""}`;
  const channels: string[] = [];
  if (config.SUPPORT_EMAIL) {
    const { subject, body } = alertEmail(view, event, now);
    await queueEmail(tx, { dedupeKey, kind: "alert", to: config.SUPPORT_EMAIL, subject, body });
    channels.push("email");
  }
  const endpoint = await alertEndpoint(tx, config);
  if (endpoint) {
    await createDelivery(tx, {
      endpointId: endpoint.id, eventType: `alert.${event}`, dedupeKey,
      // An incident's notifications start in order: a resolution never overtakes its opening.
      orderKey: `alert:${incident.id}`,
      body: alertWebhookBody(view, event, now),
    });
    channels.push("webhook");
  }
  return channels;
}
