/** A Twilio Debugger event as its webhook posts it (form parameters, the details in a JSON `Payload`). */
export interface DebuggerEvent {
  sid: string;
  accountSid: string | null;
  /** `error` or `warning` (Twilio sends `Error` / `Warning`, older accounts upper case). */
  level: string;
  /** From the payload's `error_code`; `unknown` when it is missing or the payload is not JSON. */
  errorCode: string;
  resourceSid: string | null;
  occurredAt: Date | null;
  moreInfo: Record<string, unknown> | null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Undefined without a `Sid` (nothing to key it on); a payload that does not parse still makes an event. */
export function parseDebuggerEvent(params: URLSearchParams): DebuggerEvent | undefined {
  const sid = params.get("Sid")?.trim();
  if (!sid) return undefined;
  let payload: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(params.get("Payload") ?? "{}");
    if (isObject(parsed)) payload = parsed;
  } catch {
    // Kept in the stored raw body; the event is still grouped (as `unknown`) and alerted.
  }
  const raw = payload.error_code;
  const code = typeof raw === "string" || typeof raw === "number" ? String(raw).trim().slice(0, 32) : "";
  const timestamp = params.get("Timestamp") ?? params.get("TimeStamp");
  const occurredAt = timestamp ? new Date(timestamp) : null;
  return {
    sid,
    accountSid: params.get("AccountSid"),
    level: (params.get("Level") ?? "error").trim().toLowerCase() || "error",
    errorCode: code || "unknown",
    resourceSid: typeof payload.resource_sid === "string" ? payload.resource_sid : null,
    occurredAt: occurredAt && !Number.isNaN(occurredAt.getTime()) ? occurredAt : null,
    moreInfo: isObject(payload.more_info) ? payload.more_info : null,
  };
}
