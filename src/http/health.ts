import { createHash, timingSafeEqual } from "node:crypto";
import { Elysia, t } from "elysia";
import { openIncidentCounts } from "../alerts/incidents";
import { RULES } from "../alerts/rules";
import { backlogAges } from "../alerts/rules/backlog";
import { retryOnStaleConnection, schemaStatus } from "../db";
import type { Deps } from "../deps";
import { AppError } from "../errors";
import { oldestWaitingSeconds } from "../metrics";

const ERROR_JSON = { "application/json": { schema: { $ref: "#/components/schemas/Error" } } };
const digest = (s: string) => createHash("sha256").update(s).digest();

const Readiness = t.Object({
  status: t.String({
    examples: ["ready"],
    description: "ready, migrations pending, worker schema behind, database unreachable",
  }),
  pending_migrations: t.Optional(
    t.Array(t.String(), { description: "Tags of the drizzle journal's migrations not applied" }),
  ),
  worker_schema: t.Optional(t.Object({ applied: t.Integer(), expected: t.Integer() })),
});
type Readiness = typeof Readiness.static;

/** Database reachable, every migration of this build's drizzle journal applied, graphile-worker's schema current. */
export async function readiness(deps: Pick<Deps, "sql">): Promise<Readiness> {
  try {
    const { pendingMigrations, workerSchema } = await retryOnStaleConnection(() => schemaStatus(deps.sql));
    const worker_schema = workerSchema;
    if (pendingMigrations.length > 0)
      return { status: "migrations pending", pending_migrations: pendingMigrations, worker_schema };
    if (workerSchema.applied < workerSchema.expected)
      return { status: "worker schema behind", pending_migrations: [], worker_schema };
    return { status: "ready", pending_migrations: [], worker_schema };
  } catch {
    return { status: "database unreachable" };
  }
}

/**
 * Who may read /metrics here. `open`: the internal METRICS_PORT server (Fly's scraper sends no token).
 * `token`: the public port, with `Authorization: Bearer METRICS_TOKEN`; without METRICS_TOKEN it is not served there.
 */
export type MetricsAccess = "open" | "token";

function checkMetricsAccess(
  deps: Pick<Deps, "config">,
  access: MetricsAccess,
  request: Request,
  set: { headers: Record<string, string | number> },
) {
  if (access === "open") return;
  const token = deps.config.METRICS_TOKEN;
  if (!token) {
    throw new AppError(
      404,
      "not_found",
      deps.config.METRICS_PORT
        ? "metrics are served on METRICS_PORT"
        : "metrics are not served: set METRICS_TOKEN (bearer token for /metrics) or METRICS_PORT (an internal port)",
    );
  }
  const given = (request.headers.get("authorization") ?? "").match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
  if (!given || !timingSafeEqual(digest(given), digest(token))) {
    set.headers["www-authenticate"] = 'Bearer realm="metrics"';
    throw new AppError(401, "unauthorized", "Missing or wrong metrics token (Authorization: Bearer <METRICS_TOKEN>)");
  }
}

/**
 * The gauges read from the database when /metrics is scraped: queue lag, backlog ages and open incidents. A read
 * that fails shows -1 (ages) or no series (incidents), and the scrape still answers.
 */
async function readGauges(deps: Pick<Deps, "db" | "sql" | "metrics">): Promise<void> {
  const { outboundOldestWaiting, backlogOldest, openIncidents } = deps.metrics;
  const [lag, ages, counts] = await Promise.all([
    oldestWaitingSeconds(deps.sql).catch(() => -1),
    backlogAges(deps.db).catch(() => undefined),
    openIncidentCounts(deps.db, RULES.map((r) => r.name)).catch(() => undefined),
  ]);
  outboundOldestWaiting.set(lag);
  for (const queue of ["webhook_events", "jobs", "email_outbox"]) backlogOldest.set({ queue }, ages?.[queue] ?? -1);
  openIncidents.reset();
  for (const [rule, n] of Object.entries(counts ?? {})) openIncidents.set({ rule }, n);
}

/** /healthz, /readyz and /metrics: on the service's port, and alone on METRICS_PORT or a worker's port. */
export function healthRoutes(deps: Deps, access: MetricsAccess) {
  return new Elysia()
    .get("/healthz", () => ({ status: "ok" as const }), {
      response: { 200: t.Object({ status: t.Literal("ok") }) },
      detail: { tags: ["health"], summary: "Process is alive", operationId: "getHealth" },
    })
    .get(
      "/readyz",
      async ({ set }) => {
        const result = await readiness(deps);
        if (result.status !== "ready") set.status = 503;
        return result;
      },
      {
        response: { 200: Readiness, 503: Readiness },
        detail: {
          tags: ["health"],
          operationId: "getReadiness",
          summary: "Database reachable, every migration of the journal applied, graphile-worker's schema current",
        },
      },
    )
    .get(
      "/metrics",
      async ({ request, set }) => {
        checkMetricsAccess(deps, access, request, set);
        await readGauges(deps);
        return new Response(await deps.metrics.registry.metrics(), {
          headers: { "content-type": deps.metrics.registry.contentType },
        });
      },
      {
        detail: {
          tags: ["health"],
          operationId: "getMetrics",
          summary: "Prometheus metrics",
          description:
            "On the service's port with `Authorization: Bearer METRICS_TOKEN` (404 without METRICS_TOKEN); " +
            "on METRICS_PORT without a token.",
          ...(access === "token" ? { security: [{ metrics: [] }] } : {}),
          responses: {
            200: { description: "Prometheus text format", content: { "text/plain": { schema: { type: "string" } } } },
            ...(access === "token"
              ? {
                  401: { description: "Missing or wrong METRICS_TOKEN", content: ERROR_JSON },
                  404: { description: "METRICS_TOKEN unset: not served on this port", content: ERROR_JSON },
                }
              : {}),
          },
        },
      },
    );
}
