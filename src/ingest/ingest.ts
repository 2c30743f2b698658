import { and, eq, inArray, type SQL, sql } from "drizzle-orm";
import { webhookEvents } from "../../db/schema";
import type { Config } from "../config";
import { type Db, type Executor, isConnectionError, isTransactionAbort, retryOnStaleConnection, type Tx } from "../db";
import type { Answer, EventSource, Provider } from "../domain/webhooks";
import { AppError, StorageError } from "../errors";
import { enqueue } from "../queue";
import { createGroupCommit, type GroupCommit } from "./group-commit";
import type { Settled } from "../settled";

/** Decides the answer inside the ingest transaction; it may write rows that commit with the event. */
export type Decide = (tx: Tx, eventId: number) => Promise<Answer>;

export interface IngestInput {
  provider: Provider;
  /** The provider's idempotency key (Stripe event id, MessageSid, MessageSid:MessageStatus). */
  key: string;
  headers: Headers;
  rawBody: string;
  /** The patient's number (E.164) for the management API's search by phone; absent for Stripe. */
  phone?: string;
  /**
   * The answer to give, or the decision of it, which runs only for the first delivery (a retry gets the stored one).
   */
  answer: Answer | Decide;
  receivedAt: number;
  /** `reconcile` for an event found by asking the provider (src/reconcile/); default `webhook`. */
  source?: EventSource;
  /** Why a reconciled event was fetched; kept on the event for the event log and the console. */
  sourceNote?: string;
}

export interface IngestResult {
  eventId: number;
  duplicate: boolean;
  /** For a duplicate, the answer stored with the first delivery. */
  answer: Answer;
}

export type IngestBatcher = GroupCommit<IngestInput, IngestResult>;

/**
 * The SPEC 2 invariant in one place: the raw event and the job that processes it are committed in one
 * transaction before any 2xx. A retried delivery finds its row and gets the first answer back.
 * Requests arriving together share that transaction (group commit, see group-commit.ts and writeIngestBatch);
 * each is answered only after the commit, with its own outcome.
 * Throws StorageError when the database cannot take the write.
 */
export async function ingest(deps: { ingestBatcher: IngestBatcher }, input: IngestInput): Promise<IngestResult> {
  try {
    return await deps.ingestBatcher.submit(input);
  } catch (error) {
    throw error instanceof StorageError ? error : new StorageError(error);
  }
}

type WriteDeps = { db: Db; config: Pick<Config, "INGEST_JOB_BATCH"> };
type BatchConfig = "INGEST_BATCH_MAX" | "INGEST_BATCH_WAIT_MS" | "INGEST_BATCH_IN_FLIGHT" | "INGEST_WRITE_TIMEOUT_MS";

/** The batch writer behind `ingest`, configured from INGEST_BATCH_*; one per Deps. */
export function createIngestBatcher(
  deps: { db: Db; config: Pick<Config, BatchConfig | "INGEST_JOB_BATCH"> },
): IngestBatcher {
  const { config } = deps;
  return createGroupCommit(
    // Safe to repeat: a second run finds the first one's rows if its commit landed (and answers them as stored).
    (inputs: IngestInput[]) => retryOnStaleConnection(() => writeIngestBatch(deps, inputs)),
    {
      maxBatch: config.INGEST_BATCH_MAX,
      maxWaitMs: config.INGEST_BATCH_WAIT_MS,
      maxInFlight: config.INGEST_BATCH_IN_FLIGHT,
      splitOnError: (error) => !isConnectionError(error),
      writeTimeoutMs: config.INGEST_WRITE_TIMEOUT_MS,
    },
  );
}

const identity = (i: { provider: string; key: string }) => `${i.provider}\u0000${i.key}`;

/** Which deliveries of a batch write: the first of each key. A later one with the same key is its duplicate. */
export function dedupe(inputs: readonly { provider: string; key: string }[]) {
  const writerOf = new Map<string, number>();
  /** index of a duplicate → index of the delivery that writes for it */
  const duplicateOf = new Map<number, number>();
  inputs.forEach((input, i) => {
    const writer = writerOf.get(identity(input));
    if (writer === undefined) writerOf.set(identity(input), i);
    else duplicateOf.set(i, writer);
  });
  return { writers: [...writerOf.values()], duplicateOf };
}

const REDACTED_HEADERS = new Set(["stripe-signature", "x-twilio-signature", "authorization", "cookie"]);

