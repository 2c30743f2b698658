/**
 * Twilio message statuses (SPEC 4) ranked, so that out-of-order callbacks never move a message backwards.
 *
 * The rank is a total order, so every arrival order of the same callbacks ends in the same state:
 *   accepted < scheduled < queued < sending < canceled < sent < failed < undelivered < delivered < read
 * - Terminal states are ordered among themselves by how far the message is known to have got: `failed` (Twilio could
 *   not send it) < `undelivered` (the carrier could not deliver it) < `delivered` (the handset has it) < `read`
 *   (WhatsApp: the patient opened it). A delivery receipt is positive proof and outranks any failure report.
 * - `canceled` (a scheduled message withdrawn before sending) outranks the states before sending, but a later
 *   `sent` or terminal report proves the message went out after all, so those outrank it.
 * - Equal status: no move (a duplicate is history only).
 */
export const SMS_STATUSES = [
  "accepted", "scheduled", "queued", "sending", "canceled", "sent", "failed", "undelivered", "delivered", "read",
] as const;
export type SmsStatus = (typeof SMS_STATUSES)[number];

export const SMS_STATUS_RANK: Readonly<Record<SmsStatus, number>> = Object.fromEntries(
  SMS_STATUSES.map((status, rank) => [status, rank]),
) as Record<SmsStatus, number>;

/** Statuses that mean the patient did not get the text: the email fallback and the support alert follow. */
export const FAILURE_STATUSES: ReadonlySet<SmsStatus> = new Set(["failed", "undelivered"]);
/** Statuses that mean the patient has the text. */
export const DELIVERED_STATUSES: ReadonlySet<SmsStatus> = new Set(["delivered", "read"]);

export function isSmsStatus(value: string): value is SmsStatus {
  return (SMS_STATUSES as readonly string[]).includes(value);
}

/**
 * Our own sms_messages statuses before Twilio reports (`pending`, `unknown`) rank below everything Twilio can say;
 * a current status that is a Twilio word (e.g. `failed` written by the send job) is taken at its Twilio rank.
 */
function rankOf(status: string): number {
  return isSmsStatus(status) ? SMS_STATUS_RANK[status] : -1;
}

/** Whether a callback reporting `next` moves a message that is now `current`. */
export function advances(current: string, next: SmsStatus): boolean {
  return SMS_STATUS_RANK[next] > rankOf(current);
}

/** Why a callback that does not move the message is kept in its history only. */
export const historyOnly = (current: string, next: string) =>
  `history only: the SMS is already ${current}, which ${next} does not follow`;

/** The final status of a message after callbacks in any order (the highest ranked). */
export function finalStatus(statuses: readonly SmsStatus[], start = "pending"): string {
  return statuses.reduce<string>((current, next) => (advances(current, next) ? next : current), start);
}

/** What a status callback says about one message (SPEC 4). */
export interface StatusCallback {
  sid: string;
  status: string;
  errorCode?: string;
  rawDlrDoneDate?: string;
  params: Record<string, string>;
}

/** Twilio's status callback parameters; undefined without a MessageSid or MessageStatus. */
export function parseStatusCallback(params: URLSearchParams): StatusCallback | undefined {
  const sid = params.get("MessageSid") ?? params.get("SmsSid");
  const status = (params.get("MessageStatus") ?? params.get("SmsStatus"))?.toLowerCase();
  if (!sid || !status) return undefined;
  return {
    sid, status,
    errorCode: params.get("ErrorCode") || undefined,
    rawDlrDoneDate: params.get("RawDlrDoneDate") || undefined,
    params: Object.fromEntries(params),
  };
}
