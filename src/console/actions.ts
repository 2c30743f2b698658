import { Elysia } from "elysia";
import type { Deps } from "../deps";
import { replayEventIn } from "../ingest/ingest";
import { disableEndpoint, enableEndpoint, replayEndpointRange, retryDelivery, rotateSecret } from "../outbound/store";
import { recordConsoleAction } from "./audit";
import { authGate } from "./gate";
import { EndpointPage } from "./pages/endpoints";
import { ErrorPage } from "./pages/misc";
import { parseTime, uuid } from "./queries/keyset";
import { getEndpoint, listDeliveries } from "./queries/outbound";
import { htmlResponse, notFoundResponse, redirect } from "./respond";
import { consoleKeys, cookie, SESSION_COOKIE } from "./session";

/**
 * The console's state-changing POSTs. Each calls the same function as the management API and records itself in
 * the audit trail (cause `console`) in the same transaction.
 */
export function consoleActions(deps: Pick<Deps, "db" | "config" | "clock" | "log">) {
  const { db } = deps;
  const keys = consoleKeys(deps.config);
  return new Elysia()
    .use(authGate(deps))
    .post("/sign-out", async ({ actor }) => {
      await recordConsoleAction(db, { action: "sign_out", subjectType: "session", actor });
      return redirect("/console/sign-in", { "set-cookie": cookie(keys, SESSION_COOKIE, "", 0) });
    })
    .post("/events/:id/replay", async ({ params, ctx, actor }) => {
      const id = /^\d{1,15}$/.test(params.id) ? Number(params.id) : undefined;
      const replayed =
        id !== undefined &&
        (await db.transaction(async (tx) => {
          if (!(await replayEventIn(tx, id))) return false;
          await recordConsoleAction(tx, { action: "replay", subjectType: "webhook_event", subjectId: id, actor });
          return true;
        }));
      return replayed
        ? redirect(`/console/events/${id}?done=replayed`)
        : notFoundResponse(ctx, "There is no webhook with this id.");
    })
    .post("/deliveries/:id/retry", async ({ params, ctx, actor }) => {
      if (!uuid(params.id)) return notFoundResponse(ctx, "There is no delivery with this id.");
      const result = await db.transaction(async (tx) => {
        const r = await retryDelivery(tx, params.id);
        if (r.kind === "retried")
          await recordConsoleAction(tx, { action: "retry", subjectType: "delivery", subjectId: params.id, actor });
        return r;
      });
      if (result.kind === "missing") return notFoundResponse(ctx, "There is no delivery with this id.");
      return redirect(
        `/console/deliveries/${params.id}?done=${result.kind === "pending" ? "already-pending" : "retried"}`,
      );
    })
    .post("/endpoints/:id/enable", async ({ params, ctx, actor }) => {
      const done =
        uuid(params.id) &&
        (await db.transaction(async (tx) => {
          if (!(await enableEndpoint(tx, params.id))) return false;
          await recordConsoleAction(tx, { action: "enable", subjectType: "endpoint", subjectId: params.id, actor });
          return true;
        }));
      return done
        ? redirect(`/console/endpoints/${params.id}?done=enabled`)
        : notFoundResponse(ctx, "There is no endpoint with this id.");
    })
    .post("/endpoints/:id/disable", async ({ params, ctx, actor }) => {
      const done =
        uuid(params.id) &&
        (await db.transaction(async (tx) => {
          if (!(await disableEndpoint(tx, params.id, `disabled from the console (${actor})`))) return false;
          await recordConsoleAction(tx, { action: "disable", subjectType: "endpoint", subjectId: params.id, actor });
          return true;
        }));
      return done
        ? redirect(`/console/endpoints/${params.id}?done=disabled`)
        : notFoundResponse(ctx, "There is no endpoint with this id.");
    })
    .post("/endpoints/:id/rotate-secret", async ({ params, ctx, actor }) => {
      const rotated =
        uuid(params.id) &&
        (await db.transaction(async (tx) => {
          const r = await rotateSecret(tx, params.id, deps.config.OUTBOUND_SECRET_OVERLAP_MS);
          // The audit row never holds the secret.
          if (r)
            await recordConsoleAction(tx, {
              action: "rotate_secret",
              subjectType: "endpoint",
              subjectId: params.id,
              actor,
            });
          return r;
        }));
      const detail = rotated ? await getEndpoint(db, params.id) : undefined;
      if (!rotated || !detail) return notFoundResponse(ctx, "There is no endpoint with this id.");
      // Shown in this answer only (no redirect, never stored in a page that could be reloaded from cache).
      const recent = await listDeliveries(db, { endpoint: params.id }, 20);
      return htmlResponse(EndpointPage({ ctx, detail, recent: recent.rows, secret: rotated.webhook_secret }));
    })
    .post("/endpoints/:id/replay", async ({ params, body, ctx, actor }) => {
      if (!uuid(params.id)) return notFoundResponse(ctx, "There is no endpoint with this id.");
      const fields = body as Record<string, unknown>;
      const since = parseTime(fields.since);
      const until = parseTime(fields.until);
      if (!since || (until && until < since)) {
        return htmlResponse(
          ErrorPage({ ctx, status: 400, message: "Give the start of the range (and an end after it), in UTC." }),
          400,
        );
      }
      const ids = await db.transaction(async (tx) => {
        if (!(await getEndpoint(db, params.id))) return undefined;
        const replayed = await replayEndpointRange(tx, params.id, since, until);
        await recordConsoleAction(tx, {
          action: "replay_range",
          subjectType: "endpoint",
          subjectId: params.id,
          actor,
          detail: { since: since.toISOString(), until: until?.toISOString() ?? null, replayed: replayed.length },
        });
        return replayed;
      });
      if (!ids) return notFoundResponse(ctx, "There is no endpoint with this id.");
      return redirect(`/console/endpoints/${params.id}?done=range-replayed&n=${ids.length}`);
    });
}
