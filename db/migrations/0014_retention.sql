ALTER TABLE "webhook_events" ADD COLUMN "purged_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "email_outbox" ADD COLUMN "purged_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "webhook_events_unpurged_idx" ON "webhook_events" USING btree ("received_at") WHERE purged_at is null;--> statement-breakpoint
CREATE INDEX "email_outbox_unpurged_idx" ON "email_outbox" USING btree ("created_at") WHERE purged_at is null;--> statement-breakpoint
CREATE INDEX "sms_status_events_payload_idx" ON "sms_status_events" USING btree ("received_at") WHERE payload is not null;--> statement-breakpoint
CREATE INDEX "delivery_attempts_body_idx" ON "delivery_attempts" USING btree ("started_at") WHERE response_body is not null;