import type Stripe from "stripe";
import type { Deps } from "../deps";
import type { Window } from "../domain/reconcile";
import { STRIPE_EVENT_TYPES, STRIPE_RECEIVED } from "../domain/webhooks";
import { type Budget, call } from "./calls";
import type { Progress } from "./checkpoints";
import { storedKeys, storeFound } from "./store";
import { callFailed, type ListResult, storeFailed } from "./twilio-inbound";

/** Stripe's largest page. */
const MAX_PAGE = 100;

/**
 * Item 3 of reconciliation: lists the events of the types Switchboard handles created in `window` (newest first,
 * `starting_after` paging, resuming at `cursor`) and stores every event id not stored yet, as the webhook would
 * have (the event as the API returns it, no signature: it came from Stripe's API over TLS with our key), marked
 * `reconcile`. `save` records progress after each stored page; a failed store ends the listing there.
 */
export async function listStripeEvents(
  deps: Deps,
  budget: Budget,
  target: { window: Window; cursor: string | null; note: string },
  save: (progress: Progress) => Promise<void>,
): Promise<ListResult> {
  const stripe = deps.stripe!;
  const { window } = target;
  const result: ListResult = { outcome: { kind: "complete" }, checked: 0, found: [] };
  let cursor = target.cursor;
  for (;;) {
    const resumed = cursor !== null;
    const page = await call<Stripe.ApiList<Stripe.Event>>(budget, () => stripe.events.list({
      types: [...STRIPE_EVENT_TYPES],
      created: { gte: Math.floor(window.from.getTime() / 1000), lte: Math.floor(window.until.getTime() / 1000) },
      limit: Math.min(deps.config.RECONCILE_PAGE_SIZE, MAX_PAGE),
      ...(cursor ? { starting_after: cursor } : {}),
    }));
    if (page.kind === "exhausted") return { ...result, outcome: { kind: "partial" } };
    if (page.kind === "failed") return { ...result, outcome: callFailed(page.failure, resumed) };
    const events = page.value.data;
    result.checked += events.length;
    const known = await storedKeys(deps, "stripe", events.map((e) => e.id));
    // Oldest first, as Stripe would have sent them.
    for (const event of events.filter((e) => !known.has(e.id)).reverse()) {
      try {
        const found = await storeFound(deps, {
          provider: "stripe", kind: "event", key: event.id, rawBody: JSON.stringify(event), answer: STRIPE_RECEIVED,
          note: target.note,
        });
        if (found) result.found.push(found);
      } catch (error) {
        return { ...result, outcome: storeFailed(error) };
      }
    }
    const last = events.at(-1);
    if (!page.value.has_more || !last) {
      await save({ kind: "done", checkpointAt: window.until });
      return result;
    }
    cursor = last.id;
    await save({ kind: "resume", window, cursor });
  }
}
