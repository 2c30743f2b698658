import type { BenchDatabase } from "./database";

/** What every cell of a run shares. */
export interface Bench {
  db: BenchDatabase;
  /** Path of the wrk binary. */
  wrk: string;
  /** Temporary directory for the requests files and wrk's summaries. */
  workDir: string;
  /** Prints a line and keeps it for bench/results/latest.txt. */
  say(line: string): void;
}

/** CPU ms per 1,000 of `n` (requests or events). */
export const per1k = (seconds: number, n: number) => Number(((seconds / Math.max(1, n)) * 1e6).toFixed(1));
