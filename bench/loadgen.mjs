// Load generator, run with node as its own process (so its CPU use is visible and apart from the server's).
// Pre-signs `count` distinct webhooks (every request is a new event), then drives them with autocannon's
// programmatic API for `duration` seconds over `connections` keep-alive connections. Writes the idempotency
// keys that got a 2xx to `ackFile` (one per line) and prints autocannon's summary as one JSON line.
import { writeFileSync } from "node:fs";
import autocannon from "autocannon";
import Stripe from "stripe";
import twilio from "twilio";

const opts = JSON.parse(process.argv[2]);
const { url, provider, connections, duration, count, prefix, stripeSecret, twilioToken, publicUrl, ackFile } = opts;
const STRIPE_PATH = "/api/v1/webhooks/stripe/payment-events";
const STATUS_PATH = "/api/v1/webhooks/twilio/sms-status";
const STATUSES = ["queued", "sent", "delivered"];

async function presign() {
  const out = new Array(count);
  const t = Math.floor(Date.now() / 1000);
  for (let i = 0; i < count; i++) {
    if (provider === "stripe") {
      const id = `evt_${prefix}_${i}`;
      const body = JSON.stringify({
        id, object: "event", api_version: "2024-06-20", created: t, livemode: false, type: "payment_intent.succeeded",
        data: { object: {
          id: `pi_${prefix}_${i}`, object: "payment_intent", amount: 6000, currency: "usd",
          metadata: { booking_id: "00000000-0000-4000-8000-000000000000" },
        } },
      });
      const signature =
        await Stripe.webhooks.generateTestHeaderStringAsync({ payload: body, secret: stripeSecret, timestamp: t });
      out[i] = { key: id, body, headers: { "content-type": "application/json", "stripe-signature": signature } };
    } else {
      const sid = `SM${prefix}${String(Math.floor(i / STATUSES.length)).padStart(10, "0")}`.padEnd(34, "0");
      const status = STATUSES[i % STATUSES.length];
      const params = {
        MessageSid: sid, SmsSid: sid, MessageStatus: status, SmsStatus: status, AccountSid: `AC${"0".repeat(32)}`,
        From: "+15551230000", To: "+15557654321", ApiVersion: "2010-04-01",
      };
      const signature = twilio.getExpectedTwilioSignature(twilioToken, publicUrl + STATUS_PATH, params);
      out[i] = {
        key: `${sid}:${status}`, body: new URLSearchParams(params).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature },
      };
    }
  }
  return out;
}

const signed = await presign();
const acked = [];
let next = 0;
let exhausted = false;
const result = await autocannon({
  url,
  connections,
  duration,
  // The half-rate cell offers a fixed rate (requests per second over all connections); 0 or absent: as fast as
  // answered.
  ...(opts.overallRate ? { overallRate: opts.overallRate } : {}),
  timeout: 10,
  requests: [{
    method: "POST",
    path: provider === "stripe" ? STRIPE_PATH : STATUS_PATH,
    setupRequest(req, context) {
      if (next >= signed.length) exhausted = true;
      const r = signed[next++ % signed.length];
      context.key = r.key;
      return { ...req, body: r.body, headers: r.headers };
    },
    onResponse(status, _body, context) {
      if (status >= 200 && status < 300) acked.push(context.key);
    },
  }],
});
writeFileSync(ackFile, acked.join("\n"));
console.log(JSON.stringify({
  sent: next, acked: acked.length, exhausted,
  duration: result.duration, requests: result.requests.total,
  non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts,
  latency: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
}));
