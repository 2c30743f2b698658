import { and, eq } from "drizzle-orm";
import { webhookEvents } from "../../db/schema";
import type { Deps } from "../deps";
import { retryOnStaleConnection } from "../db";
import { StorageError } from "../http/errors";
import { enqueue, type Tx } from "../jobs/enqueue";

export type Provider = "stripe" | "twilio-sms" | "twilio-status";

export interface Answer {
  status: number;
  body: string;
  contentType: string;
}

export interface IngestInput {
  provider: Provider;
  /** The provider's idempotency key (Stripe event id, MessageSid, MessageSid:MessageStatus). */
  key: string;
  headers: Headers;
  rawBody: string;
  /**
   * The answer to give, or a function that decides it inside the ingest transaction. The function runs only
   * for the first delivery (a retry gets the stored answer) and may write rows that commit with the event.
   */
  answer: Answer | ((tx: Tx, eventId: number) => Promise<Answer>);
  receivedAt: number;
}

export interface IngestResult {
  eventId: number;
  duplicate: boolean;
  /** For a duplicate, the answer stored with the first delivery. */
  answer: Answer;
}

const UNDECIDED: Answer = { status: 500, body: "", contentType: "text/plain" };

const REDACTED_HEADERS = new Set(["stripe-signature", "x-twilio-signature", "authorization", "cookie"]);

export function redactHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = REDACTED_HEADERS.has(name.toLowerCase()) ? "[redacted]" : value;
  });
  return out;
}

/**
 * The SPEC 2 invariant in one place: the raw event and the job that processes it are committed in one
 * transaction before any 2xx. A retried delivery finds its row and gets the first answer back.
 * Throws StorageError when the database cannot take the write.
 */
export async function ingest(deps: Deps, input: IngestInput): Promise<IngestResult> {
  try {
    // Safe to repeat: a second run finds the first one's row if its commit landed.
    return await retryOnStaleConnection(() => deps.db.transaction(async (tx) => {
      const decide = typeof input.answer === "function" ? input.answer : undefined;
      // A deciding function's answer is written once it is known; until then the row says "undecided".
      const initial = decide ? UNDECIDED : input.answer as Answer;
      const inserted = await tx.insert(webhookEvents).values({
        provider: input.provider,
        idempotencyKey: input.key,
        providerToken: input.headers.get("i-twilio-idempotency-token"),
        headers: redactHeaders(input.headers),
        rawBody: input.rawBody,
        responseStatus: initial.status,
        responseBody: initial.body,
        responseContentType: initial.contentType,
        responseMs: Math.round(performance.now() - input.receivedAt),
      }).onConflictDoNothing().returning({ id: webhookEvents.id });
      const row = inserted[0];
      if (row) {
        let answer = initial;
        if (decide) {
          answer = await decide(tx, row.id);
          await tx.update(webhookEvents).set({
            responseStatus: answer.status,
            responseBody: answer.body,
            responseContentType: answer.contentType,
            responseMs: Math.round(performance.now() - input.receivedAt),
          }).where(eq(webhookEvents.id, row.id));
        }
        await enqueue(tx, "process-webhook", { eventId: row.id }, { jobKey: `event:${row.id}` });
        return { eventId: row.id, duplicate: false, answer };
      }
      const [first] = await tx.select().from(webhookEvents)
        .where(and(eq(webhookEvents.provider, input.provider), eq(webhookEvents.idempotencyKey, input.key)));
      if (!first) throw new Error("conflicting webhook event vanished");
      return {
        eventId: first.id,
        duplicate: true,
        answer: { status: first.responseStatus, body: first.responseBody, contentType: first.responseContentType },
      };
    }));
  } catch (error) {
    throw new StorageError(error);
  }
}

/** Puts an event back to `pending` and queues it again (management API replay). */
export async function replayEvent(deps: Deps, eventId: number): Promise<boolean> {
  return deps.db.transaction(async (tx) => {
    const rows = await tx.update(webhookEvents)
      .set({ status: "pending", lastError: null, processedAt: null })
      .where(eq(webhookEvents.id, eventId)).returning({ id: webhookEvents.id });
    if (rows.length === 0) return false;
    await enqueue(tx, "process-webhook", { eventId, replay: true }, { jobKey: `event:${eventId}` });
    return true;
  });
}
