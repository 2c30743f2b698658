import { and, eq, sql } from "drizzle-orm";
import { Elysia, t } from "elysia";
import { emailOutbox } from "../../db/schema";
import type { Deps } from "../deps";
import { notFound } from "../errors";
import { ErrorBody } from "../http/error-handler";
import { managementApi } from "./auth";
import { toDto } from "./dto";
import { apiDetail, IdParam, Nullable, Time } from "./models";
import { after, type Keyset, orderBy, page, PageQuery, position, toPage } from "./paging";

const detail = apiDetail("emails");
const NEWEST_FIRST: Keyset = { sort: emailOutbox.createdAt, id: emailOutbox.id, idType: "uuid", direction: "desc" };

// Spelled out rather than t.UnionEnum, which would default an absent filter to its first value.
export const EmailStatus = t.Union(
  [t.Literal("pending"), t.Literal("sending"), t.Literal("sent"), t.Literal("failed"), t.Literal("logged")],
  {
    description:
      "pending: waiting for its (next) attempt; sending: an attempt is under way, or ended without the " +
      "server's answer (worker stopped or killed), and the next attempt sends it again; sent; failed: refused " +
      "permanently (SMTP 5xx) or out of attempts; logged: SMTP_URL unset, kept in the outbox",
  },
);
export const EmailSummary = t.Object({
  id: t.String({ format: "uuid" }),
  dedupe_key: t.String({ examples: ["sms-fallback:6f1c2b9e-8a3d-4c55-9a7e-2d4f1b0c9e11"] }),
  kind: t.String({ examples: ["sms_fallback"] }),
  to: t.String({ examples: ["ada@example.com"] }),
  subject: t.String(),
  status: t.String({ examples: ["sent"] }),
  attempts: t.Integer(),
  last_error: Nullable(t.String()),
  created_at: Time(),
  sent_at: Nullable(Time()),
  next_attempt_at: Nullable(t.String({ format: "date-time", description: "When a pending email is tried again" })),
});
export const Email = t.Composite([EmailSummary, t.Object({
  body: t.String(),
  purged_at: t.Optional(Nullable(t.String({ format: "date-time",
    description: "When retention emptied the body (RETENTION_DAYS after it was queued); null while it is kept" }))),
})]);

const nextAttemptAt = sql<string | null>`(select j.run_at from graphile_worker.jobs j
  where j.key = 'email:' || email_outbox.id::text and j.task_identifier = 'send-email')`.as("next_attempt_at");
const summary = {
  id: emailOutbox.id,
  dedupeKey: emailOutbox.dedupeKey,
  kind: emailOutbox.kind,
  to: emailOutbox.to,
  subject: emailOutbox.subject,
  status: emailOutbox.status,
  attempts: emailOutbox.attempts,
  lastError: emailOutbox.lastError,
  createdAt: emailOutbox.createdAt,
  sentAt: emailOutbox.sentAt,
  nextAttemptAt,
};
const iso = (v: unknown) => (v == null ? null : new Date(v as string).toISOString());

/** The email outbox (SPEC 8): every email Switchboard queued, with its delivery state. */
export function emailRoutes(deps: Deps) {
  return new Elysia({ prefix: "/v1/emails" }).use(managementApi(deps))
    .get(
      "",
      async ({ query }) => {
        const limit = query.limit ?? 50;
        const rows = await deps.db
          .select({ ...summary, _position: position(NEWEST_FIRST) })
          .from(emailOutbox)
          .where(
            and(
              query.status ? eq(emailOutbox.status, query.status) : undefined,
              query.to ? sql`lower(${emailOutbox.to}) = lower(${query.to})` : undefined,
              query.kind ? eq(emailOutbox.kind, query.kind) : undefined,
              after(NEWEST_FIRST, query.cursor),
            ),
          )
          .orderBy(...orderBy(NEWEST_FIRST))
          .limit(limit + 1);
        return toPage(
          rows,
          limit,
          (r) => ({ ...toDto(r), next_attempt_at: iso(r.nextAttemptAt) }),
        );
      },
      {
        query: t.Composite([
          PageQuery,
          t.Object({
            status: t.Optional(EmailStatus),
            to: t.Optional(
              t.String({ minLength: 1, maxLength: 320, description: "Recipient address (case-insensitive)" }),
            ),
            kind: t.Optional(t.String({ minLength: 1, maxLength: 100, examples: ["sms_failed_alert"] })),
          }),
        ]),
        response: { 200: page(EmailSummary) },
        detail: detail("listEmails", "List outbox emails, newest first"),
      },
    )
    .get(
      "/:id",
      async ({ params }) => {
        const [row] = await deps.db
          .select({ ...summary, body: emailOutbox.body, purgedAt: emailOutbox.purgedAt })
          .from(emailOutbox)
          .where(eq(emailOutbox.id, params.id));
        if (!row) throw notFound("email");
        return { ...toDto(row), next_attempt_at: iso(row.nextAttemptAt) };
      },
      {
        params: IdParam,
        response: { 200: Email, 404: ErrorBody },
        detail: detail("getEmail", "Show one email with its body and delivery state"),
      },
    );
}
