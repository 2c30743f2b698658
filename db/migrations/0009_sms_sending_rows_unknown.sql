-- Custom SQL migration file, put your code below! --
-- Before claimed_by, the send job marked its claim with the status `sending` before calling Twilio, the same
-- word as Twilio's own status. A row still in that state without a sid may be on Twilio: it becomes `unknown`,
-- so the next attempt looks it up instead of skipping it or sending blind.
UPDATE "sms_messages" SET "status" = 'unknown' WHERE "status" = 'sending' AND "twilio_sid" IS NULL;
