import { sql } from "drizzle-orm";
import type { Deps } from "../deps";
import { firstCheckpoint, listingWindow, type Window } from "../domain/reconcile";
import { callBudget } from "./calls";
import { type Checkpoint, claimPass, type PassKey, releasePass, saveProgress } from "./checkpoints";
import { checkSmsStatuses } from "./sms-status";
import { countError, type PassReport } from "./store";
import { listStripeEvents } from "./stripe-events";
import { type ListResult, listInboundMessages } from "./twilio-inbound";

export type Pass = PassReport["pass"];

/**
 * One scheduled run of a pass (the cron tasks in src/jobs/reconcile.ts): each pass has its own call budget,
 * resumes at its checkpoint and holds its lease while it runs, so any number of workers and an overlapping
 * run do the work once. A provider error ends the pass for this run, without failing it; the pass backs off.
 */
export async function reconcileDue(deps: Deps, pass: Pass, signal?: AbortSignal): Promise<PassReport[]> {
  const budget = callBudget(deps.config.RECONCILE_MAX_CALLS, signal);
  if (pass === "stripe") {
    if (!deps.stripe) return [notConfigured(pass)];
    const key: PassKey = { provider: "stripe", account: stripeMode(deps), number: "" };
    const list: Lister = (target, save) => listStripeEvents(deps, budget, { ...target, note: STRIPE_NOTE }, save);
    return [await checkpointed(deps, key, (cp) => listFrom(deps, cp, undefined, list))];
  }
  if (!deps.twilio) return [notConfigured(pass)];
  const account = deps.config.TWILIO_ACCOUNT_SID!;
  if (pass === "twilio-status") {
    const key: PassKey = { provider: "twilio-status", account, number: "" };
    return [await checkpointed(deps, key, () => checkSmsStatuses(deps, budget, { kind: "due" }))];
  }
  const reports: PassReport[] = [];
  for (const { address, since } of await clinicNumbers(deps, account)) {
    if (budget.used >= budget.max) break;
    const key: PassKey = { provider: "twilio-sms", account, number: address };
    const list: Lister = (target, save) =>
      listInboundMessages(deps, budget, { ...target, address, note: inboundNote(address) }, save);
    const report = { ...await checkpointed(deps, key, (cp) => listFrom(deps, cp, since, list)), number: address };
    reports.push(report);
    if (providerTrouble(report)) break;
  }
  return reports;
}

/**
 * POST /v1/reconcile: every pass over `window` now, without checkpoints or leases (the ingest keys make a run
 * that overlaps a scheduled one harmless). Each pass gets RECONCILE_MAX_CALLS calls.
 */
export async function reconcileRange(deps: Deps, window: Window): Promise<PassReport[]> {
  const budget = () => callBudget(deps.config.RECONCILE_MAX_CALLS);
  const nowhere = async () => {};
  const statuses = () => checkSmsStatuses(deps, budget(), { kind: "range", window });
  const reports = [await guarded(deps, "twilio-status", statuses)];
  if (deps.twilio) {
    const twilio = budget();
    for (const { address } of await clinicNumbers(deps, deps.config.TWILIO_ACCOUNT_SID!)) {
      const target = { address, window, cursor: null, note: `POST /v1/reconcile: ${inboundNote(address)}` };
      const report = await guarded(deps, "twilio-sms", async () =>
        toReport("twilio-sms", await listInboundMessages(deps, twilio, target, nowhere)));
      reports.push({ ...report, number: address });
      if (providerTrouble(report)) break;
    }
  } else {
    reports.push(notConfigured("twilio-sms"));
  }
  const target = { window, cursor: null, note: `POST /v1/reconcile: ${STRIPE_NOTE}` };
  const events = async () => toReport("stripe", await listStripeEvents(deps, budget(), target, nowhere));
  reports.push(deps.stripe ? await guarded(deps, "stripe", events) : notConfigured("stripe"));
  return reports;
}

const STRIPE_NOTE = "found in Stripe's event list; no webhook had delivered it";
/** Twilio is throttling or failing: the other numbers wait for the next run instead of adding to it. */
const providerTrouble = (report: PassReport) => report.cause === "throttled" || report.cause === "unavailable";
const notConfigured = (pass: Pass): PassReport => ({ pass, outcome: "not_configured", checked: 0, found: [] });
const inboundNote = (address: string) => `found in Twilio's Messages list for ${address}; no webhook had delivered it`;
/** Live and test mode are separate event streams with separate checkpoints. */
const stripeMode = (deps: Deps) => (deps.config.STRIPE_SECRET_KEY!.includes("_live_") ? "live" : "test");

