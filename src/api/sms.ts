import { and, asc, eq, gte, or } from "drizzle-orm";
import { Elysia, t } from "elysia";
import { smsMessages, smsStatusEvents } from "../../db/schema";
import type { Deps } from "../deps";
import { normalizePhone } from "../domain/phone";
import { notFound } from "../errors";
import { ErrorBody } from "../http/error-handler";
import { managementApi } from "./auth";
import { toDto } from "./dto";
import { apiDetail, IdParam, Nullable, Time, Uuid } from "./models";
import { after, type Keyset, orderBy, page, PageQuery, position, toPage } from "./paging";

const detail = apiDetail("sms");
const NEWEST_FIRST: Keyset = { sort: smsMessages.createdAt, id: smsMessages.id, idType: "uuid", direction: "desc" };

export const SmsSummary = t.Object({
  id: Uuid(), kind: t.String({ examples: ["confirmation"] }), clinic_id: Uuid(), patient_id: Nullable(Uuid()),
  appointment_id: Nullable(Uuid()), channel: t.String({ examples: ["SMS"] }),
  to: t.String({ examples: ["+15551234567"] }),
  from: t.String(), body: t.String(),
  status: t.String({ examples: ["delivered"], description: "pending, sending, skipped_opted_out, or Twilio's status" }),
  twilio_sid: Nullable(t.String({ examples: ["SM0123456789abcdef0123456789abcdef"] })),
  error_code: Nullable(t.String()),
  error_message: Nullable(t.String()), attempts: t.Integer(), fallback_status: Nullable(t.String()),
  created_at: Time(), sent_at: Nullable(Time()), updated_at: Time(),
});
export const Sms = t.Composite([SmsSummary, t.Object({
  status_history: t.Array(t.Object({ status: t.String(), error_code: Nullable(t.String()), received_at: Time() }), {
    description: "Every status callback Twilio posted for it, in arrival order",
  }),
})]);

const columns = {
  id: smsMessages.id, kind: smsMessages.kind, clinicId: smsMessages.clinicId, patientId: smsMessages.patientId,
  appointmentId: smsMessages.appointmentId, channel: smsMessages.channel, to: smsMessages.to, from: smsMessages.from,
  body: smsMessages.body, status: smsMessages.status, twilioSid: smsMessages.twilioSid,
  errorCode: smsMessages.errorCode,
  errorMessage: smsMessages.errorMessage, attempts: smsMessages.attempts, fallbackStatus: smsMessages.fallbackStatus,
  createdAt: smsMessages.createdAt, sentAt: smsMessages.sentAt, updatedAt: smsMessages.updatedAt,
};

/** Outbound SMS (SPEC 8): what Switchboard sent or decided not to send, and how far each got. */
export function smsRoutes(deps: Deps) {
  return new Elysia({ prefix: "/v1/sms" }).use(managementApi(deps))
    .get("", async ({ query }) => {
      const to = query.to ? normalizePhone(query.to) ?? query.to : undefined;
      const limit = query.limit ?? 50;
      const rows = await deps.db.select({ ...columns, _position: position(NEWEST_FIRST) }).from(smsMessages).where(and(
        query.appointment_id ? eq(smsMessages.appointmentId, query.appointment_id) : undefined,
        query.patient_id ? eq(smsMessages.patientId, query.patient_id) : undefined,
        to ? eq(smsMessages.to, to) : undefined,
        query.sid ? eq(smsMessages.twilioSid, query.sid) : undefined,
        query.since ? gte(smsMessages.createdAt, new Date(query.since)) : undefined,
        after(NEWEST_FIRST, query.cursor),
      )).orderBy(...orderBy(NEWEST_FIRST)).limit(limit + 1);
      return toPage(rows, limit, (row) => toDto(row));
    }, {
      query: t.Composite([PageQuery, t.Object({
        appointment_id: t.Optional(Uuid()),
        patient_id: t.Optional(Uuid()),
        to: t.Optional(t.String({
          minLength: 3, maxLength: 40, examples: ["+15551234567"], description: "Recipient (E.164)",
        })),
        sid: t.Optional(t.String({ minLength: 2, maxLength: 64, description: "Twilio MessageSid" })),
        since: t.Optional(t.String({ format: "date-time", description: "Only SMS recorded at or after this time" })),
      })]),
      response: { 200: page(SmsSummary) }, detail: detail("listSms", "List outbound SMS, newest first"),
    })
    .get("/:id", async ({ params }) => {
      const [row] = await deps.db.select(columns).from(smsMessages).where(eq(smsMessages.id, params.id));
      if (!row) throw notFound("sms");
      const history = await deps.db.select({
        status: smsStatusEvents.status, errorCode: smsStatusEvents.errorCode, receivedAt: smsStatusEvents.receivedAt,
      }).from(smsStatusEvents).where(or(
        eq(smsStatusEvents.smsMessageId, row.id),
        // A callback that came before the send was recorded is linked by its sid only.
        row.twilioSid ? eq(smsStatusEvents.twilioSid, row.twilioSid) : undefined,
      )).orderBy(asc(smsStatusEvents.id));
      return { ...toDto(row), status_history: history.map(toDto) };
    }, {
      params: IdParam, response: { 200: Sms, 404: ErrorBody },
      detail: detail("getSms", "Show one SMS with its status history"),
    });
}
