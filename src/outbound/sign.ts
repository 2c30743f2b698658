import { createHmac, randomBytes } from "node:crypto";

const PREFIX = "whsec_";

/** A Standard Webhooks secret: `whsec_` + base64 of 24 random bytes (the key is the decoded bytes). */
export function newSecret(): string {
  return PREFIX + randomBytes(24).toString("base64");
}

function key(secret: string): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, "base64");
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, as the standardwebhooks package verifies. */
export function sign(secret: string, webhookId: string, timestamp: number, body: string): string {
  const mac = createHmac("sha256", key(secret)).update(`${webhookId}.${timestamp}.${body}`).digest("base64");
  return `v1,${mac}`;
}

export interface SigningKeys { secret: string; previousSecret: string | null; previousSecretExpiresAt: Date | null }

/**
 * The three Standard Webhooks headers. During a rotation the body is signed with both secrets, space-separated,
 * so a receiver still holding the old one keeps verifying.
 */
export function signedHeaders(keys: SigningKeys, webhookId: string, now: Date, body: string): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  const signatures = [sign(keys.secret, webhookId, timestamp, body)];
  if (keys.previousSecret && keys.previousSecretExpiresAt && keys.previousSecretExpiresAt > now) {
    signatures.push(sign(keys.previousSecret, webhookId, timestamp, body));
  }
  return {
    "webhook-id": webhookId,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": signatures.join(" "),
  };
}