type Lister = (
  target: { window: Window; cursor: string | null },
  save: (progress: Parameters<typeof saveProgress>[2]) => Promise<void>,
) => Promise<ListResult>;

/**
 * Lists from where the checkpoint says: the saved cursor and its window, else a new window from the checkpoint
 * (on the first run, from a start it stores first).
 */
async function listFrom(deps: Deps, cp: Checkpoint, notBefore: Date | undefined, list: Lister): Promise<PassReport> {
  const key: PassKey = { provider: cp.provider as PassKey["provider"], account: cp.account, number: cp.number };
  const save = (progress: Parameters<typeof saveProgress>[2]) => saveProgress(deps, key, progress);
  const pass = key.provider;
  if (cp.cursor && cp.windowFrom && cp.windowUntil) {
    const result = await list({ window: { from: cp.windowFrom, until: cp.windowUntil }, cursor: cp.cursor }, save);
    const { outcome } = result;
    if (outcome.kind === "failed" && outcome.resumed && outcome.cause === "refused") await save({ kind: "restart" });
    return toReport(pass, result);
  }
  const now = deps.clock.now();
  let checkpointAt = cp.checkpointAt;
  if (!checkpointAt) {
    checkpointAt = firstCheckpoint(now, deps.config.RECONCILE_INTERVAL_MINUTES, notBefore);
    await save({ kind: "done", checkpointAt });
  }
  const window = listingWindow(checkpointAt, now, deps.config, notBefore);
  if (window.kind === "none") return { pass, outcome: "complete", checked: 0, found: [] };
  return toReport(pass, await list({ window, cursor: null }, save));
}

function toReport(pass: Pass, result: ListResult): PassReport {
  const { outcome } = result;
  return {
    pass, outcome: outcome.kind, checked: result.checked, found: result.found,
    ...(outcome.kind === "failed" ? { cause: outcome.cause, error: outcome.error } : {}),
  };
}

/** Runs a pass under its lease; a pass another run holds, or one backing off after failures, is skipped. */
async function checkpointed(
  deps: Deps,
  key: PassKey,
  run: (cp: Checkpoint) => Promise<PassReport>,
): Promise<PassReport> {
  const claim = await claimPass(deps, key);
  const pass = key.provider;
  if (claim.kind !== "claimed") {
    const waiting = claim.kind === "backing_off" ? { error: `backing off until ${claim.until.toISOString()}` } : {};
    return { pass, outcome: claim.kind, checked: 0, found: [], ...waiting };
  }
  let report: PassReport | undefined;
  try {
    report = await guarded(deps, pass, () => run(claim.checkpoint), key.number || undefined);
  } finally {
    const error = report === undefined ? "run ended by an error"
      : report.outcome === "failed" ? report.error : undefined;
    await releasePass(deps, key, { found: report?.found.length ?? 0, error });
  }
  return report;
}

/** Any throw (the database, a bug) becomes a failed report; every failed pass is counted and logged. */
async function guarded(deps: Deps, pass: Pass, run: () => Promise<PassReport>, number?: string): Promise<PassReport> {
  let report: PassReport;
  try {
    report = await run();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    report = { pass, outcome: "failed", checked: 0, found: [], cause: "error", error: message };
  }
  if (report.outcome === "failed") countError(deps, pass, report.error ?? "failed", number);
  return report;
}

/**
 * Every address inbound SMS reach the clinics on: each clinic's number, and its whatsapp: address once the clinic
 * has a WhatsApp conversation. Least recently reconciled first, so a tight call budget still reaches every number
 * in turn.
 */
async function clinicNumbers(deps: Pick<Deps, "db">, account: string): Promise<{ address: string; since: Date }[]> {
  const rows = await deps.db.execute<{ phone: string; created_at: string; whatsapp: boolean }>(sql`
    select c.phone, c.created_at,
      exists (select 1 from conversations v where v.clinic_id = c.id and v.channel = 'WHATSAPP') as whatsapp
    from clinics c
    left join reconcile_checkpoints k on k.provider = 'twilio-sms' and k.account = ${account} and k.number = c.phone
    order by k.last_run_at nulls first, c.created_at`);
  return rows.flatMap((r) => {
    const since = new Date(r.created_at);
    const sms = { address: r.phone, since };
    return r.whatsapp ? [sms, { address: `whatsapp:${r.phone}`, since }] : [sms];
  });
}
