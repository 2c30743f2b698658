import { stripeEvent } from "./stripe";

export interface StripeApiError { status: number; type: string; message: string }

/**
 * A fake of Stripe's `GET /v1/events` on loopback, in Stripe's wire format: Bearer secret key (401 otherwise),
 * newest first, filters `types[]` (any index form) and `created[gte|gt|lte|lt]`, `limit` (default 10, at most 100),
 * `starting_after` paging, answers `{object: "list", data, has_more, url}`. `emit` records an event Stripe created
 * (whose webhook never reached Switchboard); `fail` scripts the next answers as Stripe errors (429, 500).
 */
export function startFakeStripe(opts: { secretKey: string }) {
  const events: ReturnType<typeof stripeEvent>[] = [];
  const script: StripeApiError[] = [];
  /** Every request's path and query, in order. */
  const requests: string[] = [];
  const error = (e: StripeApiError) =>
    Response.json({ error: { type: e.type, message: e.message } }, { status: e.status });
  const invalid = (status: number, message: string) => error({ status, type: "invalid_request_error", message });

  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(request) {
      const url = new URL(request.url);
      requests.push(url.pathname + url.search);
      if (request.headers.get("authorization") !== `Bearer ${opts.secretKey}`) {
        return invalid(401, "Invalid API Key provided");
      }
      if (request.method !== "GET" || url.pathname !== "/v1/events") {
        return invalid(404, `Unrecognized request URL (${request.method}: ${url.pathname})`);
      }
      const scripted = script.shift();
      if (scripted) return error(scripted);
      const q = url.searchParams;
      const types = [...q.entries()].filter(([k]) => /^types\[\d*\]$/.test(k)).map(([, v]) => v);
      const num = (k: string) => (q.has(k) ? Number(q.get(k)) : undefined);
      const [gte, gt, lte, lt] = [num("created[gte]"), num("created[gt]"), num("created[lte]"), num("created[lt]")];
      const matching = events.map((e, i) => ({ e, i }))
        .filter(({ e }) => (types.length === 0 || types.includes(e.type))
          && (gte === undefined || e.created >= gte) && (gt === undefined || e.created > gt)
          && (lte === undefined || e.created <= lte) && (lt === undefined || e.created < lt))
        .sort((a, b) => b.e.created - a.e.created || b.i - a.i).map(({ e }) => e);
      const after = q.get("starting_after");
      const start = after ? matching.findIndex((e) => e.id === after) + 1 : 0;
      if (after && start === 0) return invalid(400, `No such event: '${after}'`);
      const limit = Math.min(num("limit") ?? 10, 100);
      const data = matching.slice(start, start + limit);
      return Response.json({ object: "list", data, has_more: start + limit < matching.length, url: "/v1/events" });
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    events,
    requests,
    /** An event Stripe created at `at` (default now). */
    emit(type: string, object: Record<string, unknown>, at = new Date()) {
      const event = { ...stripeEvent(type, object), created: Math.floor(at.getTime() / 1000) };
      events.push(event);
      return event;
    },
    fail(e: StripeApiError, times = 1) { for (let i = 0; i < times; i++) script.push(e); },
    close: () => server.stop(true),
  };
}

export type FakeStripe = ReturnType<typeof startFakeStripe>;
