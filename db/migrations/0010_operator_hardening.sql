CREATE TABLE "api_idempotency_keys" (
	"key_hash" text NOT NULL,
	"idempotency_key" text NOT NULL,
	"request_hash" text NOT NULL,
	"response_status" integer,
	"response_body" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "api_idempotency_keys_key_hash_idempotency_key_pk" PRIMARY KEY("key_hash","idempotency_key")
);
--> statement-breakpoint
ALTER TABLE "webhook_events" ADD COLUMN "phone" text;--> statement-breakpoint
CREATE INDEX "api_idempotency_keys_created_idx" ON "api_idempotency_keys" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "webhook_events_key_idx" ON "webhook_events" USING btree ("idempotency_key" text_pattern_ops);--> statement-breakpoint
CREATE INDEX "webhook_events_phone_idx" ON "webhook_events" USING btree ("phone","id") WHERE phone is not null;