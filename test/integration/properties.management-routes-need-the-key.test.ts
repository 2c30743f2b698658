// Random requests at every management route that /docs/json lists (fast-check, bounded runs).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { body, contentTypeFor, type DocRoute, fillPath, headers, pathParam, query, routesOf } from "../support/fuzz";
import { API_KEY, createHarness, type Harness, seedAppointment } from "../support/harness";

let h: Harness;
let routes: DocRoute[];
beforeAll(async () => {
  // A budget the fuzzing cannot exhaust: a 429 would hide what the route itself does.
  h = await createHarness({ API_RATE_LIMIT: "1000000", OUTBOUND_ALLOW_PRIVATE: "true" });
  routes = routesOf((await (await h.request("/docs/json")).json()) as any).filter(
    (r) => r.path.startsWith("/v1/") && !r.path.includes("/webhooks/"),
  );
});
afterAll(() => h.close());

const TABLES = [
  "clinics",
  "patients",
  "appointments",
  "appointment_history",
  "conversations",
  "messages",
  "webhook_endpoints",
  "deliveries",
  "email_outbox",
  "sms_messages",
  "webhook_events",
  "api_rate_limits",
  "graphile_worker.jobs",
];
const counts = async () =>
  Object.fromEntries(
    await Promise.all(
      TABLES.map(async (t) => [t, (await h.deps.sql.unsafe(`select count(*)::int as n from ${t}`))[0]!.n as number]),
    ),
  );

const request = () =>
  fc.constantFrom(...routes).chain((route) =>
    fc.record({
      route: fc.constant(route),
      param: pathParam,
      search: query,
      type: contentTypeFor(route),
      payload: body,
      extra: headers,
    }),
  );

async function send(
  r: {
    route: DocRoute;
    param: string;
    search: string;
    type: string;
    payload: string | Uint8Array<ArrayBuffer>;
    extra: Record<string, string>;
  },
  auth?: string,
) {
  const hasBody = r.route.method !== "GET";
  const res = await h.request(`${fillPath(r.route.path, r.param)}${r.search ? `?${r.search}` : ""}`, {
    method: r.route.method,
    headers: { ...r.extra, ...(hasBody ? { "content-type": r.type } : {}), ...(auth ? { authorization: auth } : {}) },
    body: hasBody ? r.payload : undefined,
  });
  return { status: res.status, text: await res.text() };
}

describe("management routes", () => {
  test("the docs list them all, each with the bearer scheme", async () => {
    expect(routes.length).toBeGreaterThanOrEqual(28);
    const doc = (await (await h.request("/docs/json")).json()) as any;
    for (const r of routes) expect(doc.paths[r.path][r.method.toLowerCase()].security).toEqual([{ bearer: [] }]);
  });

  test("without the key, random requests get a 401 (or 404 off the routes) and store nothing", async () => {
    const before = await counts();
    const wrongAuth = fc.oneof(
      fc.constant(undefined),
      fc.string({ maxLength: 60 }).map((s) => `Bearer ${s.replace(/[\r\n]/g, "")}`),
      fc.constantFrom(
        `Basic ${btoa(`user:${API_KEY}`)}`,
        `Bearer ${API_KEY.slice(0, -1)}`,
        `Bearer ${API_KEY}x`,
        API_KEY,
      ),
    );
    await fc.assert(
      fc.asyncProperty(request(), wrongAuth, async (r, auth) => {
        // A made-up authorization header among the random ones is as wrong as any other.
        const { authorization: _dropped, ...extra } = r.extra;
        const { status, text } = await send({ ...r, extra }, auth);
        expect([401, 404]).toContain(status);
        expect(text).not.toContain(API_KEY);
      }),
      { numRuns: 300 },
    );
    expect(await counts()).toEqual(before);
  }, 60_000);

  test("with the key, random bodies, parameters, queries and content types never get a 5xx", async () => {
    // Real rows to aim at, so some requests reach the code behind the lookups.
    const { clinic, patient, appointment } = await seedAppointment(h);
    const known = fc.constantFrom(clinic.id, patient.id, appointment.id, "1");
    await fc.assert(
      fc.asyncProperty(request(), fc.option(known, { freq: 3 }), async (r, id) => {
        const { status, text } = await send({ ...r, param: id ?? r.param }, `Bearer ${API_KEY}`);
        if (status >= 500) throw new Error(`${r.route.method} ${r.route.path} answered ${status}: ${text}`);
      }),
      { numRuns: 400 },
    );
    expect(h.logs.filter((l) => l.includes('"unhandled error"'))).toEqual([]);
  }, 120_000);
});
