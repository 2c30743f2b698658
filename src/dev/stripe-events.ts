// Stripe events as Stripe sends them: the envelope and full PaymentIntent / Charge objects of the installed SDK's
// API version, typed with the SDK's own types so that an SDK upgrade shows what changed.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Stripe from "stripe";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** Stripe's id shape: a prefix, then 24 characters (`pi_3QxYz…`). */
const idOf = (prefix: string, bytes: Buffer) =>
  `${prefix}_3${[...bytes.subarray(0, 23)].map((b) => BASE62[b % 62]).join("")}`;
export const stripeId = (prefix: string) => idOf(prefix, randomBytes(23));

/**
 * One PaymentIntent, and one Charge that paid it, per appointment, as at Stripe: a later `charge.refunded` names the
 * charge that paid (Stripe's amount_refunded is that charge's running total), whichever `simulate` run sent what.
 */
export function depositIds(d: { appointmentId: string }): { pi: string; ch: string } {
  if (!d.appointmentId) return { pi: stripeId("pi"), ch: stripeId("ch") };
  const derived = (prefix: string) =>
    idOf(prefix, createHash("sha256").update(`${prefix}:${d.appointmentId}`).digest());
  return { pi: derived("pi"), ch: derived("ch") };
}

/** Every event type the installed stripe SDK knows: its `Stripe.Event.Type` union, read from its type definitions. */
export function stripeEventTypes(): string[] {
  const root = dirname(fileURLToPath(import.meta.resolve("stripe/package.json")));
  const file = resolve(root, "esm/resources/Events.d.ts");
  if (!existsSync(file)) return [];
  const union = readFileSync(file, "utf8").match(/type Type = ([^;]+);/)?.[1] ?? "";
  return [...union.matchAll(/'([a-z0-9_.]+)'/g)].map((m) => m[1]!);
}

export interface Deposit {
  /** Empty: an event about no appointment. */
  appointmentId: string;
  /** Minor units (cents). */
  amount: number;
  currency: string;
}

const now = () => Math.floor(Date.now() / 1000);
/** How a clinic's checkout ties a payment to its appointment (SPEC 5); none when no appointment was named. */
const metadata = (d: Deposit): Stripe.Metadata => (d.appointmentId ? { booking_id: d.appointmentId } : {});

const PI_STATUS: Record<string, Stripe.PaymentIntent.Status> = {
  "payment_intent.succeeded": "succeeded", "payment_intent.processing": "processing",
  "payment_intent.canceled": "canceled",
  "payment_intent.requires_action": "requires_action", "payment_intent.amount_capturable_updated": "requires_capture",
  "payment_intent.created": "requires_payment_method", "payment_intent.payment_failed": "requires_payment_method",
  "payment_intent.partially_funded": "requires_payment_method",
};

const DECLINED: Stripe.PaymentIntent.LastPaymentError = {
  code: "card_declined", decline_code: "insufficient_funds",
  doc_url: "https://stripe.com/docs/error-codes/card-declined",
  message: "Your card has insufficient funds.", payment_method_type: "card", type: "card_error",
};

export function paymentIntent(
  deposit: Deposit, status: Stripe.PaymentIntent.Status,
): Stripe.PaymentIntent {
  const succeeded = status === "succeeded";
  const failed = status === "requires_payment_method";
  // A declined attempt is a charge of its own; the one that pays is the deposit's.
  const ids = { pi: depositIds(deposit).pi, ch: failed ? stripeId("ch") : depositIds(deposit).ch };
  return {
    id: ids.pi, object: "payment_intent", allowed_payment_method_types: null, amount: deposit.amount,
    amount_capturable: status === "requires_capture" ? deposit.amount : 0, amount_details: { tip: {} },
    amount_received: succeeded ? deposit.amount : 0, application: null, application_fee_amount: null,
    automatic_payment_methods: { allow_redirects: "always", enabled: true },
    canceled_at: status === "canceled" ? now() : null,
    cancellation_reason: status === "canceled" ? "requested_by_customer" : null, capture_method: "automatic_async",
    client_secret: `${ids.pi}_secret_${randomBytes(12).toString("hex")}`, confirmation_method: "automatic",
    created: now() - 5,
    currency: deposit.currency, customer: null, customer_account: null, description: "Appointment deposit",
    excluded_payment_method_types: null, last_payment_error: failed ? { ...DECLINED, charge: ids.ch } : null,
    latest_charge: succeeded || failed ? ids.ch : null, livemode: false, managed_payments: null,
    metadata: metadata(deposit), next_action: null, on_behalf_of: null,
    payment_method: succeeded ? stripeId("pm") : null,
    payment_method_configuration_details: { id: stripeId("pmc"), parent: null },
    payment_method_options: {
      card: { installments: null, mandate_options: null, network: null, request_three_d_secure: "automatic" },
    },
    payment_method_types: ["card"], payment_record: null, processing: null, receipt_email: null, review: null,
    setup_future_usage: null, shipping: null, source: null, statement_descriptor: null,
    statement_descriptor_suffix: null,
    status, transfer_data: null, transfer_group: null,
  };
}

