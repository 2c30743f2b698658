import { sql } from "drizzle-orm";
import type { MessageInstance } from "twilio/lib/rest/api/v2010/account/message";
import { smsStatusChecks } from "../../db/schema";
import type { Deps } from "../deps";
import { normalizePhone } from "../domain/phone";
import { isFinalSmsStatus, nextStatusCheck, type Window } from "../domain/reconcile";
import { advances, isSmsStatus } from "../domain/sms-status";
import { TWILIO_RECEIVED } from "../domain/webhooks";
import { type Budget, call, describeFailure } from "./calls";
import { type Found, messageOf, type PassReport, storeFound } from "./store";

interface Unsettled { id: string; sid: string; status: string; acceptedAt: Date; checks: number }
type UnsettledRow = { id: string; sid: string; status: string; accepted_at: string; checks?: number };
const unsettled = (r: UnsettledRow): Unsettled =>
  ({ id: r.id, sid: r.sid, status: r.status, acceptedAt: new Date(r.accepted_at), checks: r.checks ?? 0 });

const NOT_FINAL = sql.raw(`('delivered', 'undelivered', 'failed', 'read', 'canceled')`);
const HORIZON = sql.raw(`interval '72 hours'`);

/**
 * SMS due for a look-up now: accepted by Twilio at least RECONCILE_SMS_AFTER_MINUTES ago, still without a final
 * status, and either never looked up and less than 72 hours old, or due again (sms_status_checks; the last look
 * is due at the 72-hour mark, a run may come a little later), longest waiting first.
 */
async function dueSms(deps: Pick<Deps, "db" | "clock" | "config">, limit: number): Promise<Unsettled[]> {
  const now = deps.clock.now().toISOString();
  const rows = await deps.db.execute<UnsettledRow>(sql`
    select m.id, m.twilio_sid as sid, m.status, m.sent_at as accepted_at, coalesce(c.checks, 0)::int as checks
    from sms_messages m left join sms_status_checks c on c.sms_id = m.id
    where m.twilio_sid is not null and m.status not in ${NOT_FINAL}
      and m.sent_at <= ${now}::timestamptz - ${deps.config.RECONCILE_SMS_AFTER_MINUTES} * interval '1 minute'
      and m.sent_at > ${now}::timestamptz - ${HORIZON} - interval '1 day'
      and (c.sms_id is null and m.sent_at > ${now}::timestamptz - ${HORIZON} or c.next_check_at <= ${now}::timestamptz)
    order by coalesce(c.next_check_at, m.sent_at) limit ${limit}`);
  return rows.map(unsettled);
}

/** SMS accepted within `window` and still without a final status (POST /v1/reconcile), oldest first. */
async function smsAcceptedIn(deps: Pick<Deps, "db">, window: Window, limit: number): Promise<Unsettled[]> {
  const [from, until] = [window.from.toISOString(), window.until.toISOString()];
  const rows = await deps.db.execute<UnsettledRow>(sql`
    select m.id, m.twilio_sid as sid, m.status, m.sent_at as accepted_at from sms_messages m
    where m.twilio_sid is not null and m.status not in ${NOT_FINAL}
      and m.sent_at >= ${from}::timestamptz and m.sent_at <= ${until}::timestamptz
    order by m.sent_at limit ${limit}`);
  return rows.map(unsettled);
}

/** The status callback Twilio would have posted for what it now reports (the processor reads these names). */
export function statusCallbackBody(
  message: Pick<MessageInstance, "sid" | "status" | "accountSid" | "from" | "to" | "errorCode">,
): string {
  const params = new URLSearchParams({
    MessageSid: message.sid, SmsSid: message.sid, MessageStatus: message.status, SmsStatus: message.status,
    AccountSid: message.accountSid, From: message.from, To: message.to, ApiVersion: "2010-04-01",
  });
  if (message.errorCode) params.set("ErrorCode", String(message.errorCode));
  return params.toString();
}

/** Remembers the look-up and when the next one is due (none once final, 72 hours old, or unknown to Twilio). */
async function recordCheck(deps: Pick<Deps, "db" | "clock" | "config">, sms: Unsettled, reported: string) {
  const now = deps.clock.now();
  const checks = sms.checks + 1;
  const next = isFinalSmsStatus(reported) || reported === "not_found"
    ? undefined
    : nextStatusCheck(sms.acceptedAt, checks, now, deps.config.RECONCILE_SMS_AFTER_MINUTES);
  const nextCheckAt = next?.kind === "at" ? next.at : null;
  const fields = { checks, lastCheckedAt: now, lastStatus: reported, nextCheckAt };
  await deps.db.insert(smsStatusChecks).values({ smsId: sms.id, ...fields })
    .onConflictDoUpdate({ target: smsStatusChecks.smsId, set: fields });
}

/**
 * Item 1 of reconciliation: asks Twilio (`messages(sid).fetch()`) for SMS whose final status never came, and
 * stores each status that moved as the callback Twilio would have sent (key `MessageSid:MessageStatus`), so the
 * history, the appointment and the email fallback follow exactly once, whether callback or look-up comes first.
 * `due`: the SMS whose next look-up is due (recorded for the backoff); `range`: those accepted in a window.
 * Stops at the first failed call or store; what it stored stays stored, and a status it could not store is
 * fetched again by the next run.
 */
export async function checkSmsStatuses(
  deps: Deps,
  budget: Budget,
  scope: { kind: "due" } | { kind: "range"; window: Window },
): Promise<PassReport> {
  const report: PassReport = { pass: "twilio-status", outcome: "complete", checked: 0, found: [] };
  const client = deps.twilio;
  if (!client) return { ...report, outcome: "not_configured" };
  const limit = budget.max - budget.used;
  const candidates = scope.kind === "due" ? await dueSms(deps, limit) : await smsAcceptedIn(deps, scope.window, limit);
  for (const sms of candidates) {
    const fetched = await call(budget, () => client.messages(sms.sid).fetch());
    if (fetched.kind === "exhausted") return { ...report, outcome: "partial" };
    if (fetched.kind === "failed" && fetched.failure.status !== 404) {
      return { ...report, outcome: "failed", cause: fetched.failure.kind, error: describeFailure(fetched.failure) };
    }
    report.checked++;
    const reported = fetched.kind === "ok" ? fetched.value.status : "not_found";
    if (fetched.kind === "ok" && isSmsStatus(reported) && advances(sms.status, reported)) {
      const minutes = Math.round((deps.clock.now().getTime() - sms.acceptedAt.getTime()) / 60_000);
      let found: Found | undefined;
      try {
        found = await storeFound(deps, {
          provider: "twilio-status", kind: "sms_status", key: `${sms.sid}:${reported}`,
          rawBody: statusCallbackBody(fetched.value), answer: TWILIO_RECEIVED, phone: normalizePhone(fetched.value.to),
          note: scope.kind === "due"
            ? `no ${reported} status callback ${minutes} min after Twilio accepted the SMS (it was ${sms.status}); `
              + "fetched from Twilio"
            : `POST /v1/reconcile: Twilio reports ${reported}, Switchboard had ${sms.status}`,
        });
      } catch (error) {
        // Not recorded as looked up: the next run fetches it again.
        return { ...report, outcome: "failed", cause: "store", error: `could not store: ${messageOf(error)}` };
      }
      if (found) report.found.push(found);
    }
    if (scope.kind === "due") await recordCheck(deps, sms, reported);
  }
  // A full batch may have left others due: the next run takes them.
  return { ...report, outcome: candidates.length >= limit ? "partial" : "complete" };
}
