import { createHash, createHmac } from "node:crypto";
import Stripe from "stripe";

/**
 * Stripe's own signature check (constructEventAsync: the header's timestamp and v1 signatures, the tolerance, a
 * constant-time comparison) with the HMAC computed in this thread by node:crypto. The SDK's default provider on Bun
 * is Web Crypto: every check was two trips to a thread pool (key import and sign), each waking the event loop again;
 * at a few thousand webhooks a second those wake-ups cost more than the HMAC.
 */
export class ThreadHmac extends Stripe.CryptoProvider {
  override computeHMACSignature(payload: string, secret: string): string {
    return createHmac("sha256", secret).update(payload, "utf8").digest("hex");
  }
  override async computeHMACSignatureAsync(payload: string, secret: string): Promise<string> {
    return this.computeHMACSignature(payload, secret);
  }
  override async computeSHA256Async(data: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(createHash("sha256").update(data).digest());
  }
}
