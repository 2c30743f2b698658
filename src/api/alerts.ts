import { and, eq, isNotNull, isNull } from "drizzle-orm";
import { Elysia, t } from "elysia";
import { incidents } from "../../db/schema";
import { acknowledgeIncident, getIncident, type Incident as IncidentRow } from "../alerts/incidents";
import { incidentView } from "../alerts/message";
import { RULES, ruleByName } from "../alerts/rules";
import type { Deps } from "../deps";
import { notFound } from "../errors";
import { ErrorBody } from "../http/error-handler";
import { managementApi } from "./auth";
import { apiDetail, IdParam, Nullable, Time } from "./models";
import { after, type Keyset, orderBy, page, PageQuery, position, toPage } from "./paging";

const detail = apiDetail("alerts");
const NEWEST_FIRST: Keyset = { sort: incidents.openedAt, id: incidents.id, idType: "uuid", direction: "desc" };
// Spelled out rather than t.UnionEnum, which would default an absent filter to its first value.
const Status = t.Union([t.Literal("open"), t.Literal("resolved")]);
const RuleName = t.Union(RULES.map((r) => t.Literal(r.name)));

export const Incident = t.Object({
  id: t.String({ format: "uuid" }),
  rule: t.String({ examples: ["processing_failures"] }),
  key: t.String({
    examples: ["stripe"],
    description: "What the rule is about: a provider, an endpoint id, a Twilio error code, or `all`",
  }),
  status: Status,
  title: t.String({ examples: ["stripe: 4 of 10 events failed (40%) in 15 min"] }),
  description: Nullable(t.String()),
  hint: Nullable(t.String({ description: "Where to look first" })),
  opened_at: Time(), last_seen_at: Time(), resolved_at: Nullable(Time()), acknowledged_at: Nullable(Time()),
  acknowledged_by: Nullable(t.String()),
  reminders: t.Integer({ description: "Reminders sent so far (every ALERT_REPEAT_HOURS while open, unacknowledged)" }),
  figures: t.Record(t.String(), t.Any(), { description: "What the rule measured, with its threshold and window" }),
  examples: t.Array(t.Object({
    kind: t.String({ examples: ["webhook_event"] }), id: t.String(), detail: t.Optional(t.String()),
    url: Nullable(t.String({ description: "The console page of the example" })),
  })),
  url: t.String({ description: "The incident's console page" }),
});

/** Alert incidents (SPEC 12), newest first; `status=open` lists what is wrong now. Acknowledging stops reminders. */
export function alertRoutes(deps: Deps) {
  const view = (row: IncidentRow) => incidentView(deps.config, row, ruleByName(row.rule));
  return new Elysia({ prefix: "/v1/alerts" }).use(managementApi(deps))
    .get("", async ({ query }) => {
      const limit = query.limit ?? 50;
      const status = { open: isNull(incidents.resolvedAt), resolved: isNotNull(incidents.resolvedAt) };
      const rows = await deps.db.select({ row: incidents, _position: position(NEWEST_FIRST) }).from(incidents)
        .where(and(
          query.status ? status[query.status] : undefined,
          query.rule ? eq(incidents.rule, query.rule) : undefined,
          after(NEWEST_FIRST, query.cursor),
        ))
        .orderBy(...orderBy(NEWEST_FIRST)).limit(limit + 1);
      return toPage(rows, limit, ({ row }) => view(row));
    }, {
      query: t.Composite([PageQuery, t.Object({ status: t.Optional(Status), rule: t.Optional(RuleName) })]),
      response: { 200: page(Incident) },
      detail: detail("listAlerts", "List alert incidents, newest first (status=open: what is wrong now)"),
    })
    .get("/:id", async ({ params }) => {
      const row = await getIncident(deps.db, params.id);
      if (!row) throw notFound("incident");
      return view(row);
    }, {
      params: IdParam, response: { 200: Incident, 404: ErrorBody },
      detail: detail("getAlert", "Show one alert incident"),
    })
    .post("/:id/acknowledge", async ({ params, body }) => {
      const row = await acknowledgeIncident(deps.db, params.id, body?.by ?? "api");
      if (!row) throw notFound("incident");
      deps.log.info("alert acknowledged", { incidentId: row.id, rule: row.rule, key: row.key, by: row.acknowledgedBy });
      return view(row);
    }, {
      params: IdParam,
      body: t.Optional(t.Object({
        by: t.Optional(t.String({ minLength: 1, maxLength: 200, examples: ["ada (on call)"] })),
      })),
      response: { 200: Incident, 404: ErrorBody },
      detail: detail("acknowledgeAlert", "Acknowledge an incident: someone is on it, so no more reminders "
        + "(its resolution is still sent)"),
    });
}
