-- Custom SQL migration file, put your code below! --
-- Before claimed_at, the send job marked its claim by setting status `sending` before calling Twilio. A row
-- still in that state without a sid may be on Twilio: it becomes `unknown` (claimed), so the next attempt
-- looks it up instead of skipping it or sending blind.
UPDATE "sms_messages" SET "status" = 'unknown', "claimed_at" = "updated_at"
WHERE "status" = 'sending' AND "twilio_sid" IS NULL;
