-- Refund rows booked before 0004 hold Stripe's cumulative amount_refunded (keyed "<charge>:<cumulative>"), so
-- two partial refunds of one charge were booked as 2000 + 3000. Give each row its charge and turn its amount into
-- the increment over the charge's previous cumulative amount, as new rows are booked; then derive the
-- appointment's refund fields from the corrected ledger (deposit_refunded only when fully refunded).
WITH legacy AS (
  SELECT id, split_part(stripe_object_id, ':', 1) AS charge,
    amount - coalesce(lag(amount) OVER (PARTITION BY split_part(stripe_object_id, ':', 1) ORDER BY amount), 0) AS increment
  FROM transactions WHERE kind = 'refund' AND charge_id IS NULL
)
UPDATE transactions t SET charge_id = legacy.charge, amount = legacy.increment FROM legacy WHERE t.id = legacy.id;
--> statement-breakpoint
WITH ledger AS (
  SELECT appointment_id,
    sum(amount) FILTER (WHERE kind = 'refund')::int AS refunded,
    sum(amount) FILTER (WHERE kind = 'deposit')::int AS paid
  FROM transactions GROUP BY appointment_id
), decided AS (
  SELECT a.id, l.refunded,
    CASE WHEN l.refunded >= coalesce(nullif(l.paid, 0), a.deposit_amount, 0) THEN 'full' ELSE 'partial' END AS status
  FROM appointments a JOIN ledger l ON l.appointment_id = a.id
  WHERE l.refunded > 0
)
UPDATE appointments a
SET deposit_refunded_amount = decided.refunded, deposit_refund_status = decided.status,
  deposit_refunded = decided.status = 'full'
FROM decided WHERE a.id = decided.id;
