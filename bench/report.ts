// The console lines of `npm run bench` (also kept in bench/results/latest.txt).
import { effectProblems, type Effects } from "./effects";
import type { PeakResult } from "./peak";
import type { Search, Step } from "./sustained";

export const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || !Number.isFinite(n) ? "-" : n.toLocaleString("en-US", {
    minimumFractionDigits: digits, maximumFractionDigits: digits,
  });
const cpu = (c: Record<string, number>) => Object.entries(c).map(([k, v]) => `${k} ${fmt(v)}`).join(" ");

export function peakLine(r: PeakResult): string {
  const d = r.delivery;
  const dup = d.twoJobs + d.reprocessed;
  return `${r.id.padEnd(22)} accepted/s ${fmt(r.acceptedPerSec).padStart(6)}  ack p50 ${fmt(r.latencyMs.p50, 1)} `
    + `p99 ${fmt(r.latencyMs.p99, 1)} ms  non-2xx ${r.non2xx} socket errors ${r.socketErrors}  lost ${d.lost} `
    + `duplicated ${dup}${d.missing > 0 ? ` (no row for ${d.missing} of ${d.unanswered} unanswered)` : ""}`
    + `${r.exhausted ? "  EXHAUSTED (raise BENCH_RATE_CAP)" : ""}\n${"".padEnd(22)} cpu ms/1k ${cpu(r.cpuMsPer1k)}`;
}

export function effectsText(e: Effects, pendingIsExpected = false): string {
  const p = effectProblems(e);
  const notDone = e.reasons.filter((r) => !(pendingIsExpected && r.status === "pending"));
  const parts = [`effects: ${p.missing} missing or stray, ${p.doubled} doubled`];
  if (notDone.length > 0) {
    parts.push(`not processed: ${notDone.map((r) => `${r.n} ${r.status}${r.reason ? ` (${r.reason})` : ""}`)
      .join("; ")}`);
  }
  return parts.join("; ");
}

export function drainLine(r: PeakResult): string {
  const d = r.drain!;
  const ingest = r.cpuMsPer1k.server + r.cpuMsPer1k.postgres;
  const processing = d.cpuMsPer1kProcessed.worker + d.cpuMsPer1kProcessed.postgres;
  const pad = "".padEnd(22);
  return `${pad} worker drain: processed/s ${fmt(d.processedPerSec)} (${fmt(d.processed)} in ${fmt(d.seconds, 1)} s, `
    + `${d.drained ? "drained" : `${fmt(d.pending)} left at the limit`})  cpu ms/1k processed worker `
    + `${fmt(d.cpuMsPer1kProcessed.worker)} postgres ${fmt(d.cpuMsPer1kProcessed.postgres)}\n`
    + `${pad} per event: processing ${fmt(processing)} vs ingest ${fmt(ingest)} cpu ms/1k (worker + postgres vs web + `
    + `postgres)  ${effectsText(d.effects, true)}`;
}

/** Two lines: the rates, times and verdict; then CPU per process and the effects check. */
export function stepLine(kind: string, provider: string, s: Step): string {
  const verdict = s.pass ? "pass" : `FAIL: ${s.why.join(", ")}`;
  return `  ${kind} ${provider} ${fmt(s.rate)}/s → ${verdict}\n`
    + `    offered ${fmt(s.achievedRate)}/s accepted ${fmt(s.acceptedPerSec)}/s processed ${fmt(s.processedPerSec)}/s  `
    + `lag p50 ${fmt(s.lagP50Ms)} p99 ${fmt(s.lagP99Ms)} ms  backlog max ${fmt(s.backlogMax)} (last third: max `
    + `${fmt(s.backlogLastThirdMax)}, trend ${fmt(s.backlogGrowthPerSec)}/s)  ack p50 ${fmt(s.ackMs.p50, 1)} p99 `
    + `${fmt(s.ackMs.p99, 1)} ms  drain ${s.drained ? `${fmt(s.drainSeconds, 1)} s` : "NOT DONE"}\n`
    + `    cpu ms/1k ${cpu(s.cpuMsPer1k)}  ${effectsText(s.effects)}`;
}

export function searchLine(s: Search): string {
  const upper = s.firstFail === undefined ? "no step failed" : `${fmt(s.firstFail)}/s failed`;
  const ack = s.ackP99AtRate === undefined ? "" : `, ack p99 ${fmt(s.ackP99AtRate, 1)} ms at that rate`;
  const ratio = s.ratioToPlain === undefined ? "" : ` = ${fmt(s.ratioToPlain, 2)}× a @${s.connections}`;
  return `${s.kind} ${s.provider} @${s.connections}: sustained ${fmt(s.sustainedRate)}/s${ratio} (${upper}${ack}; `
    + `${s.steps.length} steps)`;
}
