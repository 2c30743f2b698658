import { afterEach, expect, test } from "bun:test";
import { createHarness, type Harness } from "../support/harness";
import { signedStripeRequest, stripeEvent } from "../support/stripe";

const PATH = "/api/v1/webhooks/stripe/payment-events";
let h: Harness | undefined;
let server: { stop(): unknown } | undefined;
afterEach(async () => {
  await server?.stop();
  await h?.close();
});

/** The app on a real loopback socket, so the peer address is the socket's (127.0.0.1). */
async function listening(env: Record<string, string>) {
  h = await createHarness(env);
  const app = h.app.listen({ port: 0, hostname: "127.0.0.1" });
  server = app;
  const port = app.server!.port;
  return async (flyClientIp?: string) => {
    const init = await signedStripeRequest(stripeEvent("customer.updated", { id: "cus_ip" }));
    const headers = {
      ...(init.headers as Record<string, string>),
      ...(flyClientIp ? { "fly-client-ip": flyClientIp } : {}),
    };
    return (await fetch(`http://127.0.0.1:${port}${PATH}`, { ...init, headers })).status;
  };
}

test("without TRUST_PROXY a Fly-Client-IP header is ignored: an allowlisted one lets no caller in", async () => {
  const send = await listening({ INBOUND_ALLOW_CIDRS: "10.0.0.0/8" });
  expect(await send("10.1.2.3")).toBe(403);
  expect(await send()).toBe(403);
});

test("without TRUST_PROXY the socket's address decides, whatever the header claims", async () => {
  const send = await listening({ INBOUND_ALLOW_CIDRS: "127.0.0.0/8" });
  expect(await send("8.8.8.8")).toBe(200);
});

test("with TRUST_PROXY=fly the Fly-Client-IP header is the client's address", async () => {
  const send = await listening({ INBOUND_ALLOW_CIDRS: "10.0.0.0/8", TRUST_PROXY: "fly" });
  expect(await send("10.1.2.3")).toBe(200);
  expect(await send("8.8.8.8")).toBe(403);
});
