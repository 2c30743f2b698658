import { eq, sql } from "drizzle-orm";
import { webhookEndpoints } from "../../db/schema";
import type { Config } from "../config";
import type { Executor } from "../db";
import type { Endpoint } from "../outbound/store";

export const ALERTS_PURPOSE = "alerts";

type AlertWebhookConfig = Pick<Config, "ALERT_WEBHOOK_URL" | "ALERT_WEBHOOK_SECRET" | "OUTBOUND_SECRET_OVERLAP_MS">;

/**
 * The endpoint row of ALERT_WEBHOOK_URL (purpose `alerts`), made on first use, so alert notifications are ordinary
 * deliveries: signed, retried, rate-limited, SSRF-checked before every attempt, listed under GET /v1/deliveries.
 * The environment is the source of truth: a changed URL is followed, and a changed secret is rolled like a rotation
 * (the old one still signs, as a second signature, for OUTBOUND_SECRET_OVERLAP_MS). Undefined when not configured.
 */
export async function alertEndpoint(tx: Executor, config: AlertWebhookConfig): Promise<Endpoint | undefined> {
  const { ALERT_WEBHOOK_URL: url, ALERT_WEBHOOK_SECRET: secret } = config;
  if (!url || !secret) return undefined;
  await tx.insert(webhookEndpoints).values({ purpose: ALERTS_PURPOSE, url, secret, secretShown: true })
    .onConflictDoNothing();
  const [endpoint] = await tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.purpose, ALERTS_PURPOSE));
  if (endpoint!.url === url && endpoint!.secret === secret) return endpoint;
  const rolled = endpoint!.secret !== secret;
  const [updated] = await tx.update(webhookEndpoints).set({
    url, secret, updatedAt: sql`now()`,
    ...(rolled ? {
      previousSecret: endpoint!.secret,
      previousSecretExpiresAt: sql`now() + make_interval(secs => ${config.OUTBOUND_SECRET_OVERLAP_MS / 1000})`,
    } : {}),
  }).where(eq(webhookEndpoints.id, endpoint!.id)).returning();
  return updated;
}
