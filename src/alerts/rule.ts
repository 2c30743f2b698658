import { sql } from "drizzle-orm";
import type { IncidentExample } from "../../db/schema";
import type { Config } from "../config";
import type { Executor } from "../db";
import type { Provider } from "../domain/webhooks";

export type { IncidentExample };

/** What a rule concluded about one key (a provider, an endpoint, an error code, `all`) at one evaluation. */
export interface Assessment {
  key: string;
  firing: boolean;
  /** One line: what is wrong and how badly (or that it is fine again). */
  title: string;
  figures: Record<string, unknown>;
  examples: IncidentExample[];
}

/**
 * An alert rule: `read` gathers its figures from the database in one query (the database's clock decides the
 * window), `decide` is a pure function of those figures and the configured thresholds. A key with an open incident
 * that `decide` no longer reports as firing (or no longer reports at all) is resolved.
 */
export interface Rule<F = unknown> {
  name: string;
  /** What the rule watches, for the people notified. */
  description: string;
  /** Where to look first when it fires. */
  hint: string;
  /** Rules that are off by default say so; an off rule also resolves what it had open. */
  enabled?(config: Config): boolean;
  read(db: Executor, config: Config): Promise<F>;
  decide(figures: F, config: Config): Assessment[];
}

/** The providers whose webhooks the inbound rules watch. */
export const WATCHED_PROVIDERS: Provider[] = ["stripe", "twilio-sms", "twilio-status", "twilio-debugger"];

/** A share as a percentage with one decimal, 0 when there is nothing to divide. */
export const percent = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 1000) / 10 : 0);

/** A list of plain names (no commas) as one text[] parameter: drizzle would spread an array into a row. */
export const names = (list: readonly string[]) => sql`string_to_array(${list.join(",")}, ',')`;

/** Rows of `db.execute` as plain objects. */
export async function rows<T>(db: Executor, query: Parameters<Executor["execute"]>[0]): Promise<T[]> {
  return [...(await db.execute(query))] as T[];
}
