CREATE TABLE "incidents" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"rule" text NOT NULL,
	"key" text NOT NULL,
	"title" text NOT NULL,
	"figures" jsonb NOT NULL,
	"examples" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"opened_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"resolved_at" timestamp with time zone,
	"last_notified_at" timestamp with time zone DEFAULT now() NOT NULL,
	"reminders" integer DEFAULT 0 NOT NULL,
	"acknowledged_at" timestamp with time zone,
	"acknowledged_by" text
);
--> statement-breakpoint
CREATE TABLE "twilio_debugger_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"webhook_event_id" bigint NOT NULL,
	"sid" text NOT NULL,
	"level" text NOT NULL,
	"error_code" text NOT NULL,
	"resource_sid" text,
	"occurred_at" timestamp with time zone,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"more_info" jsonb
);
--> statement-breakpoint
ALTER TABLE "webhook_endpoints" ADD COLUMN "purpose" text;--> statement-breakpoint
CREATE UNIQUE INDEX "incidents_open_key" ON "incidents" USING btree ("rule","key") WHERE resolved_at is null;--> statement-breakpoint
CREATE INDEX "incidents_opened_idx" ON "incidents" USING btree ("opened_at");--> statement-breakpoint
CREATE UNIQUE INDEX "twilio_debugger_events_sid_key" ON "twilio_debugger_events" USING btree ("sid");--> statement-breakpoint
CREATE INDEX "twilio_debugger_events_received_idx" ON "twilio_debugger_events" USING btree ("received_at");--> statement-breakpoint
CREATE INDEX "webhook_events_provider_received_idx" ON "webhook_events" USING btree ("provider","received_at");--> statement-breakpoint
CREATE INDEX "sms_messages_updated_idx" ON "sms_messages" USING btree ("updated_at");--> statement-breakpoint
CREATE INDEX "deliveries_failed_idx" ON "deliveries" USING btree ("completed_at") WHERE status = 'failed';--> statement-breakpoint
CREATE INDEX "delivery_attempts_started_idx" ON "delivery_attempts" USING btree ("started_at");--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_endpoints_purpose_key" ON "webhook_endpoints" USING btree ("purpose") WHERE purpose is not null;