ALTER TABLE "appointments" ADD COLUMN "deposit_refund_status" text DEFAULT 'none' NOT NULL;--> statement-breakpoint
ALTER TABLE "appointments" ADD COLUMN "deposit_refunded_amount" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "transactions" ADD COLUMN "charge_id" text;--> statement-breakpoint
CREATE INDEX "transactions_appointment_idx" ON "transactions" USING btree ("appointment_id","kind");--> statement-breakpoint
CREATE INDEX "transactions_charge_idx" ON "transactions" USING btree ("charge_id") WHERE charge_id is not null;