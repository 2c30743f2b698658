import type { Sql } from "../src/db";

/**
 * Fills a migrated database for the console benchmark with generate_series: 1,000,000 webhook events over 30 days
 * (60 % Stripe, 20 % inbound SMS, 20 % status callbacks; 1 % failed), 200,000 deliveries to 100 endpoints with
 * one attempt each, and 50,000 patients, appointments, SMS and emails. Ids are md5-derived so rows refer to each other.
 */
export async function fillConsoleData(sql: Sql, events = 1_000_000, deliveries = 200_000, people = 50_000) {
  const u = (prefix: string, n: string) => `md5('${prefix}' || ${n})::uuid`;
  await sql.unsafe(`
    insert into clinics (id, name, phone, timezone, email)
      select ${u("clinic", "n")}, 'Clinic ' || n, '+1555000000' || n, 'America/New_York', 'desk' || n || '@clinic.test'
      from generate_series(0, 4) n;
    insert into patients (id, clinic_id, name, phone, email)
      select ${u("pat", "n")}, ${u("clinic", "(n % 5)")}, 'Patient ' || n, '+1556' || lpad(n::text, 7, '0'), 'p' || n
        || '@patient.test'
      from generate_series(0, ${people - 1}) n;
    insert into appointments (id, clinic_id, patient_id, starts_at, status, deposit_amount, created_at, updated_at)
      select ${u("appt", "n")}, ${u("clinic", "(n % 5)")}, ${u("pat", "n")}, now() + (n % 30) * interval '1 day',
        (array['pending','confirmed','payment_pending','cancelled'])[1 + n % 4], 6000,
        now() - interval '30 days' + n * interval '50 seconds', now()
      from generate_series(0, ${people - 1}) n;
    insert into appointment_history (appointment_id, from_status, to_status, cause_type, cause_id, at)
      select ${u("appt", "n")}, 'pending', 'confirmed', 'webhook_event', (n * 10 + 1)::text, now() - interval '1 day'
      from generate_series(0, ${people - 1}) n;
  `);
  await sql.unsafe(`
    insert into webhook_events (provider, idempotency_key, phone, headers, raw_body, received_at, response_status,
      response_body,
      response_content_type, response_ms, status, attempts, last_error, processed_at)
    select p.provider,
      case p.provider when 'stripe' then 'evt_bench_' || g when 'twilio-sms' then 'SM' || md5(g::text)
        else 'SM' || md5((g - 2)::text) || ':delivered' end,
      case when p.provider <> 'stripe' then '+1556' || lpad((g % ${people})::text, 7, '0') end,
      case p.provider when 'stripe' then '{"content-type":"application/json","stripe-signature":"[redacted]"}'::jsonb
        else '{"content-type":"application/x-www-form-urlencoded","x-twilio-signature":"[redacted]"}'::jsonb end,
      case p.provider
        when 'stripe' then '{"id":"evt_bench_' || g
          || '","object":"event","type":"payment_intent.succeeded","data":{"object":'
          || '{"id":"pi_bench_' || g
            || '","object":"payment_intent","amount":6000,"currency":"usd","metadata":{"booking_id":"'
          || ${u("appt", `(g % ${people})`)} || '"}}}}'
        when 'twilio-sms' then 'ToCountry=US&NumMedia=0&Body=Confirm+please+' || g || '&From=%2B1556' || lpad((g
          % ${people})::text, 7, '0')
          || '&To=%2B15550000001&MessageSid=SM' || md5(g::text)
            || '&AccountSid=AC00000000000000000000000000000000&ApiVersion=2010-04-01'
        else 'MessageSid=SM' || md5((g - 2)::text) || '&MessageStatus=delivered&To=%2B1556' || lpad((g
          % ${people})::text, 7, '0')
          || '&From=%2B15550000001&AccountSid=AC00000000000000000000000000000000&ApiVersion=2010-04-01' end,
      now() - interval '30 days' + g * (interval '30 days' / ${events}),
      200, '{"received":true}', 'application/json', 1 + g % 20,
      case when g % 97 = 0 then 'failed' when g % 200 = 1 then 'ignored' else 'processed' end, 1,
      case when g % 97 = 0 then 'unknown appointment' end,
      now() - interval '30 days' + g * (interval '30 days' / ${events})
    from generate_series(1, ${events}) g,
      lateral (select case when g % 10 < 6 then 'stripe' when g % 10 < 8 then 'twilio-sms' else 'twilio-status'
        end as provider) p;
  `);
  await sql.unsafe(`
    insert into webhook_endpoints (id, url, secret, created_at)
      select ${u("ep", "n")}, 'https://hooks.example.com/clinic/' || n, 'whsec_' || md5(n::text), now() -
        interval '31 days'
      from generate_series(0, 99) n;
    insert into deliveries (id, endpoint_id, conversation_id, event_type, dedupe_key, webhook_id, body, status,
      attempts,
      last_status, last_error, created_at, completed_at)
    select ${u("del", "g")}, ${u("ep", "(g % 100)")}, ${u("conv", "(g % 5000)")}, 'message.created', 'bench:' || g,
      'msg_' || md5('del' || g), '{"conversation_id":"' || ${u("conv", "(g % 5000)")} || '","data":{"content":"hello '
        || g || '"}}',
      case when g % 25 = 0 then 'failed' when g % 100 = 1 then 'pending' else 'succeeded' end,
      case when g % 25 = 0 then 4 else 1 end, case when g % 25 = 0 then 503 else 200 end,
      case when g % 25 = 0 then 'http_status: HTTP 503' end,
      now() - interval '30 days' + g * (interval '30 days' / ${deliveries}),
      now() - interval '30 days' + g * (interval '30 days' / ${deliveries})
    from generate_series(1, ${deliveries}) g;
    insert into delivery_attempts (delivery_id, attempt, started_at, duration_ms, address, status_code, response_body)
      select ${u("del", "g")}, 1, now() - interval '30 days' + g * (interval '30 days' / ${deliveries}), 40 + g % 50,
        '203.0.113.10',
        case when g % 25 = 0 then 503 else 200 end, 'ok'
      from generate_series(1, ${deliveries}) g;
  `);
  await sql.unsafe(`
    insert into sms_messages (id, dedupe_key, kind, clinic_id, patient_id, appointment_id, "to", "from", body, status,
      twilio_sid,
      error_code, created_at, updated_at)
      select ${u("sms", "n")}, 'bench-sms:' || n, 'reminder', ${u("clinic", "(n % 5)")}, ${u("pat", "n")},
        ${u("appt", "n")},
        '+1556' || lpad(n::text, 7, '0'), '+1555000000' || (n % 5), 'Reminder ' || n,
        case when n % 20 = 0 then 'undelivered' else 'delivered' end, 'SM' || md5('sms' || n),
        case when n % 20 = 0 then '30003' end, now() - interval '30 days' + n * interval '50 seconds', now()
      from generate_series(0, ${people - 1}) n;
    insert into sms_status_events (twilio_sid, sms_message_id, status, received_at)
      select 'SM' || md5('sms' || n), ${u("sms", "n")}, s, now() - interval '29 days' + n * interval '50 seconds'
      from generate_series(0, ${people - 1}) n, unnest(array['sent', 'delivered']) s;
    insert into email_outbox (id, dedupe_key, kind, "to", subject, body, status, created_at)
      select ${u("email", "n")}, 'bench-email:' || n, 'refund', 'p' || n || '@patient.test', 'Deposit refunded',
        'Your $60.00 deposit has been refunded.', case when n % 50 = 0 then 'pending' else 'sent' end,
        now() - interval '30 days' + n * interval '50 seconds'
      from generate_series(0, ${people - 1}) n;
    analyze;
  `);
}
