import { twilioDebuggerEvents } from "../../db/schema";
import { parseDebuggerEvent } from "../domain/twilio-debugger";
import { enqueue } from "../queue";
import { EVALUATE_ALERTS } from "./evaluate-alerts";
import type { Processor } from "./event-processor";

/**
 * A Twilio Debugger event: parsed into twilio_debugger_events (once per Sid), where the `twilio_debugger` alert rule
 * groups them by error code. An evaluation is queued at once, so the incident does not wait for the next minute.
 */
export const processTwilioDebugger: Processor = async (deps, tx, event) => {
  const parsed = parseDebuggerEvent(new URLSearchParams(event.rawBody));
  if (!parsed) return { status: "failed", reason: "no Sid" };
  const [row] = await tx.insert(twilioDebuggerEvents).values({
    webhookEventId: event.id, sid: parsed.sid, level: parsed.level, errorCode: parsed.errorCode,
    resourceSid: parsed.resourceSid, occurredAt: parsed.occurredAt, moreInfo: parsed.moreInfo,
    receivedAt: event.receivedAt,
  }).onConflictDoNothing().returning({ id: twilioDebuggerEvents.id });
  if (!row) return { status: "processed", reason: "already recorded" };
  deps.metrics.twilioDebuggerEvents.inc({ level: parsed.level, error_code: parsed.errorCode });
  await enqueue(tx, EVALUATE_ALERTS.task, {}, EVALUATE_ALERTS.options);
  return { status: "processed", reason: `Twilio ${parsed.level} ${parsed.errorCode}` };
};
