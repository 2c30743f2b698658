import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { and, desc, eq } from "drizzle-orm";
import { Elysia } from "elysia";
import { auditLog } from "../../db/schema";
import type { Deps } from "../deps";
import { securityHeaders } from "../http/page-headers";
import { consoleActions } from "./actions";
import { authGate } from "./gate";
import { AppointmentPage, AppointmentsPage } from "./pages/appointments";
import { AuditPage } from "./pages/audit";
import { DeliveriesPage, DeliveryPage } from "./pages/deliveries";
import { EndpointPage, EndpointsPage } from "./pages/endpoints";
import { EventPage, EventsPage, ReplayConfirmPage } from "./pages/events";
import { EmailPage, EmailsPage, SmsListPage, SmsPage } from "./pages/messages";
import { OverviewPage, OverviewStats } from "./pages/overview";
import { auditFor, eventFilters, eventJob, getEvent, listEvents } from "./queries/events";
import { cursorOf, olderThan, page, PAGE_SIZE, parseCursor, uuid } from "./queries/keyset";
import { deliveryFilters, getDelivery, getEndpoint, listDeliveries, listEndpoints } from "./queries/outbound";
import { overview } from "./queries/overview";
import { getAppointment, getEmail, getSms, listAppointments, listEmails, listSms } from "./queries/people";
import { eventTrail } from "./queries/trail";
import { htmlResponse, notFoundResponse } from "./respond";
import { signInRoutes } from "./sign-in-routes";

const require = createRequire(import.meta.url);
/** Served by the service itself from the pinned npm package: the console works with no internet connection. */
const HTMX = readFileSync(require.resolve("htmx.org/dist/htmx.min.js"), "utf8");
const CSS = readFileSync(new URL("./assets/console.css", import.meta.url), "utf8");
const asset = (body: string, type: string) =>
  new Response(body, { headers: { "content-type": type, ...securityHeaders() } });

/** A console message after a redirect, chosen from fixed texts (the query names which). */
export const FLASH: Record<string, (n: number) => string> = {
  replayed: () => "Replay queued: the worker processes this webhook again.",
  retried: () => "Retry queued: the delivery is sent again with a fresh retry schedule.",
  "already-pending": () => "This delivery is still being sent; it was not retried.",
  enabled: () => "Endpoint enabled.",
  disabled: () => "Endpoint disabled: its deliveries fail without an attempt until it is enabled.",
  "range-replayed": (n) => `${n} failed ${n === 1 ? "delivery" : "deliveries"} queued again.`,
};
const flash = (q: Record<string, unknown>) =>
  typeof q.done === "string" ? FLASH[q.done]?.(Number(q.n ?? 0) | 0) : undefined;
const eventId = (v: string) => (/^\d{1,15}$/.test(v) ? Number(v) : undefined);