export function redactHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = REDACTED_HEADERS.has(name.toLowerCase()) ? "[redacted]" : value;
  });
  return out;
}

/** A delivery's webhook_events row, named as the table names its columns (the insert reads it as JSON). */
export function toEventRow(input: IngestInput, answer: Answer, now = performance.now()) {
  return {
    provider: input.provider,
    idempotency_key: input.key,
    phone: input.phone ?? null,
    provider_token: input.headers.get("i-twilio-idempotency-token"),
    headers: redactHeaders(input.headers),
    raw_body: input.rawBody,
    response_status: answer.status,
    response_body: answer.body,
    response_content_type: answer.contentType,
    response_ms: Math.round(now - input.receivedAt),
    source: input.source ?? "webhook",
    source_note: input.sourceNote ?? null,
  };
}
type EventRow = ReturnType<typeof toEventRow>;

type Written = Settled<IngestResult> | undefined;

/**
 * Writes many deliveries and returns each one's outcome, in order. The first delivery of each key writes, by one
 * of two paths: a fixed answer (the common case) or an answer decided while writing. A writer that inserted
 * nothing met an earlier delivery and gets the answer stored with it; a later delivery of a key in the same batch
 * gets its writer's outcome. Throws when a write fails as a whole; what it committed before is found again by a
 * retry (idempotent).
 */
export async function writeIngestBatch(deps: WriteDeps, inputs: IngestInput[]): Promise<Settled<IngestResult>[]> {
  const { writers, duplicateOf } = dedupe(inputs);
  const written = new Map<number, Written>();
  const write = async (indexes: number[], path: (inputs: IngestInput[]) => Promise<Written[]>) => {
    const outcomes = indexes.length > 0 ? await path(indexes.map((i) => inputs[i]!)) : [];
    indexes.forEach((i, n) => written.set(i, outcomes[n]));
  };
  await write(writers.filter((i) => !decides(inputs[i]!)), (fixed) => writeFixed(deps, fixed));
  await write(writers.filter((i) => decides(inputs[i]!)), (deciding) => writeDeciding(deps, deciding));
  await write(writers.filter((i) => written.get(i) === undefined), (earlier) => storedAnswers(deps.db, earlier));
  return inputs.map((_, i) => {
    const writer = duplicateOf.get(i);
    if (writer === undefined) return written.get(i)!;
    const led = written.get(writer)!;
    return led.ok ? { ok: true, value: { ...led.value, duplicate: true } } : led;
  });
}

const decides = (input: IngestInput) => typeof input.answer === "function";
const stored = (eventId: number, answer: Answer): Settled<IngestResult> =>
  ({ ok: true, value: { eventId, duplicate: false, answer } });

/**
 * Fixed answers: one statement, so one implicit transaction and one round trip, inserts every new event and adds
 * its jobs. Undefined for a delivery whose key was stored before.
 */
async function writeFixed(deps: WriteDeps, inputs: IngestInput[]): Promise<Written[]> {
  const rows = inputs.map((input) => toEventRow(input, input.answer as Answer));
  const inserted = await deps.db.execute<{ id: string; provider: string; key: string }>(sql`
    with inserted as (${insertEvents(rows)}),
      jobs as (select count(*) from ${addProcessJobs(sql`inserted`, deps.config.INGEST_JOB_BATCH)})
    select inserted.id, inserted.provider, inserted.idempotency_key as key from inserted, jobs`);
  const ids = new Map(inserted.map((r) => [identity(r), Number(r.id)]));
  return inputs.map((input) => {
    const id = ids.get(identity(input));
    return id === undefined ? undefined : stored(id, input.answer as Answer);
  });
}

/**
 * Deciding answers: one transaction, a savepoint per decision (one that fails takes back only its own writes,
 * and fails alone), then the jobs of the events it stored.
 */
async function writeDeciding(deps: WriteDeps, inputs: IngestInput[]): Promise<Written[]> {
  return deps.db.transaction(async (tx) => {
    const outcomes: Written[] = [];
    for (const input of inputs) outcomes.push(await decideInSavepoint(tx, input));
    const ids = outcomes.flatMap((o) => (o?.ok ? [o.value.eventId] : []));
    if (ids.length > 0) {
      const events = sql`(select value::bigint as id from json_array_elements_text(${JSON.stringify(ids)}::json)) e`;
      await tx.execute(sql`select 1 from ${addProcessJobs(events, deps.config.INGEST_JOB_BATCH)}`);
    }
    return outcomes;
  });
}

