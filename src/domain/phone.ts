/**
 * E.164 from what people and Twilio write: "+1 (555) 123-4567", "whatsapp:+15551234567", "0015551234567".
 * Returns undefined for anything that cannot be a phone number. Numbers without a country code are refused
 * rather than guessed.
 */
export function normalizePhone(input: string): string | undefined {
  let s = input.trim().replace(/^whatsapp:/i, "").replace(/[\s().-]/g, "");
  if (s.startsWith("00")) s = `+${s.slice(2)}`;
  return /^\+[1-9]\d{6,14}$/.test(s) ? s : undefined;
}

/** A US/CA short code (3 to 8 digits), which a clinic may send from instead of a long code. */
export const isShortCode = (input: string): boolean => /^\d{3,8}$/.test(input.trim());

/**
 * How a number Twilio reports is kept and matched: E.164 when it is a phone number, otherwise as sent
 * (short code, alphanumeric sender ID) so the message is still stored rather than refused.
 */
export function addressOf(input: string): string {
  const raw = input.trim().replace(/^whatsapp:/i, "");
  return normalizePhone(raw) ?? raw;
}
