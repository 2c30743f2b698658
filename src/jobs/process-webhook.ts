import { Type as T } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { eq } from "drizzle-orm";
import type { Task } from "graphile-worker";
import { webhookEvents } from "../../db/schema";
import type { Deps } from "../deps";
import {
  PROCESSED_COLUMNS, type Processors, recordFailure, reported, reportedRun, runProcessor, type SetProcessors,
} from "./event-processor";
import { Batch } from "./process-webhook-batch";
import { batchTask } from "./process-webhook-gather";

const Single = T.Object({ eventId: T.Integer({ minimum: 1 }), replay: T.Optional(T.Boolean()) });

/**
 * Runs inbound events' processors and records each outcome in the same transaction as its effects.
 * Two payload forms: `{eventId}` (replays, single jobs) and `[{eventId}, ...]` (process-webhook-batch.ts, where a
 * provider's SetProcessor in `together` takes the events it can apply as a set).
 * A thrown error rolls the effects back, is recorded on the event, and graphile-worker retries the event.
 */
export function processWebhookTask(deps: Deps, processors: Processors, together: SetProcessors = {}): Task {
  const batches = batchTask(deps, { processors, together });
  return async (payload, helpers) => {
    if (Value.Check(Batch, payload)) return batches(payload, helpers);
    if (!Value.Check(Single, payload)) {
      deps.log.error("process-webhook: bad payload, giving up", { payload });
      return;
    }
    const { eventId } = payload;
    try {
      const result = await deps.db.transaction(async (tx) => {
        const [event] = await tx.select(PROCESSED_COLUMNS).from(webhookEvents).where(eq(webhookEvents.id, eventId))
          .for("update");
        if (!event || event.status !== "pending") return undefined;
        return { event, outcome: await runProcessor(deps, processors, tx, event) };
      });
      if (result) {
        reported(deps, result.event, result.outcome);
        reportedRun(deps, [result], 0);
      }
    } catch (error) {
      // The job's last attempt: the event ends `failed` (replayable) instead of staying `pending` forever.
      // graphile-worker stores the error text too, and Postgres refuses NUL in it.
      throw await recordFailure(deps, deps.db, eventId, error, helpers.job.attempts >= helpers.job.max_attempts);
    }
  };
}
