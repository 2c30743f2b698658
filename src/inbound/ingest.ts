import { and, eq, inArray } from "drizzle-orm";
import { webhookEvents } from "../../db/schema";
import type { Deps } from "../deps";
import { isConnectionError, retryOnStaleConnection, type Sql } from "../db";
import { AppError, StorageError } from "../http/errors";
import { enqueue, enqueueMany, type Executor, type JobSpec, type Tx } from "../jobs/enqueue";
import { createGroupCommit, type GroupCommit, type Settled } from "./group-commit";

export type Provider = "stripe" | "twilio-sms" | "twilio-status" | "twilio-debugger";

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
  /** The patient's number (E.164) for the management API's search by phone; absent for Stripe. */
  phone?: string;
  /**
   * The answer to give, or a function that decides it inside the ingest transaction. The function runs only
   * for the first delivery (a retry gets the stored answer) and may write rows that commit with the event.
   */
  answer: Answer | ((tx: Tx, eventId: number) => Promise<Answer>);
  receivedAt: number;
  /** `reconcile` for an event found by asking the provider (src/reconcile/); default `webhook`. */
  source?: EventSource;
  /** Why a reconciled event was fetched; kept on the event for the event log and the console. */
  sourceNote?: string;
}

export type EventSource = "webhook" | "reconcile";

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
 * Requests arriving together share that transaction (group commit, see group-commit.ts and writeIngestBatch);
 * each is answered only after the commit, with its own outcome.
 * Throws StorageError when the database cannot take the write.
 */
export async function ingest(deps: Deps, input: IngestInput): Promise<IngestResult> {
  try {
    return await deps.ingestBatcher.submit(input);
  } catch (error) {
    throw error instanceof StorageError ? error : new StorageError(error);
  }
}

const isTransactionAbort = (error: unknown) =>
  [error, (error as { cause?: unknown })?.cause].some((e) => ["40P01", "40001"].includes((e as { code?: string })?.code ?? ""));

/** The batch writer behind `ingest`, configured from INGEST_BATCH_*; one per Deps. */
export function createIngestBatcher(deps: Pick<Deps, "db" | "sql" | "config">): GroupCommit<IngestInput, IngestResult> {
  return createGroupCommit(
    // Safe to repeat: a second run finds the first one's rows if its commit landed (and answers them as stored).
    (inputs) => retryOnStaleConnection(() => writeIngestBatch(deps, inputs)),
    {
      maxBatch: deps.config.INGEST_BATCH_MAX,
      maxWaitMs: deps.config.INGEST_BATCH_WAIT_MS,
      maxInFlight: deps.config.INGEST_BATCH_IN_FLIGHT,
      splitOnError: (error) => !isConnectionError(error),
      writeTimeoutMs: deps.config.INGEST_WRITE_TIMEOUT_MS,
    },
  );
}

const identity = (i: { provider: string; key: string }) => `${i.provider}\u0000${i.key}`;

const eventRow = (input: IngestInput, answer: Answer) => ({
  provider: input.provider,
  idempotencyKey: input.key,
  phone: input.phone ?? null,
  providerToken: input.headers.get("i-twilio-idempotency-token"),
  headers: redactHeaders(input.headers),
  rawBody: input.rawBody,
  responseStatus: answer.status,
  responseBody: answer.body,
  responseContentType: answer.contentType,
  responseMs: Math.round(performance.now() - input.receivedAt),
  source: input.source ?? "webhook",
  sourceNote: input.sourceNote ?? null,
});

/**
 * Writes many deliveries and returns each one's outcome, in order. Fixed answers (the common case): one
 * statement, so one implicit transaction and one round trip, inserts every new event and adds its job (CTE
 * into graphile_worker.add_jobs). Deciding answers: one transaction, a savepoint per decision (one that fails
 * takes back only its own writes), then their jobs. Keys that met an earlier delivery get its stored answer.
 * Throws when a write fails as a whole; what it committed before is found again by a retry (idempotent).
 */
