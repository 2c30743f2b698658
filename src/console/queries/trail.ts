import { and, asc, eq, inArray, or } from "drizzle-orm";
import type Stripe from "stripe";
import {
  appointmentHistory,
  appointments,
  clinicEvents,
  deliveries,
  emailOutbox,
  messages,
  smsMessages,
  smsReplies,
  smsStatusEvents,
  transactions,
  webhookEvents,
} from "../../../db/schema";
import type { Db } from "../../db";
import { UUID } from "./keyset";

/** One thing a webhook caused, linked to its own console page. */
export interface TrailItem {
  at: Date;
  kind: "appointment" | "ledger" | "sms" | "sms status" | "email" | "message" | "clinic event" | "delivery" | "reply";
  label: string;
  status?: string;
  detail?: string | null;
  href?: string;
}

type Event = typeof webhookEvents.$inferSelect;
/** What the trail reads of a stored Stripe event (typed by the stripe SDK); any part may be missing. */
type StripeBody = Partial<Pick<Stripe.Event, "id">> & { data?: { object?: Partial<Stripe.Charge> } };

/**
 * What an event led to, found through the keys its processor used (src/jobs/*-event.ts and src/effects/*): the
 * audit trail names the event as cause, the ledger its id, and SMS, emails and clinic events carry dedupe keys
 * built from the provider's ids. Then the deliveries of every message and clinic event found.
 */
