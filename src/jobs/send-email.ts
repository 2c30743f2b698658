import { Type as T } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { eq } from "drizzle-orm";
import type { Task } from "graphile-worker";
import { emailOutbox } from "../../db/schema";
import type { Deps } from "../deps";

const Payload = T.Object({ emailId: T.String({ minLength: 36, maxLength: 36 }) });

/** SMTP reply codes 5xx are permanent: retrying cannot help. */
function isPermanent(error: unknown): boolean {
  const code = (error as { responseCode?: number }).responseCode;
  return typeof code === "number" && code >= 500 && code < 600;
}

export function sendEmailTask(deps: Deps): Task {
  return async (payload) => {
    if (!Value.Check(Payload, payload)) {
      deps.log.error("send-email: bad payload, giving up", { payload });
      return;
    }
    const [email] = await deps.db.select().from(emailOutbox).where(eq(emailOutbox.id, payload.emailId));
    if (!email || email.status !== "pending") return;
    const log = deps.log.child({ emailId: email.id, kind: email.kind });
    if (!deps.mailer) {
      await deps.db.update(emailOutbox).set({ status: "logged", attempts: email.attempts + 1 }).where(eq(emailOutbox.id, email.id));
      log.info("email kept in outbox (SMTP_URL unset)", { to: email.to, subject: email.subject });
      return;
    }
    try {
      await deps.mailer.sendMail({ from: deps.config.EMAIL_FROM, to: email.to, subject: email.subject, text: email.body });
      await deps.db.update(emailOutbox)
        .set({ status: "sent", sentAt: deps.clock.now(), attempts: email.attempts + 1, lastError: null })
        .where(eq(emailOutbox.id, email.id));
      log.info("email sent", { to: email.to });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const permanent = isPermanent(error);
      await deps.db.update(emailOutbox)
        .set({ status: permanent ? "failed" : "pending", attempts: email.attempts + 1, lastError: message.slice(0, 2000) })
        .where(eq(emailOutbox.id, email.id));
      if (permanent) {
        log.error("email refused permanently", { to: email.to, error: message });
        return;
      }
      log.warn("email send failed; will retry", { to: email.to, error: message });
      throw error;
    }
  };
}
