import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { API_KEY, createHarness, type Harness, seedAppointment } from "../support/harness";

let h: Harness;
let ids: { clinic: string; patient: string; appointment: string };

beforeAll(async () => {
  h = await createHarness({ API_RATE_LIMIT: "1000" });
  const seeded = await seedAppointment(h);
  ids = { clinic: seeded.clinic.id, patient: seeded.patient.id, appointment: seeded.appointment.id };
});
afterAll(() => h.close());

const routes = () => [
  ["POST", "/v1/clinics"], ["GET", "/v1/clinics"], ["GET", `/v1/clinics/${ids.clinic}`],
  ["POST", "/v1/patients"], ["GET", "/v1/patients"], ["GET", `/v1/patients/${ids.patient}`],
  ["POST", "/v1/appointments"], ["GET", "/v1/appointments"], ["GET", `/v1/appointments/${ids.appointment}`],
  ["PATCH", `/v1/appointments/${ids.appointment}`], ["GET", `/v1/appointments/${ids.appointment}/history`],
  ["GET", "/v1/webhook-events"], ["GET", "/v1/webhook-events/1"], ["POST", "/v1/webhook-events/1/replay"],
] as const;

describe("authentication", () => {
  test("every management route refuses a missing, wrong or malformed key with 401", async () => {
    const variants: Record<string, string | undefined> = {
      missing: undefined, wrong: "Bearer not-the-key-at-all", basic: `Basic ${btoa(`user:${API_KEY}`)}`, bare: API_KEY,
    };
    for (const [method, path] of routes()) {
      for (const [name, authorization] of Object.entries(variants)) {
        const res = await h.request(path, {
          method,
          headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
          body: method === "GET" ? undefined : JSON.stringify({ status: "confirmed" }),
        });
        expect({ method, path, name, status: res.status }).toEqual({ method, path, name, status: 401 });
        expect((await res.json()).error.code).toBe("unauthorized");
      }
    }
  });

  test("the right key works", async () => {
    const res = await h.api("GET", "/v1/clinics");
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).data.length).toBeGreaterThan(0);
  });
});

describe("validation and errors", () => {
  test("bad input is a 400 naming the field, never a 500 or a stack trace", async () => {
    const cases: [string, string, unknown][] = [
      ["POST", "/v1/clinics", { name: "X", phone: "+15550009999" }],
      ["POST", "/v1/clinics", { name: "X", phone: "call me", timezone: "UTC" }],
      ["POST", "/v1/clinics", { name: "X", phone: "+15550009999", timezone: "Mars/Olympus" }],
      ["POST", "/v1/patients", { clinic_id: "nope", name: "P", phone: "+15550001234" }],
      ["POST", "/v1/appointments", { patient_id: ids.patient, starts_at: "tomorrow" }],
      ["PATCH", `/v1/appointments/${ids.appointment}`, { status: "teleported" }],
      ["GET", "/v1/webhook-events?limit=100000", undefined],
    ];
    for (const [method, path, body] of cases) {
      const res = await h.api(method, path, body);
      const text = await res.text();
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(text).not.toMatch(/\bat .*\.(ts|js):\d+/);
      expect(JSON.parse(text).error.message.length).toBeGreaterThan(0);
    }
    const malformed = await h.request("/v1/clinics", {
      method: "POST", headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
      body: "{not json",
    });
    expect(malformed.status).toBe(400);
  });

  test("unknown ids are 404 and a forbidden status move is 409", async () => {
    expect((await h.api("GET", "/v1/appointments/00000000-0000-4000-8000-000000000000")).status).toBe(404);
    expect((await h.api("GET", "/v1/webhook-events/424242")).status).toBe(404);
    const { appointment } = await seedAppointment(h, { phone: "+15550002222" });
    expect((await h.api("PATCH", `/v1/appointments/${appointment.id}`, { status: "cancelled" })).status).toBe(200);
    const reopen = await h.api("PATCH", `/v1/appointments/${appointment.id}`, { status: "confirmed" });
    expect(reopen.status).toBe(409);
    expect((await reopen.json()).error.code).toBe("invalid_transition");
    const history = await (await h.api("GET", `/v1/appointments/${appointment.id}/history`)).json() as any;
    expect(history.data).toHaveLength(1);
    expect(history.data[0]).toMatchObject({ from_status: "pending", to_status: "cancelled", cause_type: "api" });
  });
});

