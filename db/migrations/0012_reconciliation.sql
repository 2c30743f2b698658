CREATE TABLE "reconcile_checkpoints" (
	"provider" text NOT NULL,
	"account" text NOT NULL,
	"number" text NOT NULL,
	"checkpoint_at" timestamp with time zone,
	"window_from" timestamp with time zone,
	"window_until" timestamp with time zone,
	"cursor" text,
	"lease_until" timestamp with time zone,
	"failures" integer DEFAULT 0 NOT NULL,
	"backoff_until" timestamp with time zone,
	"last_run_at" timestamp with time zone,
	"last_error" text,
	"found" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "reconcile_checkpoints_provider_account_number_pk" PRIMARY KEY("provider","account","number")
);
--> statement-breakpoint
CREATE TABLE "sms_status_checks" (
	"sms_id" uuid PRIMARY KEY NOT NULL,
	"checks" integer DEFAULT 0 NOT NULL,
	"next_check_at" timestamp with time zone,
	"last_checked_at" timestamp with time zone,
	"last_status" text
);
--> statement-breakpoint
ALTER TABLE "webhook_events" ADD COLUMN "source" text DEFAULT 'webhook' NOT NULL;--> statement-breakpoint
ALTER TABLE "webhook_events" ADD COLUMN "source_note" text;--> statement-breakpoint
ALTER TABLE "sms_status_checks" ADD CONSTRAINT "sms_status_checks_sms_id_sms_messages_id_fk" FOREIGN KEY ("sms_id") REFERENCES "public"."sms_messages"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "webhook_events_reconciled_idx" ON "webhook_events" USING btree ("id") WHERE source <> 'webhook';--> statement-breakpoint
CREATE INDEX "sms_messages_unsettled_idx" ON "sms_messages" USING btree ("sent_at") WHERE twilio_sid is not null and status not in ('delivered', 'undelivered', 'failed', 'read', 'canceled');