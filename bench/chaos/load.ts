// A mixed webhook load, signed as the providers sign, retried as the providers retry (a non-2xx or a broken
// connection is sent again a second later), spread over the web processes.
import Stripe from "stripe";
import { STRIPE_SECRET, TWILIO_ACCOUNT_SID } from "../../test/support/harness";
import { inboundParams, messageSid, signedTwilioRequest } from "../../test/support/twilio";
import type { Seeded, World } from "./world";

export interface Webhook {
  provider: "stripe" | "twilio-sms" | "twilio-status";
  key: string;
  ackedAt?: number;
  sends: number;
}

/** A 5xx answer: when its request was sent and when the answer came. */
export interface Response5xx {
  at: number;
  answeredAt: number;
  status: number;
  path: string;
}

export interface Load {
  webhooks: Webhook[];
  fivexx: Response5xx[];
  /** Connection refused or reset (a killed web process): retried, never an answer. */
  broken: number[];
  /** Stops offering new webhooks; retries of unacknowledged ones go on until `settle` is done. */
  stop(): void;
  /** Waits until every webhook offered was acknowledged (bounded by `limitMs`). */
  settle(limitMs: number): Promise<void>;
}

const STRIPE_PATH = "/api/v1/webhooks/stripe/payment-events";
const SMS_PATH = "/v1/clinic/webhooks/twilio/sms";
const STATUS_PATH = "/api/v1/webhooks/twilio/sms-status";
const TEXTS = ["HELP", "Hello, is parking available?", "CONFIRM", "Thanks!", "What time again?"];

/** Offers `ratePerSecond` new webhooks a second: Stripe payments and other events, inbound SMS, status callbacks. */
export function startLoad(world: World, seeded: Seeded, ratePerSecond: number): Load {
  const webhooks: Webhook[] = [];
  const fivexx: Response5xx[] = [];
  const broken: number[] = [];
  let stopped = false;
  let n = 0;
  let turn = 0;
  const unpaid = [...seeded.appointments];
  const callbacksDone = new Set<string>();
  const pending = new Set<Promise<void>>();

  const post = async (hook: Webhook, path: string, init: () => Promise<RequestInit> | RequestInit) => {
    webhooks.push(hook);
    const give = Date.now() + 120_000;
    while (Date.now() < give) {
      const webs = world.webs();
      const web = webs[turn++ % Math.max(1, webs.length)];
      hook.sends++;
      const sentAt = Date.now();
      try {
        if (!web) throw new Error("no web process");
        const res = await fetch(`http://127.0.0.1:${web.port}${path}`, {
          ...(await init()),
          signal: AbortSignal.timeout(15_000),
        });
        await res.arrayBuffer();
        if (res.ok) {
          hook.ackedAt = Date.now();
          return;
        }
        if (res.status >= 500) fivexx.push({ at: sentAt, answeredAt: Date.now(), status: res.status, path });
        else throw new Error(`${path} answered ${res.status}: a load bug, not a fault`);
      } catch (error) {
        if (String(error).includes("a load bug")) throw error;
        broken.push(Date.now());
      }
      await Bun.sleep(1000);
    }
  };

  const offer = () => {
    const roll = n++ % 10;
    let sent: Promise<void>;
    if (roll < 2 && unpaid.length > 0) {
      const appointment = unpaid.shift()!;
      const event = stripeEvent("payment_intent.succeeded", {
        id: `pi_chaos_${n}`,
        object: "payment_intent",
        amount: 5000,
        amount_received: 5000,
        currency: "usd",
        metadata: { booking_id: appointment.id },
      });
      sent = post({ provider: "stripe", key: event.id, sends: 0 }, STRIPE_PATH, () => signedStripe(event));
    } else if (roll < 4) {
      const event = stripeEvent("customer.created", { id: `cus_chaos_${n}`, object: "customer" });
      sent = post({ provider: "stripe", key: event.id, sends: 0 }, STRIPE_PATH, () => signedStripe(event));
    } else if (roll < 8) {
      const patient = seeded.patients[n % seeded.patients.length]!;
      const params = inboundParams(patient.phone, patient.clinicPhone, TEXTS[n % TEXTS.length]!, {
        MessageSid: messageSid(),
      });
      sent = post({ provider: "twilio-sms", key: params.MessageSid!, sends: 0 }, SMS_PATH, () =>
        signedTwilioRequest(SMS_PATH, params),
      );
    } else {
      // A callback for an SMS Twilio (the fake) took: sent, then delivered, one in ten undelivered.
      const message = world.twilio.messages.find(
        (m) => !callbacksDone.has(`${m.sid}:delivered`) && !callbacksDone.has(`${m.sid}:undelivered`),
      );
      const sid = message?.sid ?? messageSid();
      const status = !message
        ? "sent"
        : !callbacksDone.has(`${sid}:sent`)
          ? "sent"
          : n % 10 === 9
            ? "undelivered"
            : "delivered";
      callbacksDone.add(`${sid}:${status}`);
      const params: Record<string, string> = {
        AccountSid: TWILIO_ACCOUNT_SID,
        MessageSid: sid,
        SmsSid: sid,
        MessageStatus: status,
        SmsStatus: status,
        To: message?.to ?? "+15550000001",
        From: message?.from ?? "+15550000000",
        ApiVersion: "2010-04-01",
        ...(status === "undelivered" ? { ErrorCode: "30003" } : {}),
      };
      sent = post({ provider: "twilio-status", key: `${sid}:${status}`, sends: 0 }, STATUS_PATH, () =>
        signedTwilioRequest(STATUS_PATH, params),
      );
    }
    const tracked = sent.finally(() => pending.delete(tracked));
    pending.add(tracked);
  };

  const timer = setInterval(() => {
    if (!stopped) offer();
  }, 1000 / ratePerSecond);
  return {
    webhooks,
    fivexx,
    broken,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
    async settle(limitMs) {
      await Promise.race([Promise.all([...pending]), Bun.sleep(limitMs)]);
    },
  };
}

let seq = 0;
function stripeEvent(type: string, object: Record<string, unknown>) {
  return {
    id: `evt_chaos_${Date.now()}_${++seq}`,
    object: "event",
    api_version: "2024-06-20",
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    type,
    data: { object },
  };
}

/** Signed afresh on every send, as Stripe does (a retry carries a new timestamp). */
async function signedStripe(event: object): Promise<RequestInit> {
  const payload = JSON.stringify(event);
  const header = await Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: STRIPE_SECRET });
  return { method: "POST", headers: { "content-type": "application/json", "stripe-signature": header }, body: payload };
}
