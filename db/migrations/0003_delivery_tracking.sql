ALTER TABLE "sms_messages" ADD COLUMN "fallback_status" text;--> statement-breakpoint
ALTER TABLE "sms_messages" ADD COLUMN "fallback_email_id" uuid;--> statement-breakpoint
CREATE INDEX "appointments_reminder_due_idx" ON "appointments" USING btree ("starts_at") WHERE reminder_sent_at is null and status = 'confirmed';