export async function writeIngestBatch(deps: Pick<Deps, "db" | "sql" | "config">, inputs: IngestInput[]): Promise<Settled<IngestResult>[]> {
  const out: (Settled<IngestResult> | undefined)[] = new Array(inputs.length);
  // The first of several deliveries of one key in this batch writes; the others are its duplicates.
  const leaders = new Map<string, number>();
  const followers: [index: number, leader: number][] = [];
  inputs.forEach((input, i) => {
    const leader = leaders.get(identity(input));
    if (leader === undefined) leaders.set(identity(input), i);
    else followers.push([i, leader]);
  });
  const first = [...leaders.values()];
  const fixed = first.filter((i) => typeof inputs[i]!.answer !== "function");
  const deciding = first.filter((i) => typeof inputs[i]!.answer === "function");

  if (fixed.length > 0) {
    const ids = await insertFixed(deps.sql, fixed.map((i) => inputs[i]!), deps.config.INGEST_JOB_BATCH);
    for (const i of fixed) {
      const id = ids.get(identity(inputs[i]!));
      if (id !== undefined) out[i] = { ok: true, value: { eventId: id, duplicate: false, answer: inputs[i]!.answer as Answer } };
    }
  }
  if (deciding.length > 0) {
    await deps.db.transaction(async (tx) => {
      const created: number[] = [];
      for (const i of deciding) {
        try {
          const result = await tx.transaction((savepoint) => insertDecided(savepoint, inputs[i]!));
          if (!result) continue;
          created.push(result.eventId);
          out[i] = { ok: true, value: result };
        } catch (error) {
          // A lost connection, or a deadlock/serialization failure that aborted the whole transaction: the batch
          // fails and group commit writes its items again one by one, instead of answering this one 5xx.
          if (isConnectionError(error) || isTransactionAbort(error)) throw error;
          out[i] = { ok: false, error };
        }
      }
      await enqueueMany(tx, processJobs(created, deps.config.INGEST_JOB_BATCH));
    });
  }

  // Leaders that inserted nothing met an earlier delivery: they get the answer stored with it.
  const earlier = first.filter((i) => out[i] === undefined);
  if (earlier.length > 0) {
    const rows = await deps.db.select({
      id: webhookEvents.id, provider: webhookEvents.provider, key: webhookEvents.idempotencyKey,
      status: webhookEvents.responseStatus, body: webhookEvents.responseBody, contentType: webhookEvents.responseContentType,
    }).from(webhookEvents).where(and(
      inArray(webhookEvents.provider, [...new Set(earlier.map((i) => inputs[i]!.provider))]),
      inArray(webhookEvents.idempotencyKey, earlier.map((i) => inputs[i]!.key)),
    ));
    const byIdentity = new Map(rows.map((r) => [identity(r), r]));
    for (const i of earlier) {
      const row = byIdentity.get(identity(inputs[i]!));
      out[i] = row
        ? { ok: true, value: { eventId: row.id, duplicate: true, answer: { status: row.status, body: row.body, contentType: row.contentType } } }
        : { ok: false, error: new Error("conflicting webhook event vanished") };
    }
  }
  for (const [i, leader] of followers) {
    const led = out[leader]!;
    out[i] = led.ok ? { ok: true, value: { ...led.value, duplicate: true } } : led;
  }
  return out as Settled<IngestResult>[];
}

/**
 * New events and their jobs in one statement: the rows travel as one JSON parameter (cheap to build for a
 * batch of hundreds), and the jobs are added from the inserted ids in the same implicit transaction, one
 * batch job per `perJob` events (processWebhookBatch), or `{eventId}` jobs when perJob is 1.
 */
