import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { chromiumPath, launchChromium, SCREENSHOT_DIR } from "../support/chromium";
import { startFakeTwilio } from "../support/fake-twilio";
import {
  API_KEY,
  createHarness,
  type Harness,
  seedAppointment,
  TWILIO_ACCOUNT_SID,
  TWILIO_AUTH_TOKEN,
} from "../support/harness";
import { freePort } from "../support/process";
import { startReceiver, startWorker, waitFor } from "../support/receiver";
import { paymentIntent, signedStripeRequest, stripeEvent } from "../support/stripe";

const executable = chromiumPath();
const suite = executable ? describe : describe.skip;

let h: Harness;
let base: string;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;
let stop: () => Promise<void>;
const receiver = startReceiver();
/** Requests the browser made to anything but this machine: there must be none. */
const outside: string[] = [];
const consoleErrors: string[] = [];

beforeAll(async () => {
  if (!executable) return;
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const fake = await startFakeTwilio({ accountSid: TWILIO_ACCOUNT_SID, authToken: TWILIO_AUTH_TOKEN });
  h = await createHarness({
    PUBLIC_URL: base,
    TWILIO_API_URL: fake.url,
    OUTBOUND_ALLOW_PRIVATE: "true",
    OUTBOUND_RETRY_DELAYS_MS: "50,50,50",
  });
  const server = h.app.listen({ port, hostname: "127.0.0.1" });
  const worker = await startWorker(h.deps);
  browser = await launchChromium(executable);
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  page.on("request", (r) => {
    if (!/^(http:\/\/127\.0\.0\.1[:/]|data:|about:)/.test(r.url())) outside.push(r.url());
  });
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  stop = async () => {
    await browser.close();
    await worker.stop();
    await server.stop();
    await h.close();
    fake.close();
  };
}, 60_000);
afterAll(async () => {
  await stop?.();
  await receiver.close();
});

const shot = (name: string) => page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
/** Reloads until the page shows `text` (the worker runs on its own). */
async function reloadUntil(text: string, what: string) {
  await waitFor(
    async () => {
      await page.reload();
      return (await page.content()).includes(text);
    },
    what,
    15_000,
  );
}

