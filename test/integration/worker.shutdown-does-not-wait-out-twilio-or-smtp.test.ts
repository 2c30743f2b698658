import { afterAll, beforeAll, expect, test } from "bun:test";
import { run, type Runner } from "graphile-worker";
import { quietLogger } from "../../src/db";
import { queueEmail } from "../../src/effects/email";
import { queueSms } from "../../src/effects/sms";
import { sendEmailTask } from "../../src/jobs/send-email";
import { sendSmsTask } from "../../src/jobs/send-sms";
import { type FakeTwilio, startFakeTwilio } from "../support/fake-twilio";
import {
  createMailHarness, type MailHarness, seedAppointment, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN,
} from "../support/harness";
import { uniquePhone } from "../support/twilio";
import { waitFor } from "../support/wait";

// A deploy or scale-down sends SIGTERM; graphile-worker then waits for running jobs and, after its
// gracefulShutdownAbortTimeout, aborts helpers.abortSignal. A job waiting on Twilio or SMTP must end then, not
// when the call's own timeout (here two minutes) runs out, and leave its row for the next run to finish.
let h: MailHarness;
let fake: FakeTwilio;
beforeAll(async () => {
  fake = await startFakeTwilio({ accountSid: TWILIO_ACCOUNT_SID, authToken: TWILIO_AUTH_TOKEN });
  h = await createMailHarness({ TWILIO_API_URL: fake.url, TWILIO_TIMEOUT_MS: "120000" }, { sleep: async () => {} });
});
afterAll(async () => {
  fake.release();
  h.smtp.release();
  await h.close();
  fake.close();
});

const rows = (q: TemplateStringsArray, ...v: any[]) => h.deps.sql(q, ...v) as Promise<any[]>;

/**
 * A worker as production runs one (src/jobs/index.ts batches job completions and failures, which also makes
 * graphile-worker record a failure before its pool closes), for these two tasks; stop() is what SIGTERM leads to.
 */
function startRunner(): Promise<Runner> {
  return run({
    connectionString: h.deps.databaseUrl,
    taskList: { "send-sms": sendSmsTask(h.deps), "send-email": sendEmailTask(h.deps) },
    concurrency: 1, noHandleSignals: true, pollInterval: 50, logger: quietLogger,
    preset: { worker: { gracefulShutdownAbortTimeout: 100, completeJobBatchDelay: 5, failJobBatchDelay: 5 } },
  });
}

/**
 * Stops the runner and says whether it stopped while the outside call was still unanswered. The bound only keeps
 * a failing run from hanging (the call would otherwise be waited out for minutes).
 */
async function stopWhile(runner: Runner, unanswered: () => boolean) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve("still waiting for the call"), 15_000);
  });
  const stopped = runner.stop().then(() => (unanswered() ? "stopped while unanswered" : "stopped after the answer"));
  const result = await Promise.race([stopped, bound]);
  clearTimeout(timer);
  return result;
}

test("Twilio holds its answer: the worker stops, the SMS stays unknown, the next run finds it on Twilio", async () => {
  const { clinic, patient } = await seedAppointment(h, { phone: uniquePhone() });
  const id = (await queueSms(h.deps.db, {
    dedupeKey: `shutdown:${patient.id}`, kind: "reminder", clinic, patient: { ...patient, optedOut: false },
    body: "Reminder: your appointment is tomorrow.",
  }))!;
  fake.hang();
  const runner = await startRunner();
  try {
    await waitFor(() => fake.hanging === 1, "the send to reach Twilio");
    expect(await stopWhile(runner, () => fake.hanging === 1)).toBe("stopped while unanswered");
  } finally {
    fake.release();
  }
  // The attempt is over (its claim released), its outcome unknown: the next run looks before it sends.
  const [row] = await rows`select status, twilio_sid, error_message, claimed_by from sms_messages where id = ${id}`;
  expect(row).toMatchObject({ status: "unknown", twilio_sid: null, claimed_by: null });
  expect(row.error_message).toContain("aborted");

  await h.retryNow("send-sms");
  await h.drain();
  const sent = fake.messages.filter((m) => m.to === patient.phone);
  expect(sent).toHaveLength(1);
  expect((await rows`select status, twilio_sid from sms_messages where id = ${id}`)[0])
    .toEqual({ status: "queued", twilio_sid: sent[0]!.sid });
});

test("SMTP holds its answer: the worker stops, the next run sends the email again, same Message-ID", async () => {
  const id = (await queueEmail(h.deps.db, {
    dedupeKey: "shutdown-email", kind: "test", to: "held@patient.test", subject: "Held", body: "Held at shutdown",
  }))!;
  h.smtp.hold();
  const runner = await startRunner();
  try {
    await waitFor(() => h.smtp.holding === 1, "the email to reach the SMTP server");
    expect(await stopWhile(runner, () => h.smtp.holding === 1)).toBe("stopped while unanswered");
  } finally {
    h.smtp.release();
  }
  const [row] = await rows`select status, last_error from email_outbox where id = ${id}`;
  // The server may have it (this one does): at least once, so the next run sends again.
  expect(row.status).toBe("sending");
  expect(row.last_error).toContain("aborted");

  await h.retryNow("send-email");
  await h.drain();
  expect((await rows`select status from email_outbox where id = ${id}`)[0].status).toBe("sent");
  const copies = h.smtp.messages.filter((m) => m.to.includes("held@patient.test"));
  expect(copies).toHaveLength(2);
  const messageIds = copies.map((m) => m.raw.match(/^Message-ID: (.+)$/im)?.[1]?.trim());
  expect(messageIds).toEqual([`<${id}@switchboard>`, `<${id}@switchboard>`]);
});
