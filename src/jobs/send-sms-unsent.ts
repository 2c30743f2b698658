import { asc, eq, sql } from "drizzle-orm";
import { patients, smsMessages } from "../../db/schema";
import { anyOfJson } from "../db";
import type { Deps } from "../deps";
import { entryOutcomes } from "../settled";
import { CLAIMABLE, NOT_CONFIGURED, runningJobs, SendUnderWay, UNKNOWN_NOT_LOOKED_UP } from "./send-sms-attempt";

/** An SMS recorded without being sent, and why. */
type Unsent = { id: string; status: "logged" | "skipped_opted_out"; reason: string };

/**
 * A send-sms batch job where no Twilio client is configured (a development install, the benchmark): nothing can be
 * sent, so each SMS comes to what claimSend (send-sms.ts) decides for it without Twilio, and all of them in ONE
 * transaction, a statement for the rows (locked in id order, with their patients' opt-out), one for the claims of
 * running jobs and one for the rows recorded `logged` or `skipped_opted_out`, where the job would otherwise spend a
 * transaction of two statements per SMS. An `unknown` row (an earlier run with Twilio may have sent it) stays as it
 * is, for a run that can look it up; a row another running job has claimed makes its entry retry. Lines and metrics
 * follow the commit (reportNotSent). One promise per entry, as graphile-worker's batch jobs take them.
 */
export async function recordUnsent(
  deps: Pick<Deps, "db" | "clock" | "metrics" | "log">, entries: string[], jobId: string,
): Promise<Promise<void>[]> {
  const ids = [...new Set(entries)];
  const decided = await deps.db.transaction(async (tx) => {
    const found = await tx.select({ sms: smsMessages, optedOut: patients.optedOut }).from(smsMessages)
      .leftJoin(patients, eq(patients.id, smsMessages.patientId))
      .where(sql`${smsMessages.id} = ${anyOfJson(ids, "uuid")}`).orderBy(asc(smsMessages.id))
      .for("update", { of: smsMessages });
    const claimable = found.filter(({ sms }) => !sms.twilioSid && CLAIMABLE.has(sms.status));
    const claimers = [...new Set(claimable.flatMap(({ sms }) =>
      (sms.claimedBy && sms.claimedBy !== jobId ? [sms.claimedBy] : [])))];
    const running = claimers.length === 0 ? new Set<string>() : await runningJobs(tx, claimers);
    const busy = new Map<string, string>();
    const unknown: string[] = [];
    const skipped: Unsent[] = [];
    for (const { sms, optedOut } of claimable) {
      if (sms.claimedBy && running.has(sms.claimedBy)) busy.set(sms.id, sms.claimedBy);
      else if (sms.status === "unknown") unknown.push(sms.id);
      else if (optedOut) skipped.push({ id: sms.id, status: "skipped_opted_out", reason: "patient opted out" });
      else skipped.push({ id: sms.id, status: "logged", reason: NOT_CONFIGURED });
    }
    if (skipped.length > 0) {
      await tx.execute(sql`update sms_messages s set status = v.status, error_message = v.reason,
          updated_at = ${deps.clock.now().toISOString()}::timestamptz
        from json_to_recordset(${JSON.stringify(skipped)}::json) as v(id uuid, status text, reason text)
        where s.id = v.id and s.id = ${anyOfJson(skipped.map((row) => row.id), "uuid")}`);
    }
    return { busy, unknown, skipped };
  });
  reportNotSent(deps, decided.skipped, jobId);
  for (const smsId of decided.unknown) {
    deps.log.warn(UNKNOWN_NOT_LOOKED_UP, { smsId });
  }
  return entryOutcomes(entries, (id) => {
    const by = decided.busy.get(id);
    return by ? new SendUnderWay(by) : undefined;
  });
}

/**
 * A metric per SMS, and one info line for the job (a line each would be thousands a second when a storm of payments
 * queues its confirmations); each SMS, with its id and reason, at debug. The job's line names its SMS when it has
 * just one, as reportedRun (event-processor.ts) does for an event.
 */
function reportNotSent(deps: Pick<Deps, "metrics" | "log">, skipped: Unsent[], jobId: string) {
  if (skipped.length === 0) return;
  for (const row of skipped) {
    deps.metrics.smsSends.inc({ outcome: "skipped" });
    deps.log.debug("sms not sent", { smsId: row.id, reason: row.reason });
  }
  const logged = skipped.filter((row) => row.status === "logged").length;
  deps.log.info("send job: sms not sent", {
    jobId, sms: skipped.length, logged, skippedOptedOut: skipped.length - logged,
    ...(logged > 0 ? { loggedReason: NOT_CONFIGURED } : {}), ...(skipped.length === 1 ? { smsId: skipped[0]!.id } : {}),
  });
}
