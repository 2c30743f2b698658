import { Elysia, t } from "elysia";
import type { Deps } from "../deps";
import { badRequest } from "../errors";
import { ErrorBody } from "../http/error-handler";
import { reconcileRange } from "../reconcile/run";
import type { Found, PassReport } from "../reconcile/store";
import { managementApi } from "./auth";
import { apiDetail, Time } from "./models";

/** The longest range one call may ask for: Twilio keeps messages 400 days by default (Stripe lists 30 days). */
const MAX_RANGE_DAYS = 400;
const Pass = t.Union([t.Literal("twilio-status"), t.Literal("twilio-sms"), t.Literal("stripe")]);

const ReconcileRequest = t.Object({
  since: Time("2026-11-20T08:00:00.000Z"),
  until: t.Optional(Time("2026-11-20T12:00:00.000Z")),
}, { description: "The range to reconcile; `until` defaults to now" });

const FoundEvent = t.Object({
  provider: t.String({ examples: ["twilio-status"] }),
  kind: t.Union([t.Literal("sms_status"), t.Literal("inbound_sms"), t.Literal("event")]),
  key: t.String({
    examples: ["SM0123456789abcdef0123456789abcdef:delivered"], description: "The idempotency key it was stored under",
  }),
  event_id: t.Integer({ description: "The stored webhook event (GET /v1/webhook-events/:id)" }),
  note: t.String({ examples: ["POST /v1/reconcile: Twilio reports delivered, Switchboard had sent"] }),
});
const PassResult = t.Object({
  pass: Pass,
  number: t.Optional(t.String({ examples: ["+15551234567"], description: "The clinic number listed (inbound SMS)" })),
  outcome: t.Union([
    t.Literal("complete"), t.Literal("partial"), t.Literal("failed"), t.Literal("busy"), t.Literal("backing_off"),
    t.Literal("not_configured"),
  ], { description: "partial: the call cap (RECONCILE_MAX_CALLS) ran out first; call again with a narrower range" }),
  checked: t.Integer({ description: "Provider records looked at" }),
  found: t.Integer({ description: "Events that were missing and are now stored" }),
  cause: t.Optional(t.String({ examples: ["throttled"] })),
  error: t.Optional(t.String()),
});
const ReconcileResult = t.Object({
  since: t.String({ format: "date-time" }),
  until: t.String({ format: "date-time" }),
  complete: t.Boolean({ description: "Every configured pass covered the whole range" }),
  passes: t.Array(PassResult),
  found: t.Array(FoundEvent),
});

const passResult = ({ found, ...rest }: PassReport) => ({ ...rest, found: found.length });
const foundEvent = ({ eventId, ...f }: Found) => ({ ...f, event_id: eventId });

export function reconcileRoutes(deps: Deps) {
  return new Elysia({ prefix: "/v1/reconcile" }).use(managementApi(deps))
    .post("", async ({ body }) => {
      const until = body.until ? new Date(body.until) : deps.clock.now();
      const since = new Date(body.since);
      if (!(since < until)) throw badRequest("since must be before until (or before now when until is not given)");
      if (until.getTime() - since.getTime() > MAX_RANGE_DAYS * 86_400_000) {
        throw badRequest(`at most ${MAX_RANGE_DAYS} days at once`);
      }
      const reports = await reconcileRange(deps, { from: since, until });
      return {
        since: since.toISOString(), until: until.toISOString(),
        complete: reports.every((r) => r.outcome === "complete" || r.outcome === "not_configured"),
        passes: reports.map(passResult),
        found: reports.flatMap((r) => r.found.map(foundEvent)),
      };
    }, {
      body: ReconcileRequest,
      response: { 200: ReconcileResult, 400: ErrorBody },
      detail: {
        ...apiDetail("reconciliation")("reconcileRange", "Reconcile a time range now"),
        description: "Asks the providers what Switchboard should have heard in the range and stores whatever is "
          + "missing through the webhook ingest path (marked `reconcile`), exactly once: SMS accepted in the range "
          + "still without a final status are fetched from Twilio, every clinic number's inbound messages are "
          + "listed, and (with STRIPE_SECRET_KEY) Stripe events of the handled types. Checkpoints of the scheduled "
          + "runs are not moved. Each pass gets RECONCILE_MAX_CALLS API calls; `complete: false` says to ask again "
          + "with a narrower range.",
      },
    });
}
