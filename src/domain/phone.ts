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