/** The operator console (SPEC 9): server-rendered pages under /console, behind a signed session. */
export function consoleRoutes(deps: Pick<Deps, "db" | "config" | "clock" | "log">) {
  const { db } = deps;
  return new Elysia({ prefix: "/console" })
    .get("/assets/htmx.min.js", () => asset(HTMX, "text/javascript; charset=utf-8"), { detail: { hide: true } })
    .get("/assets/console.css", () => asset(CSS, "text/css; charset=utf-8"), { detail: { hide: true } })
    .use(signInRoutes(deps))
    .use(authGate(deps))
    .get("/", async ({ ctx }) => htmlResponse(OverviewPage({ ctx, o: await overview(db), at: deps.clock.now() })))
    .get("/overview/stats", async () => htmlResponse(OverviewStats({ o: await overview(db), at: deps.clock.now() })))
    .get("/events", async ({ ctx, query }) => {
      const f = eventFilters(query);
      return htmlResponse(EventsPage({ ctx, f, query, ...(await listEvents(db, f)) }));
    })
    .get("/events/:id", async ({ ctx, params, query }) => {
      const id = eventId(params.id);
      const event = id ? await getEvent(db, id) : undefined;
      if (!event) return notFoundResponse(ctx, "There is no webhook with this id.");
      const [trail, job, audit] = await Promise.all([
        eventTrail(db, event),
        eventJob(db, event.id),
        auditFor(db, "webhook_event", [String(event.id)]),
      ]);
      return htmlResponse(EventPage({ ctx, event, trail, job, audit, flash: flash(query) }));
    })
    .get("/events/:id/replay", async ({ ctx, params }) => {
      const id = eventId(params.id);
      const event = id ? await getEvent(db, id) : undefined;
      return event
        ? htmlResponse(ReplayConfirmPage({ ctx, event }))
        : notFoundResponse(ctx, "There is no webhook with this id.");
    })
    .get("/deliveries", async ({ ctx, query }) => {
      const f = deliveryFilters(query);
      return htmlResponse(DeliveriesPage({ ctx, f, query, ...(await listDeliveries(db, f)) }));
    })
    .get("/deliveries/:id", async ({ ctx, params, query }) => {
      const found = uuid(params.id) ? await getDelivery(db, params.id) : undefined;
      if (!found) return notFoundResponse(ctx, "There is no delivery with this id.");
      return htmlResponse(
        DeliveryPage({
          ctx,
          d: found.delivery,
          endpoint: found.endpoint,
          attempts: found.attempts,
          flash: flash(query),
        }),
      );
    })
    .get("/endpoints", async ({ ctx, query }) =>
      htmlResponse(EndpointsPage({ ctx, query, ...(await listEndpoints(db, query)) })),
    )
    .get("/endpoints/:id", async ({ ctx, params, query }) => {
      const detail = uuid(params.id) ? await getEndpoint(db, params.id) : undefined;
      if (!detail) return notFoundResponse(ctx, "There is no endpoint with this id.");
      const recent = await listDeliveries(db, { endpoint: params.id }, 20);
      return htmlResponse(EndpointPage({ ctx, detail, recent: recent.rows, flash: flash(query) }));
    })
    .get("/appointments", async ({ ctx, query }) =>
      htmlResponse(AppointmentsPage({ ctx, query, ...(await listAppointments(db, query)) })),
    )
    .get("/appointments/:id", async ({ ctx, params }) => {
      const d = uuid(params.id) ? await getAppointment(db, params.id) : undefined;
      return d
        ? htmlResponse(AppointmentPage({ ctx, d }))
        : notFoundResponse(ctx, "There is no appointment with this id.");
    })
    .get("/sms", async ({ ctx, query }) => htmlResponse(SmsListPage({ ctx, query, ...(await listSms(db, query)) })))
    .get("/sms/:id", async ({ ctx, params }) => {
      const d = uuid(params.id) ? await getSms(db, params.id) : undefined;
      return d ? htmlResponse(SmsPage({ ctx, d })) : notFoundResponse(ctx, "There is no SMS with this id.");
    })
    .get("/emails", async ({ ctx, query }) =>
      htmlResponse(EmailsPage({ ctx, query, ...(await listEmails(db, query)) })),
    )
    .get("/emails/:id", async ({ ctx, params }) => {
      const d = uuid(params.id) ? await getEmail(db, params.id) : undefined;
      return d ? htmlResponse(EmailPage({ ctx, d })) : notFoundResponse(ctx, "There is no email with this id.");
    })
    .get("/audit", async ({ ctx, query }) => {
      const rows = await db
        .select({ ...auditColumns, cursor: cursorOf(auditLog.at, auditLog.id) })
        .from(auditLog)
        .where(
          and(eq(auditLog.cause, "console"), olderThan(auditLog.at, auditLog.id, parseCursor(query.before), "bigint")),
        )
        .orderBy(desc(auditLog.at), desc(auditLog.id))
        .limit(PAGE_SIZE + 1);
      return htmlResponse(AuditPage({ ctx, query, ...page(rows) }));
    })
    .use(consoleActions(deps))
    .get("/*", ({ ctx }) => notFoundResponse(ctx));
}

const auditColumns = {
  id: auditLog.id,
  at: auditLog.at,
  cause: auditLog.cause,
  action: auditLog.action,
  subjectType: auditLog.subjectType,
  subjectId: auditLog.subjectId,
  actor: auditLog.actor,
  detail: auditLog.detail,
};