async function insertFixed(sql: Sql, inputs: IngestInput[], perJob: number): Promise<Map<string, number>> {
  const rows = inputs.map((input) => {
    const answer = input.answer as Answer;
    return {
      provider: input.provider, idempotency_key: input.key, phone: input.phone ?? null,
      provider_token: input.headers.get("i-twilio-idempotency-token"),
      headers: redactHeaders(input.headers), raw_body: input.rawBody, response_status: answer.status,
      response_body: answer.body, response_content_type: answer.contentType,
      response_ms: Math.round(performance.now() - input.receivedAt),
      source: input.source ?? "webhook", source_note: input.sourceNote ?? null,
    };
  });
  const inserted = await sql<{ id: string; provider: string; key: string }[]>`
    with input as (
      select * from json_to_recordset(${JSON.stringify(rows)}::json) as r(provider text, idempotency_key text,
        phone text, provider_token text, headers jsonb, raw_body text, response_status int, response_body text,
        response_content_type text, response_ms int, source text, source_note text)
    ), inserted as (
      insert into webhook_events (provider, idempotency_key, phone, provider_token, headers, raw_body, response_status,
        response_body, response_content_type, response_ms, source, source_note)
      select * from input
      on conflict do nothing
      returning id, provider, idempotency_key
    ), jobs as (
      select count(*) as n from graphile_worker.add_jobs(array(
        select case when ${perJob}::int = 1
          then row('process-webhook', json_build_object('eventId', min(id)), null, null, null, 'event:' || min(id), null, null)::graphile_worker.job_spec
          else row('process-webhook', json_agg(json_build_object('eventId', id) order by id), null, null, null, null, null, null)::graphile_worker.job_spec
        end
        from (select id, (row_number() over (order by id) - 1) / ${perJob}::int as chunk from inserted) chunks
        group by chunk
      ))
    )
    select inserted.id, inserted.provider, inserted.idempotency_key as key from inserted, jobs`;
  return new Map(inserted.map((r) => [identity(r), Number(r.id)]));
}

/** process-webhook jobs for new events: batch jobs of `perJob` events, or one `{eventId}` job each when 1. */
export function processJobs(eventIds: number[], perJob: number): JobSpec[] {
  if (perJob <= 1) return eventIds.map((id) => ({ task: "process-webhook", payload: { eventId: id }, jobKey: `event:${id}` }));
  const jobs: JobSpec[] = [];
  for (let i = 0; i < eventIds.length; i += perJob) {
    jobs.push({ task: "process-webhook", payload: eventIds.slice(i, i + perJob).map((eventId) => ({ eventId })) });
  }
  return jobs;
}

/** A deciding answer: the row, then the decision (which may write), then the answer it decided. */
async function insertDecided(tx: Tx, input: IngestInput): Promise<IngestResult | undefined> {
  // Until the answer is known the row says "undecided".
  const [row] = await tx.insert(webhookEvents).values(eventRow(input, UNDECIDED)).onConflictDoNothing()
    .returning({ id: webhookEvents.id });
  if (!row) return undefined;
  const answer = await (input.answer as (tx: Tx, eventId: number) => Promise<Answer>)(tx, row.id);
  await tx.update(webhookEvents).set({
    responseStatus: answer.status,
    responseBody: answer.body,
    responseContentType: answer.contentType,
    responseMs: Math.round(performance.now() - input.receivedAt),
  }).where(eq(webhookEvents.id, row.id));
  return { eventId: row.id, duplicate: false, answer };
}

/** Puts an event back to `pending` and queues it again (management API and console replay). */
export async function replayEvent(deps: Pick<Deps, "db">, eventId: number): Promise<boolean> {
  return deps.db.transaction((tx) => replayEventIn(tx, eventId));
}

/**
 * replayEvent inside the caller's transaction (the console records its audit row in the same one). False when there
 * is no such event; throws a 409 AppError when retention already emptied its body (nothing is left to process).
 */
export async function replayEventIn(tx: Executor, eventId: number): Promise<boolean> {
  const [found] = await tx.select({ purgedAt: webhookEvents.purgedAt }).from(webhookEvents)
    .where(eq(webhookEvents.id, eventId)).for("update");
  if (!found) return false;
  if (found.purgedAt) {
    throw new AppError(409, "purged", "this event's body was removed by retention (RETENTION_DAYS); it cannot be replayed");
  }
  await tx.update(webhookEvents)
    .set({ status: "pending", lastError: null, processedAt: null })
    .where(eq(webhookEvents.id, eventId));
  await enqueue(tx, "process-webhook", { eventId, replay: true }, { jobKey: `event:${eventId}` });
  return true;
}