export function charge(
  deposit: Deposit, opts: { refunded?: number; status?: Stripe.Charge.Status; paymentIntent?: string } = {},
): Stripe.Charge {
  const refunded = opts.refunded ?? 0;
  const status = opts.status ?? "succeeded";
  const ids = depositIds(deposit);
  const id = status === "failed" ? stripeId("ch") : ids.ch;
  return {
    id, object: "charge", amount: deposit.amount, amount_captured: status === "succeeded" ? deposit.amount : 0,
    amount_refunded: refunded,
    application: null, application_fee: null, application_fee_amount: null, balance_transaction: stripeId("txn"),
    billing_details: {
      address: { city: null, country: "US", line1: null, line2: null, postal_code: "10001", state: null },
      email: null, name: null, phone: null, tax_id: null,
    },
    calculated_statement_descriptor: "SWITCHBOARD CLINIC", captured: status === "succeeded", created: now() - 5,
    currency: deposit.currency, customer: null, description: "Appointment deposit", disputed: false,
    failure_balance_transaction: null, failure_code: status === "failed" ? "card_declined" : null,
    failure_message: status === "failed" ? "Your card has insufficient funds." : null, fraud_details: {},
    livemode: false,
    metadata: metadata(deposit), on_behalf_of: null,
    outcome: {
      advice_code: null, network_advice_code: null, network_decline_code: null, network_status: "approved_by_network",
      reason: null, risk_level: "normal", risk_score: 32, seller_message: "Payment complete.", type: "authorized",
    },
    paid: status === "succeeded", payment_intent: opts.paymentIntent ?? ids.pi, payment_method: stripeId("pm"),
    payment_method_details: null, receipt_email: null, receipt_number: null,
    receipt_url: `https://pay.stripe.com/receipts/payment/${randomBytes(24).toString("base64url")}`,
    refunded: refunded >= deposit.amount, review: null, shipping: null, source: null, source_transfer: null,
    statement_descriptor: null, statement_descriptor_suffix: null, status, transfer_data: null, transfer_group: null,
    refunds: refunded > 0 ? { object: "list", has_more: false, url: `/v1/charges/${id}/refunds`, data: [] } : null,
  };
}

/** The data.object of an event type: a PaymentIntent, a Charge, or (other types) a stub of that resource. */
function objectFor(type: string, deposit: Deposit): Stripe.Event.Data.Object {
  const status = PI_STATUS[type];
  if (type.startsWith("payment_intent.")) return paymentIntent(deposit, status ?? "requires_payment_method");
  if (type === "charge.refunded") return charge(deposit, { refunded: deposit.amount });
  if (type === "charge.failed") return charge(deposit, { status: "failed" });
  if (type === "charge.pending") return charge(deposit, { status: "pending" });
  if (type.startsWith("charge.")) return charge(deposit);
  const resource = type.slice(0, type.lastIndexOf("."));
  return { id: stripeId(resource.split(".").at(-1)!.slice(0, 4)), object: resource, metadata: metadata(deposit) };
}

/** An event of `type` about the appointment's deposit, in the envelope Stripe posts (api_version of this SDK). */
export function stripeEvent(
  type: string, deposit: Deposit, opts: { id?: string; object?: Stripe.Event.Data.Object } = {},
): Stripe.Event {
  return {
    id: opts.id ?? stripeId("evt"), object: "event", api_version: Stripe.API_VERSION, created: now(),
    data: { object: opts.object ?? objectFor(type, deposit) }, livemode: false, pending_webhooks: 1,
    request: { id: stripeId("req"), idempotency_key: crypto.randomUUID() }, type,
  } as Stripe.Event;
}

/** Signed as Stripe signs: the SDK's own test header helper over the exact body. */
export async function signStripe(body: string, secret: string): Promise<Record<string, string>> {
  const signature = await Stripe.webhooks.generateTestHeaderStringAsync({ payload: body, secret });
  return {
    "content-type": "application/json; charset=utf-8", "stripe-signature": signature,
    "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
  };
}

/** Levenshtein distance, for "did you mean" on a mistyped event type. */
export function closest(word: string, candidates: string[]): string | undefined {
  const distance = (a: string, b: string) => {
    let row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++) {
        next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      }
      row = next;
    }
    return row[b.length]!;
  };
  const best = candidates.map((c) => ({ c, d: distance(word, c) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= Math.max(3, Math.floor(word.length / 4)) ? best.c : undefined;
}
