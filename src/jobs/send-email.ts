import { Type as T } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { eq } from "drizzle-orm";
import type { Task } from "graphile-worker";
import type Mail from "nodemailer/lib/mailer";
import { emailOutbox } from "../../db/schema";
import { retryOnStaleConnection } from "../db";
import type { Deps } from "../deps";
import { storableText } from "../domain/text";

const Payload = T.Object({ emailId: T.String({ minLength: 36, maxLength: 36 }) });

/** SMTP reply codes 5xx are permanent: retrying cannot help. 4xx and connection errors are temporary. */
function isPermanent(error: unknown): boolean {
  const code = (error as { responseCode?: number }).responseCode;
  return typeof code === "number" && code >= 500 && code < 600;
}

/**
 * Sends one outbox email over SMTP (nodemailer). A temporary failure (SMTP 4xx, connection refused, timeout) is
 * recorded and thrown, so graphile-worker retries it with its exponential backoff; a permanent one (5xx), or the
 * last allowed attempt, marks the email `failed` with the server's answer in last_error. Delivery is at least
 * once: SMTP has no way to ask whether a message was taken, so a send whose answer never came (the worker died, or
 * was stopped: the SMTP call is aborted with graphile-worker's abortSignal, closing the connection) stays
 * `sending` and goes out again on retry, with the same Message-ID so mail clients show it once.
 */
export function sendEmailTask(deps: Deps): Task {
  return async (payload, helpers) => {
    if (!Value.Check(Payload, payload)) {
      deps.log.error("send-email: bad payload, giving up", { payload });
      return;
    }
    const [email] = await deps.db.select().from(emailOutbox).where(eq(emailOutbox.id, payload.emailId));
    if (!email || (email.status !== "pending" && email.status !== "sending")) return;
    const log = deps.log.child({ emailId: email.id, kind: email.kind });
    if (!deps.mailer) {
      await deps.db.update(emailOutbox).set({ status: "logged", attempts: email.attempts + 1 })
        .where(eq(emailOutbox.id, email.id));
      deps.metrics.emails.inc({ outcome: "logged", kind: email.kind });
      log.info("email kept in outbox (SMTP_URL unset)", { to: email.to, subject: email.subject });
      return;
    }
    if (email.status === "sending") {
      // The last attempt stopped between SMTP and recording its outcome. SMTP cannot be asked whether it took
      // the message; sending again (same Message-ID, so mail clients see one message) beats losing it.
      log.warn("previous attempt's outcome unknown; sending again with the same Message-ID", { to: email.to });
    } else {
      await deps.db.update(emailOutbox).set({ status: "sending" }).where(eq(emailOutbox.id, email.id));
    }
    // nodemailer (>= 10.6) honours `signal` for SMTP: on abort it closes the connection and rejects at once.
    // @types/nodemailer does not list the option yet, hence the wider type.
    const mail: Mail.Options & { signal?: AbortSignal } = {
      from: deps.config.EMAIL_FROM, to: email.to, subject: email.subject, text: email.body,
      messageId: `<${email.id}@switchboard>`, signal: helpers.abortSignal,
    };
    try {
      await deps.mailer.sendMail(mail);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const permanent = isPermanent(error);
      const giveUp = permanent || helpers.job.attempts >= helpers.job.max_attempts;
      // Stopped mid-send: the server may have the message; `sending` says so to the next attempt.
      const aborted = helpers.abortSignal?.aborted ?? false;
      const status = giveUp ? "failed" : aborted ? "sending" : "pending";
      await deps.db.update(emailOutbox)
        .set({ status, attempts: email.attempts + 1, lastError: storableText(message, 2000) })
        .where(eq(emailOutbox.id, email.id));
      deps.metrics.emails.inc({ outcome: giveUp ? "failed" : "retry", kind: email.kind });
      if (giveUp) {
        log.error(permanent ? "email refused permanently" : "email not sent after the last attempt", {
          to: email.to, error: message,
        });
        return;
      }
      log.warn("email send failed; will retry", { to: email.to, error: message });
      throw error;
    }
    // Outside the try: the server has the message, so a failure to record it must never count as a failed send.
    await retryOnStaleConnection(() => deps.db.update(emailOutbox)
      .set({ status: "sent", sentAt: deps.clock.now(), attempts: email.attempts + 1, lastError: null })
      .where(eq(emailOutbox.id, email.id)));
    deps.metrics.emails.inc({ outcome: "sent", kind: email.kind });
    log.info("email sent", { to: email.to });
  };
}
