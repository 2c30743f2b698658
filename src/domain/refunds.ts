import { formatMoney } from "./money";

export type RefundStatus = "none" | "partial" | "full";

export type RefundBooking = { kind: "book"; amount: number } | { kind: "nothing" };

/**
 * What one `charge.refunded` adds to the ledger. Stripe's `amount_refunded` is the charge's cumulative total, and
 * events come late, twice or out of order: only the part above what is already booked for the charge is new, so
 * a replay or an older (smaller) total books nothing and the charge's rows always add up to the largest total seen.
 */
export function refundToBook(cumulative: number, alreadyBooked: number): RefundBooking {
  const amount = cumulative - alreadyBooked;
  return amount > 0 ? { kind: "book", amount } : { kind: "nothing" };
}

/**
 * Whether the deposit is fully or partly refunded, from the refunds booked against what was paid. `paid` is
 * unknown only when neither the ledger nor the charge says it; then Stripe's own `refunded` flag decides.
 */
export function refundStatus(refunded: number, paid: number | null, stripeSaysFull: boolean): RefundStatus {
  if (refunded <= 0) return "none";
  if (paid === null) return stripeSaysFull ? "full" : "partial";
  return refunded >= paid ? "full" : "partial";
}

/** The patient's email about one refund: it states this refund's amount, and how much of the deposit is back. */
export function refundNotice(
  clinicName: string,
  r: { amount: number; refunded: number; paid: number | null; currency: string; status: RefundStatus },
): { subject: string; body: string } {
  const money = (minor: number) => formatMoney(minor, r.currency);
  if (r.status === "full" && r.amount === r.refunded) {
    return { subject: `${clinicName}: deposit refunded`, body: `Your ${money(r.amount)} deposit has been refunded.` };
  }
  const issued = `Your ${money(r.amount)} deposit refund has been issued.`;
  if (r.status === "full") {
    return {
      subject: `${clinicName}: deposit refunded`,
      body: `${issued} Your ${money(r.paid ?? r.refunded)} deposit is now fully refunded.`,
    };
  }
  const soFar = `${money(r.refunded)} of your ${r.paid === null ? "" : `${money(r.paid)} `}deposit`;
  return {
    subject: `${clinicName}: deposit partly refunded`,
    body: `${issued} This is a partial refund: ${soFar} has been refunded so far.`,
  };
}