suite("the console in Chromium", () => {
  test("sign-in: a wrong key is refused with a message, the right one opens the overview", async () => {
    await page.goto(`${base}/console/events`);
    expect(page.url()).toBe(`${base}/console/sign-in?next=%2Fconsole%2Fevents`);
    await shot("sign-in");
    await page.fill("input[name=password]", "certainly-not-the-key");
    await page.click("button[type=submit]");
    expect(await page.textContent(".error-box")).toContain("Wrong password or API key.");
    await page.fill("input[name=password]", API_KEY);
    await page.click("button[type=submit]");
    expect(page.url()).toBe(`${base}/console/events`);
    expect(await page.textContent("h1")).toContain("Webhooks received");
    expect(await page.textContent(".empty")).toContain(`${base}/api/v1/webhooks/stripe/payment-events`);
    await shot("events-empty");
  }, 60_000);

  test("a signed Stripe event appears in the list; its detail shows the trail; Replay processes it again", async () => {
    const seeded = await seedAppointment(h, { phone: "+15557650001" });
    const event = stripeEvent("payment_intent.succeeded", paymentIntent(seeded.appointment.id));
    const res = await fetch(`${base}/api/v1/webhooks/stripe/payment-events`, await signedStripeRequest(event));
    expect(res.status).toBe(200);
    await page.goto(`${base}/console/events`);
    expect(await page.textContent("table.list")).toContain("payment_intent.succeeded");
    await shot("events");
    await page.click(`table.list tbody tr:has-text("${event.id}") td.what a`);
    await reloadUntil("appointment pending → confirmed", "the trail of the processed event");
    expect(await page.textContent("ol.trail")).toContain("confirmation SMS to +15557650001");
    await shot("event-detail");

    await page.click("text=Replay…");
    expect(await page.textContent("h1")).toContain("Replay stripe webhook");
    await shot("event-replay-confirm");
    await page.click("text=Replay now");
    expect(await page.textContent(".flash")).toContain("Replay queued");
    const id = Number(page.url().match(/events\/(\d+)/)![1]);
    await waitFor(async () => {
      const [row] = await h.deps.sql`select status, attempts from webhook_events where id = ${id}`;
      return row!.status === "processed" && row!.attempts === 2;
    }, "the replayed event to be processed again");
    await page.click("text=Appointments");
    await page.fill("input[name=q]", "+1 (555) 765-0001");
    await page.click("form.filters button");
    expect(await page.textContent("table.list")).toContain("Ada Patient");
    await shot("appointments");
    await page.click("table.list tbody tr a");
    expect(await page.textContent("main")).toContain("pending → confirmed");
    await shot("appointment-detail");
  }, 60_000);

  test("a failing delivery is retried from the console and succeeds against a local receiver", async () => {
    receiver.on("/hook", [{ status: 500, body: "receiver is down" }]);
    const conv = (await (
      await h.api("POST", "/v1/conversations", {
        channel: "API",
        usecase: "t",
        config: { callback_url: `${receiver.url}/hook` },
      })
    ).json()) as any;
    await h.api("POST", `/v1/conversations/${conv.id}/messages`, {
      content: "hello",
      content_type: "TEXT",
      type: "BOT",
    });
    const delivery = await waitFor(
      async () =>
        (await h.deps.sql`select id from deliveries where conversation_id = ${conv.id} and status = 'failed'`)[0],
      "a failed delivery",
    );
    await page.goto(`${base}/console/deliveries?status=failed`);
    await shot("deliveries");
    await page.click(`a[href="/console/deliveries/${delivery.id}"] >> nth=0`);
    expect(await page.textContent("main")).toContain("receiver is down");
    await shot("delivery-failed");
    receiver.on("/hook", [{ status: 200, body: "got it" }]);
    await page.click("button:has-text('Retry')");
    expect(await page.textContent(".flash")).toContain("Retry queued");
    await reloadUntil("got it", "the retried delivery's answer");
    expect(await page.textContent("h1")).toContain("succeeded");
    await shot("delivery-retried");
    await page.click("text=Endpoints");
    await shot("endpoints");
    await page.click("table.list tbody tr a");
    await shot("endpoint-detail");
  }, 60_000);

  test("a POST without the CSRF token is refused", async () => {
    const res = await browser.context.request.post(`${base}/console/sign-out`, { form: { nothing: "here" } });
    expect(res.status()).toBe(403);
    await page.goto(`${base}/console`);
    expect(await page.textContent("h1")).toBe("Overview"); // still signed in
  }, 60_000);

  test("the overview refreshes itself through htmx (served locally, allowed by the CSP)", async () => {
    await page.goto(`${base}/console`);
    await shot("overview");
    const refresh = await page.waitForRequest((r) => r.url().endsWith("/console/overview/stats"), { timeout: 15_000 });
    expect(refresh.headers()["hx-request"]).toBe("true");
    for (const [path, name] of [
      ["/console/sms", "sms"],
      ["/console/emails", "emails"],
      ["/console/audit", "audit"],
      ["/console/nowhere", "not-found"],
    ]) {
      await page.goto(`${base}${path}`);
      await shot(name!);
    }
  }, 60_000);

  test("/docs lists the API's operations with nothing but loopback reachable", async () => {
    await page.goto(`${base}/docs`);
    await page.waitForSelector(".opblock", { timeout: 15_000 });
    expect(await page.locator(".opblock").count()).toBeGreaterThan(20);
    expect(await page.textContent("body")).toContain("/v1/webhook-events/{id}/replay");
    await shot("docs");
  }, 60_000);

  test("no page asked for anything outside this machine or broke the CSP", () => {
    expect(outside).toEqual([]);
    expect(consoleErrors.filter((e) => /Content Security Policy|Refused to/i.test(e))).toEqual([]);
  });
});
