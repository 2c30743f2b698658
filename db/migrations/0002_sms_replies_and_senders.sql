CREATE TABLE "sms_replies" (
	"inbound_sid" text PRIMARY KEY NOT NULL,
	"recipient" text NOT NULL,
	"sender" text NOT NULL,
	"via" text NOT NULL,
	"body" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sms_senders" (
	"phone" text PRIMARY KEY NOT NULL,
	"next_send_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "sms_replies_pair_idx" ON "sms_replies" USING btree ("recipient","sender","created_at");