export async function eventTrail(db: Db, event: Event): Promise<TrailItem[]> {
  const items: TrailItem[] = [];
  const smsKeys: string[] = [];
  const emailKeys: string[] = [];
  const clinicEventKeys: string[] = [];
  const smsIds: string[] = [];
  const messageIds: string[] = [];

  const changes = await db
    .select()
    .from(appointmentHistory)
    .where(
      or(
        and(eq(appointmentHistory.causeType, "webhook_event"), eq(appointmentHistory.causeId, String(event.id))),
        event.provider === "twilio-sms"
          ? and(eq(appointmentHistory.causeType, "sms"), eq(appointmentHistory.causeId, event.idempotencyKey))
          : undefined,
      ),
    );
  for (const c of changes) {
    items.push({
      at: c.at,
      kind: "appointment",
      label: `appointment ${c.fromStatus ?? "new"} → ${c.toStatus}`,
      href: `/console/appointments/${c.appointmentId}`,
    });
  }

  if (event.provider === "stripe") {
    let body: StripeBody = {};
    try {
      body = JSON.parse(event.rawBody) as StripeBody;
    } catch {
      /* a body removed by retention: only the ledger and audit trail link it */
    }
    const object = body.data?.object ?? {};
    const ledger = await db.select().from(transactions).where(eq(transactions.webhookEventId, event.id));
    for (const t of ledger) {
      // A refund's notice is keyed like its ledger row (`<charge>:<cumulative amount_refunded>`).
      if (t.kind === "refund") emailKeys.push(`refund:${t.stripeObjectId}`);
      items.push({
        at: t.createdAt,
        kind: "ledger",
        label: `${t.kind} ${t.amount} ${t.currency} (${t.stripeObjectId})`,
        href: `/console/appointments/${t.appointmentId}`,
      });
    }
    const booking = object.metadata?.booking_id ?? object.metadata?.appointment_id;
    if (booking && UUID.test(booking) && !items.some((i) => i.href === `/console/appointments/${booking}`)) {
      const [a] = await db
        .select({ id: appointments.id, status: appointments.status, at: appointments.updatedAt })
        .from(appointments)
        .where(eq(appointments.id, booking));
      if (a)
        items.push({
          at: a.at,
          kind: "appointment",
          label: `appointment ${booking}`,
          status: a.status,
          href: `/console/appointments/${a.id}`,
        });
    }
    for (const id of [object.id, body.id]) if (id) smsKeys.push(`deposit-confirmation:${id}`);
    if (body.id) emailKeys.push(`payment-failed:${body.id}`);
    if (object.id && object.amount_refunded !== undefined)
      emailKeys.push(`refund:${object.id}:${object.amount_refunded}`);
  }

  if (event.provider === "twilio-sms") {
    const sid = event.idempotencyKey;
    smsKeys.push(`reply:${sid}`);
    emailKeys.push(`sms-request:${sid}`, `twilio-fallback:${sid}`);
    clinicEventKeys.push(`sms-request:${sid}`);
    const [reply] = await db.select().from(smsReplies).where(eq(smsReplies.inboundSid, sid));
    if (reply) items.push({ at: reply.createdAt, kind: "reply", label: `reply (${reply.via}): ${reply.body}` });
    const found = await db.select().from(messages).where(eq(messages.externalId, sid));
    for (const m of found) {
      messageIds.push(m.id);
      items.push({
        at: m.createdAt,
        kind: "message",
        label: `${m.type} message in conversation ${m.conversationId.slice(0, 8)}`,
        status: m.status,
      });
    }
  }

  if (event.provider === "twilio-status") {
    const history = await db.select().from(smsStatusEvents).where(eq(smsStatusEvents.webhookEventId, event.id));
    for (const h of history) {
      items.push({
        at: h.receivedAt,
        kind: "sms status",
        label: `status ${h.status} recorded for ${h.twilioSid}`,
        status: h.status,
        detail: h.errorCode ? `error ${h.errorCode}` : null,
        href: h.smsMessageId ? `/console/sms/${h.smsMessageId}` : undefined,
      });
    }
    const sid = event.idempotencyKey.split(":")[0]!;
    const [sms] = await db.select({ id: smsMessages.id }).from(smsMessages).where(eq(smsMessages.twilioSid, sid));
    if (sms) {
      smsIds.push(sms.id);
      emailKeys.push(`sms-fallback:${sms.id}`, `sms-failed-alert:${sms.id}`, `sms-unconfirmed-alert:${sms.id}`);
      clinicEventKeys.push(`sms-failed:${sms.id}`);
    }
  }

  const sms = await db
    .select()
    .from(smsMessages)
    .where(
      or(
        smsKeys.length ? inArray(smsMessages.dedupeKey, smsKeys) : undefined,
        smsIds.length ? inArray(smsMessages.id, smsIds) : undefined,
      ) ?? eq(smsMessages.id, "00000000-0000-0000-0000-000000000000"),
    );
  for (const s of sms) {
    items.push({
      at: s.createdAt,
      kind: "sms",
      label: `${s.kind} SMS to ${s.to}`,
      status: s.status,
      detail: s.errorCode ? `error ${s.errorCode}${s.errorMessage ? `: ${s.errorMessage}` : ""}` : s.errorMessage,
      href: `/console/sms/${s.id}`,
    });
  }
  if (emailKeys.length) {
    for (const e of await db.select().from(emailOutbox).where(inArray(emailOutbox.dedupeKey, emailKeys))) {
      items.push({
        at: e.createdAt,
        kind: "email",
        label: `${e.kind} email to ${e.to}: ${e.subject}`,
        status: e.status,
        detail: e.lastError,
        href: `/console/emails/${e.id}`,
      });
    }
  }
  const clinicEventIds: string[] = [];
  if (clinicEventKeys.length) {
    for (const c of await db.select().from(clinicEvents).where(inArray(clinicEvents.dedupeKey, clinicEventKeys))) {
      clinicEventIds.push(c.id);
      items.push({ at: c.createdAt, kind: "clinic event", label: c.type });
    }
  }
  if (messageIds.length || clinicEventIds.length) {
    const sent = await db
      .select()
      .from(deliveries)
      .where(
        or(
          messageIds.length ? inArray(deliveries.messageId, messageIds) : undefined,
          clinicEventIds.length ? inArray(deliveries.clinicEventId, clinicEventIds) : undefined,
        ),
      )
      .orderBy(asc(deliveries.seq));
    for (const d of sent) {
      items.push({
        at: d.createdAt,
        kind: "delivery",
        label: `${d.eventType} webhook (attempts: ${d.attempts})`,
        status: d.status,
        detail: d.lastError ?? (d.lastStatus ? `HTTP ${d.lastStatus}` : null),
        href: `/console/deliveries/${d.id}`,
      });
    }
  }
  return items.sort((a, b) => a.at.getTime() - b.at.getTime());
}
