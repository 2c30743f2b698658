import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { API_KEY, createHarness, type Harness, testClock } from "../support/harness";
import { consoleClient } from "../support/console";

const clock = testClock();
let h: Harness;
beforeAll(async () => {
  h = await createHarness({}, { clock });
});
afterAll(() => h.close());

const audit = async (action: string) =>
  (await h.deps.sql`select count(*)::int as n from audit_log where cause = 'console' and action = ${action}`)[0]!
    .n as number;

describe("console sign-in", () => {
  test("without a session every console page redirects to sign-in, "
    + "and the JSON API keeps its Bearer scheme", async () => {
    const c = consoleClient(h);
    for (const path of [
      "/console",
      "/console/events",
      "/console/deliveries/00000000-0000-0000-0000-000000000000",
      "/console/nope",
    ]) {
      const res = await c.get(path);
      expect({ path, status: res.status }).toEqual({ path, status: 303 });
      expect(res.headers.get("location")).toStartWith("/console/sign-in");
    }
    expect((await c.get("/console/events?status=failed")).headers.get("location")).toBe(
      `/console/sign-in?next=${encodeURIComponent("/console/events?status=failed")}`,
    );
    expect((await c.get("/console/overview/stats", { "hx-request": "true" })).headers.get("hx-redirect")).toBe(
      "/console/sign-in",
    );
    expect((await h.request("/v1/clinics")).status).toBe(401);
    expect((await h.api("GET", "/v1/clinics")).status).toBe(200);
  });

  test("a wrong key is refused with a message; the right one gives an HttpOnly, "
    + "SameSite=Strict, 8-hour, Secure cookie", async () => {
    const c = consoleClient(h);
    const wrong = await c.signIn("not-the-key-at-all");
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain("Wrong password or API key.");
    expect(c.jar.has("sb_console")).toBe(false);

    const right = await c.signIn(API_KEY);
    expect(right.status).toBe(303);
    expect(right.headers.get("location")).toBe("/console");
    const set = right.headers.getSetCookie().find((l) => l.startsWith("sb_console="))!;
    expect(set).toContain("HttpOnly");
    expect(set).toContain("SameSite=Strict");
    expect(set).toContain("Max-Age=28800");
    expect(set).toContain("Secure"); // PUBLIC_URL is https in the harness
    const page = await c.get("/console");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Overview");
    expect(await audit("sign_in")).toBeGreaterThanOrEqual(1);
    expect(await audit("sign_in_failed")).toBeGreaterThanOrEqual(1);
  });

  test("the session expires after 8 hours", async () => {
    const c = consoleClient(h);
    await c.signIn(API_KEY);
    expect((await c.get("/console/events")).status).toBe(200);
    clock.advance(8 * 3600_000 + 1000);
    try {
      expect((await c.get("/console/events")).status).toBe(303);
    } finally {
      clock.set(new Date());
    }
  });

  test("a forged or tampered cookie is no session", async () => {
    const c = consoleClient(h);
    await c.signIn(API_KEY);
    const [expires, nonce, mac] = c.jar.get("sb_console")!.split(".");
    c.jar.set("sb_console", `${Number(expires) + 3600_000}.${nonce}.${mac}`);
    expect((await c.get("/console")).status).toBe(303);
  });

  test("sign-in attempts are rate limited per client address", async () => {
    const c = consoleClient(h);
    const from = { "fly-client-ip": "203.0.113.77" };
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const form = await c.get("/console/sign-in");
      const res = await c.post(
        "/console/sign-in",
        { _csrf: c.csrfOf(await form.text()), password: `wrong-${i}` },
        from,
      );
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses[10]).toBe(429);
    // Even the right key waits until the window ends; another address is not affected.
    const form = await c.get("/console/sign-in");
    const held = await c.post("/console/sign-in", { _csrf: c.csrfOf(await form.text()), password: API_KEY }, from);
    expect(held.status).toBe(429);
    expect(await held.text()).toContain("Too many sign-in attempts");
    expect((await consoleClient(h).signIn(API_KEY)).status).toBe(303);
  });

  test("CONSOLE_PASSWORD, when set, replaces the API key for sign-in", async () => {
    const other = await createHarness({ CONSOLE_PASSWORD: "a-long-console-password" });
    try {
      expect((await consoleClient(other).signIn(API_KEY)).status).toBe(401);
      expect((await consoleClient(other).signIn("a-long-console-password")).status).toBe(303);
    } finally {
      await other.close();
    }
  });
});

describe("CSRF and headers", () => {
  test("a POST without the session's token, or from another origin, is refused and changes nothing", async () => {
    const c = consoleClient(h);
    await c.signIn(API_KEY);
    const page = await c.get("/console");
    const token = c.csrfOf(await page.text());
    expect(token).not.toBe("");
    const before = await audit("sign_out");
    expect((await c.post("/console/sign-out", {})).status).toBe(403);
    expect((await c.post("/console/sign-out", { _csrf: "forged" })).status).toBe(403);
    expect((await c.post("/console/sign-out", { _csrf: token }, { origin: "https://evil.example" })).status).toBe(403);
    expect(await audit("sign_out")).toBe(before);
    const out = await c.post("/console/sign-out", { _csrf: token });
    expect(out.status).toBe(303);
    expect(await audit("sign_out")).toBe(before + 1);
    expect((await c.get("/console")).status).toBe(303);
  });

  test("the sign-in form is CSRF-protected too", async () => {
    const c = consoleClient(h);
    const res = await c.post("/console/sign-in", { password: API_KEY });
    expect(res.status).toBe(403);
    expect(c.jar.has("sb_console")).toBe(false);
  });

  test("console pages and assets carry a strict CSP, DENY framing and no-store; "
    + "404s are pages, never stack traces", async () => {
    const c = consoleClient(h);
    await c.signIn(API_KEY);
    for (const path of [
      "/console",
      "/console/sign-in",
      "/console/assets/htmx.min.js",
      "/console/assets/console.css",
      "/console/nope",
      "/console/events/abc",
      "/console/events/999999",
    ]) {
      const res = await c.get(path);
      expect(res.headers.get("content-security-policy")).toStartWith("default-src 'self'");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
    const missing = await c.get("/console/events/999999");
    expect(missing.status).toBe(404);
    const body = await missing.text();
    expect(body).toContain("There is no webhook with this id.");
    expect(body).not.toContain("at ");
    expect((await c.get("/console/assets/htmx.min.js")).headers.get("content-type")).toContain("javascript");
  });

  test("no page has an inline script or style (the CSP would block them)", async () => {
    const c = consoleClient(h);
    await c.signIn(API_KEY);
    for (const path of [
      "/console",
      "/console/events",
      "/console/deliveries",
      "/console/endpoints",
      "/console/appointments",
      "/console/sms",
      "/console/emails",
      "/console/audit",
      "/console/sign-in",
    ]) {
      const res = await c.get(path);
      const html = await res.text();
      expect({
        path,
        status: res.status,
        inlineScript: /<script(?![^>]*\bsrc=)[^>]*>/.test(html),
        style: /<style|\sstyle="/.test(html),
      }).toEqual({ path, status: 200, inlineScript: false, style: false });
    }
  });
});
