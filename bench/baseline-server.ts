// The two baselines of the benchmark, as small as a Bun server can be: it checks the same signatures as
// Switchboard on the raw body, then either does one autocommitted INSERT (MODE=plain: the ceiling of
// one-row-per-request) or the naive per-request transaction, INSERT + graphile_worker.add_job (MODE=naive).
import postgres from "postgres";
import Stripe from "stripe";
import twilio from "twilio";
import { ThreadHmac } from "../src/inbound/stripe-hmac";

const { MODE, PORT, DATABASE_URL, STRIPE_SECRET, TWILIO_TOKEN, PUBLIC_URL } = process.env as Record<string, string>;
const sql = postgres(DATABASE_URL, { max: 20, onnotice: () => {} });
const STRIPE_PATH = "/api/v1/webhooks/stripe/payment-events";
const STATUS_PATH = "/api/v1/webhooks/twilio/sms-status";
/** The HMAC as Switchboard computes it (in the thread, not through Web Crypto's thread pool). */
const HMAC = new ThreadHmac();

async function keyOf(path: string, request: Request, raw: string): Promise<[provider: string, key: string] | Response> {
  if (path === STRIPE_PATH) {
    try {
      const event = await Stripe.webhooks.constructEventAsync(
        raw, request.headers.get("stripe-signature") ?? "", STRIPE_SECRET, 300, HMAC,
      );
      return ["stripe", event.id];
    } catch {
      return new Response("Webhook Error", { status: 400 });
    }
  }
  const params = new URLSearchParams(raw);
  const ok = twilio.validateRequest(
    TWILIO_TOKEN, request.headers.get("x-twilio-signature") ?? "", PUBLIC_URL + path, Object.fromEntries(params),
  );
  if (!ok) return new Response("Forbidden", { status: 403 });
  return ["twilio-status", `${params.get("MessageSid")}:${params.get("MessageStatus")}`];
}

async function store(provider: string, key: string, raw: string, headers: Headers): Promise<void> {
  const row = {
    provider, idempotency_key: key, raw_body: raw, headers: sql.json(Object.fromEntries(headers)),
    response_status: 200, response_body: "ok", response_content_type: "application/json",
  };
  if (MODE === "plain") {
    await sql`insert into webhook_events ${sql(row)} on conflict do nothing`;
    return;
  }
  await sql.begin(async (tx) => {
    const [inserted] = await tx`insert into webhook_events ${tx(row)} on conflict do nothing returning id`;
    if (inserted) {
      await tx`select graphile_worker.add_job('process-webhook', json_build_object('eventId', ${inserted.id}::bigint),
        job_key := ${`event:${inserted.id}`})`;
    }
  });
}

Bun.serve({
  port: Number(PORT),
  hostname: "127.0.0.1",
  async fetch(request) {
    const path = new URL(request.url).pathname;
    if (request.method === "GET") return new Response("ok");
    const raw = await request.text();
    const found = await keyOf(path, request, raw);
    if (found instanceof Response) return found;
    try {
      await store(found[0], found[1], raw, request.headers);
      return Response.json(path === STRIPE_PATH ? { received: true } : { status: "received" });
    } catch {
      return Response.json({ error: "storage_unavailable" }, { status: 500 });
    }
  },
});
