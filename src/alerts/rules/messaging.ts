import { sql } from "drizzle-orm";
import { type Assessment, type IncidentExample, percent, type Rule, rows } from "../rule";

const minutes = (n: number) => sql`make_interval(mins => ${n}::int)`;

interface Count { value: string | null; n: number }
interface SmsRow {
  finished: number; failed: number; by_error: Count[] | null; by_sender: Count[] | null;
  examples: IncidentExample[] | null;
}

/**
 * Share of the SMS that reached a final status in the window and ended undelivered or failed (refused by Twilio at
 * send, or reported by a status callback). A jump usually means carrier filtering or a blocked sending number.
 */
export const smsFailures: Rule<SmsRow> = {
  name: "sms_failures",
  description: "Outbound SMS ending undelivered or failed, as a share of those that reached a final status",
  hint: "The figures break failures down by Twilio error code and sending number: 30007 is carrier filtering, "
    + "30003/30005 unreachable or unknown numbers, 21610 an opted-out recipient. Check the sending number's "
    + "registration (A2P 10DLC, toll-free verification) in the Twilio console.",
  read: async (db, config) => (await rows<SmsRow>(db, sql`
    with recent as (
      select id, status, error_code, "from", updated_at from sms_messages
      where updated_at > now() - ${minutes(config.ALERT_SMS_WINDOW_MINUTES)}
        and status in ('delivered', 'read', 'undelivered', 'failed')
    ), failed as (select * from recent where status in ('undelivered', 'failed'))
    select (select count(*)::int from recent) as finished, (select count(*)::int from failed) as failed,
      (select json_agg(c) from (select error_code as value, count(*)::int as n from failed
        group by 1 order by 2 desc limit 5) c) as by_error,
      (select json_agg(c) from (select "from" as value, count(*)::int as n from failed
        group by 1 order by 2 desc limit 5) c) as by_sender,
      (select array_agg(json_build_object('kind', 'sms', 'id', id::text, 'detail',
        concat_ws('; ', status, 'error ' || error_code, 'from ' || "from")) order by updated_at desc)
        from (select * from failed order by updated_at desc limit 5) x) as examples`))[0]!,
  decide: (f, config) => {
    const share = percent(f.failed, f.finished);
    return [{
      key: "all",
      firing: f.failed > 0 && f.finished >= config.ALERT_SMS_MIN_MESSAGES && share >= config.ALERT_SMS_FAILURE_PERCENT,
      title: `${f.failed} of ${f.finished} SMS undelivered or failed (${share}%) `
        + `in ${config.ALERT_SMS_WINDOW_MINUTES} min`
        + (f.by_error?.[0]?.value ? `, mostly error ${f.by_error[0].value}` : ""),
      figures: {
        failed: f.failed, finished: f.finished, share_percent: share,
        threshold_percent: config.ALERT_SMS_FAILURE_PERCENT,
        min_messages: config.ALERT_SMS_MIN_MESSAGES, window_minutes: config.ALERT_SMS_WINDOW_MINUTES,
        by_error_code: f.by_error ?? [], by_sending_number: f.by_sender ?? [],
      },
      examples: f.examples ?? [],
    }];
  },
};

interface EmailRow {
  failed: number; failed_examples: IncidentExample[] | null;
  waiting: number; oldest_waiting_minutes: number | null; waiting_examples: IncidentExample[] | null;
}

/**
 * Emails that ended failed in the window, and emails waiting in the outbox for too long. Alert emails themselves
 * are left out: when SMTP is down their failure would otherwise reopen the incident that reports it, over and
 * over; the alert webhook (ALERT_WEBHOOK_URL) is the channel that still reaches someone then.
 */
export const emailOutbox: Rule<EmailRow> = {
  name: "email_outbox",
  description: "Emails failing, or waiting in the outbox longer than they should",
  hint: "Read last_error of the example emails (GET /v1/emails/:id): SMTP 5xx answers are refusals (address, "
    + "sender domain, credentials), 4xx and connection errors are retried. Check SMTP_URL and the mail provider.",
  read: async (db, config) => (await rows<EmailRow>(db, sql`
    with failed as (
      select id, kind, last_error, created_at from email_outbox
      where status = 'failed' and kind <> 'alert' and created_at > now() - ${minutes(config.ALERT_EMAIL_WINDOW_MINUTES)}
    ), waiting as (
      select id, kind, last_error, created_at, attempts from email_outbox
      where status in ('pending', 'sending') and kind <> 'alert'
        and created_at < now() - ${minutes(config.ALERT_EMAIL_PENDING_MINUTES)}
    )
    select (select count(*)::int from failed) as failed,
      (select array_agg(json_build_object('kind', 'email', 'id', id::text, 'detail',
        concat_ws('; ', kind, left(last_error, 160))) order by created_at desc)
        from (select * from failed order by created_at desc limit 5) x) as failed_examples,
      (select count(*)::int from waiting) as waiting,
      (select (extract(epoch from now() - min(created_at)) / 60)::float8 from waiting) as oldest_waiting_minutes,
      (select array_agg(json_build_object('kind', 'email', 'id', id::text, 'detail',
        concat_ws('; ', kind, 'attempts ' || attempts, left(last_error, 160))) order by created_at)
        from (select * from waiting order by created_at limit 5) x) as waiting_examples`))[0]!,
  decide: (f, config): Assessment[] => {
    const oldest = Math.round(f.oldest_waiting_minutes ?? 0);
    return [{
      key: "failed",
      firing: f.failed >= config.ALERT_EMAIL_FAILURES,
      title: `${f.failed} emails failed in ${config.ALERT_EMAIL_WINDOW_MINUTES} min`,
      figures: {
        failed: f.failed, threshold: config.ALERT_EMAIL_FAILURES, window_minutes: config.ALERT_EMAIL_WINDOW_MINUTES,
      },
      examples: f.failed_examples ?? [],
    }, {
      key: "waiting",
      firing: f.waiting > 0,
      title: `${f.waiting} emails waiting over ${config.ALERT_EMAIL_PENDING_MINUTES} min in the outbox`
        + (f.waiting > 0 ? `; the oldest for ${oldest} min` : ""),
      figures: {
        waiting: f.waiting, oldest_waiting_minutes: oldest, threshold_minutes: config.ALERT_EMAIL_PENDING_MINUTES,
      },
      examples: f.waiting_examples ?? [],
    }];
  },
};