async function decideInSavepoint(tx: Tx, input: IngestInput): Promise<Written> {
  try {
    return await tx.transaction(async (savepoint) => {
      // Until the answer is known the row says "undecided".
      const [row] = await savepoint.execute<{ id: string }>(insertEvents([toEventRow(input, UNDECIDED)]));
      if (!row) return undefined;
      const eventId = Number(row.id);
      const answer = await (input.answer as Decide)(savepoint, eventId);
      await savepoint.update(webhookEvents).set({
        responseStatus: answer.status,
        responseBody: answer.body,
        responseContentType: answer.contentType,
        responseMs: Math.round(performance.now() - input.receivedAt),
      }).where(eq(webhookEvents.id, eventId));
      return stored(eventId, answer);
    });
  } catch (error) {
    // A lost connection, or a deadlock/serialization failure that aborted the whole transaction: the batch fails
    // and group commit writes its items again one by one, instead of answering this one 5xx.
    if (isConnectionError(error) || isTransactionAbort(error)) throw error;
    return { ok: false, error };
  }
}

const UNDECIDED: Answer = { status: 500, body: "", contentType: "text/plain" };

/** The answers stored with the earlier deliveries of these keys, for their retries. */
async function storedAnswers(db: Db, inputs: IngestInput[]): Promise<Settled<IngestResult>[]> {
  const rows = await db.select({
    id: webhookEvents.id, provider: webhookEvents.provider, key: webhookEvents.idempotencyKey,
    status: webhookEvents.responseStatus, body: webhookEvents.responseBody,
    contentType: webhookEvents.responseContentType,
  }).from(webhookEvents).where(and(
    inArray(webhookEvents.provider, [...new Set(inputs.map((i) => i.provider))]),
    inArray(webhookEvents.idempotencyKey, inputs.map((i) => i.key)),
  ));
  const byIdentity = new Map(rows.map((r) => [identity(r), r]));
  return inputs.map((input) => {
    const row = byIdentity.get(identity(input));
    if (!row) return { ok: false, error: new Error("conflicting webhook event vanished") };
    const answer = { status: row.status, body: row.body, contentType: row.contentType };
    return { ok: true, value: { eventId: row.id, duplicate: true, answer } };
  });
}

/** New events from their rows, sent as one JSON parameter (cheap to build for hundreds); stored keys are skipped. */
const insertEvents = (rows: EventRow[]) => sql`
  insert into webhook_events (provider, idempotency_key, phone, provider_token, headers, raw_body, response_status,
    response_body, response_content_type, response_ms, source, source_note)
  select * from json_to_recordset(${JSON.stringify(rows)}::json) as r(provider text, idempotency_key text,
    phone text, provider_token text, headers jsonb, raw_body text, response_status int, response_body text,
    response_content_type text, response_ms int, source text, source_note text)
  on conflict do nothing
  returning id, provider, idempotency_key`;

/**
 * process-webhook jobs for new events (the `id` column of `events`), added by the caller's statement: one batch job
 * of `perJob` events each, or with `perJob` 1 a `{eventId}` job each, keyed as a replay keys it.
 */
const addProcessJobs = (events: SQL, perJob: number) => sql`graphile_worker.add_jobs(array(
  select json_populate_record(null::graphile_worker.job_spec, json_build_object(
    'identifier', 'process-webhook',
    'payload', case when ${perJob}::int = 1 then json_build_object('eventId', min(id))
      else json_agg(json_build_object('eventId', id) order by id) end,
    'job_key', case when ${perJob}::int = 1 then 'event:' || min(id) end))
  from (select id, (row_number() over (order by id) - 1) / ${perJob}::int as chunk from ${events}) chunks
  group by chunk))`;

/** Puts an event back to `pending` and queues it again (management API and console replay). */
export async function replayEvent(deps: { db: Db }, eventId: number): Promise<boolean> {
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
    throw new AppError(
      409, "purged", "this event's body was removed by retention (RETENTION_DAYS); it cannot be replayed",
    );
  }
  await tx.update(webhookEvents)
    .set({ status: "pending", lastError: null, processedAt: null })
    .where(eq(webhookEvents.id, eventId));
  await enqueue(tx, "process-webhook", { eventId, replay: true }, { jobKey: `event:${eventId}` });
  return true;
}
