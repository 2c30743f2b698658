// What the fake Twilio REST API (twilio.ts and its read side, twilio-reads.ts) keeps and answers, shared by both.

/** A status callback the fake posted, with what the service answered (status code, or the network error). */
export interface PostedCallback { status: string; url: string; at: string; answer: number | string }

/** A message as the fake keeps it (the fields of Twilio's Message resource that matter here). */
export interface FakeMessage {
  sid: string;
  account_sid: string;
  to: string;
  from: string;
  body: string;
  status: string;
  status_callback: string | null;
  date_created: string;
  date_updated: string;
  date_sent: string | null;
  error_code: number | null;
  error_message: string | null;
  /** Every form parameter as sent (a repeated one, MediaUrl, keeps its last value here). */
  params: Record<string, string>;
  media_urls: string[];
  callbacks: PostedCallback[];
}

export interface TwilioError { status: number; code: number; message: string }

/** Twilio's error body (REST API errors carry their code, message, a more_info link and the status). */
export const errorBody = (e: TwilioError) =>
  ({ code: e.code, message: e.message, more_info: `https://www.twilio.com/docs/errors/${e.code}`, status: e.status });
