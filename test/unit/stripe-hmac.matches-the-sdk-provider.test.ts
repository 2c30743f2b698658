import { expect, test } from "bun:test";
import Stripe from "stripe";
import { ThreadHmac } from "../../src/inbound/stripe-hmac";

// The thread HMAC replaces the SDK's Web Crypto provider for speed only: same signatures, sync and async.
test("the thread HMAC signs as the SDK's own provider does, and the SDK accepts and refuses with it", async () => {
  const hmac = new ThreadHmac();
  const subtle = Stripe.createSubtleCryptoProvider();
  // The CryptoProvider interface's own sample values, then a body with characters outside ASCII.
  expect(hmac.computeHMACSignature("", "test_secret"))
    .toBe("f7f9bd47fb987337b5796fdc1fdb9ba221d0d5396814bfcaf9521f43fd8927fd");
  expect(hmac.computeHMACSignature("\ud83d\ude00", "test_secret"))
    .toBe("837da296d05c4fe31f61d5d7ead035099d9585a5bcde87de952012a78f0b0c43");
  const body = JSON.stringify({ id: "evt_1", object: "event", type: "x", note: "café ünïcode 😀" });
  expect(await hmac.computeHMACSignatureAsync(body, "whsec_x")).toBe(await subtle.computeHMACSignatureAsync(body,
    "whsec_x"));
  const header = await Stripe.webhooks.generateTestHeaderStringAsync({ payload: body, secret: "whsec_x" });
  expect((await Stripe.webhooks.constructEventAsync(body, header, "whsec_x", 300, hmac)).id).toBe("evt_1");
  await expect(Stripe.webhooks.constructEventAsync(body, header, "whsec_other", 300, hmac)).rejects
    .toBeInstanceOf(Stripe.errors.StripeSignatureVerificationError);
});