describe("rate limit", () => {
  test("beyond the per-key limit the API answers 429 with Retry-After and RateLimit headers", async () => {
    const limited = await createHarness({ API_RATE_LIMIT: "3" });
    try {
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await limited.api("GET", "/v1/clinics"));
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 429]);
      expect(answers.map((r) => r.headers.get("ratelimit-remaining"))).toEqual(["2", "1", "0", "0"]);
      expect(answers[0]!.headers.get("ratelimit-limit")).toBe("3");
      const retryAfter = Number(answers[3]!.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
    } finally {
      await limited.close();
    }
  });
});

describe("docs", () => {
  test("/docs/json is OpenAPI 3 and covers every route", async () => {
    const doc = await (await h.request("/docs/json")).json() as any;
    expect(doc.openapi).toStartWith("3.");
    const paths = Object.keys(doc.paths);
    for (const p of ["/healthz", "/readyz", "/metrics", "/api/v1/webhooks/stripe/payment-events", "/v1/clinics",
      "/v1/patients/{id}", "/v1/appointments/{id}/history", "/v1/webhook-events/{id}/replay"]) {
      expect(paths).toContain(p);
    }
    const create = doc.paths["/v1/clinics"].post.requestBody.content["application/json"].schema;
    expect(create.properties.timezone.examples).toEqual(["America/New_York"]);
    expect((await h.request("/docs")).status).toBe(200);
  });

  test("every route the app serves is in /docs/json, with its method", async () => {
    const doc = await (await h.request("/docs/json")).json() as any;
    const documented = new Set(Object.entries(doc.paths).flatMap(
      ([path, ops]) => Object.keys(ops as object).map((m) => `${m.toUpperCase()} ${path}`),
    ));
    const served = h.app.routes
      .filter((r) => !r.path.startsWith("/docs") && !r.path.startsWith("/console"))
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}").replace(/(.)\/$/, "$1")}`);
    expect(served.length).toBeGreaterThan(30);
    expect(served.filter((r) => !documented.has(r))).toEqual([]);
  });
});

describe("list filters", () => {
  test("an absent filter does not filter: every status is listed", async () => {
    const { appointment } = await seedAppointment(h, { phone: "+15550003333" });
    await h.api("PATCH", `/v1/appointments/${appointment.id}`, { status: "confirmed" });
    const all = await (await h.api("GET", "/v1/appointments?limit=200")).json() as any;
    expect(all.data.map((a: any) => a.status)).toContain("confirmed");
    expect(all.data.map((a: any) => a.status)).toContain("pending");
    const confirmed = await (await h.api("GET", "/v1/appointments?status=confirmed")).json() as any;
    expect(confirmed.data.every((a: any) => a.status === "confirmed")).toBe(true);
    expect(confirmed.data.length).toBeGreaterThan(0);
  });
});

describe("clinic callback URL", () => {
  test("a private, loopback or metadata callback_url is refused at creation (SSRF)", async () => {
    for (const callback_url of [
      "https://127.0.0.1/hook", "https://169.254.169.254/latest", "https://10.0.0.1/h", "http://hooks.example.com/h",
    ]) {
      const res = await h.api(
        "POST", "/v1/clinics", { name: "X", phone: "+15550007777", timezone: "UTC", callback_url },
      );
      expect({ callback_url, status: res.status }).toEqual({ callback_url, status: 400 });
      expect((await res.json()).error.message).toContain("callback_url refused");
    }
  });
});
