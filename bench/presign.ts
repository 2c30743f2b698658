// Pre-signs a cell's requests before its load starts, in a process of its own so that its CPU is reported apart
// ("presign") from the load generator's. `bun bench/presign.ts '<json>'` with provider, count, gap
// (bench/workload.ts), out, stripeSecret, twilioToken, publicUrl. Writes `out`: one request a line, in sending
// order, `signature<TAB>body` (bodies hold no tab or newline), and `out.keys`: the idempotency key Switchboard
// stores for each line.
import { writeFileSync } from "node:fs";
import Stripe from "stripe";
import twilio from "twilio";
import { PATHS, type Provider, statusCallback, stripeEvent } from "./workload";

const opts = JSON.parse(process.argv[2]!) as {
  provider: Provider; count: number; gap: number; out: string;
  stripeSecret: string; twilioToken: string; publicUrl: string;
};
const lines: string[] = new Array(opts.count);
const keys: string[] = new Array(opts.count);
const timestamp = Math.floor(Date.now() / 1000);
// Stripe's signing is asynchronous (Web Crypto): a thousand at a time is several times faster than one by one.
for (let from = 0; from < opts.count; from += 1000) {
  const batch = Array.from({ length: Math.min(1000, opts.count - from) }, (_, n) => from + n);
  await Promise.all(batch.map(async (i) => {
    if (opts.provider === "stripe") {
      const payload = stripeEvent(i, timestamp);
      const signature = await Stripe.webhooks.generateTestHeaderStringAsync({
        payload, secret: opts.stripeSecret, timestamp,
      });
      lines[i] = `${signature}\t${payload}`;
      keys[i] = `evt_bench_${i}`;
    } else {
      const { key, params } = statusCallback(i, opts.gap);
      const url = opts.publicUrl + PATHS["twilio-status"];
      lines[i] = `${twilio.getExpectedTwilioSignature(opts.twilioToken, url, params)}\t${new URLSearchParams(params)}`;
      keys[i] = key;
    }
  }));
}
writeFileSync(opts.out, `${lines.join("\n")}\n`);
writeFileSync(`${opts.out}.keys`, `${keys.join("\n")}\n`);
