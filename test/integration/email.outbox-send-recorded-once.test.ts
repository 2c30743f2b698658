import { afterAll, beforeAll, expect, test } from "bun:test";
import { createMailHarness, type MailHarness } from "../support/harness";

let h: MailHarness;
beforeAll(async () => { h = await createMailHarness(); });
afterAll(() => h.close());

const queue = async (key: string, status = "pending") => {
  const [row] = await h.deps.sql`insert into email_outbox (dedupe_key, kind, "to", subject, body, status)
    values (${key}, 'test', ${`${key}@patient.test`}, 'Hello', 'Body text', ${status}) returning id`;
  await h.deps.sql`select graphile_worker.add_job('send-email', json_build_object('emailId', ${row!.id}::text))`;
  return row!.id as string;
};

test("an email is sent with a Message-ID of its outbox id and recorded as sent once", async () => {
  const id = await queue("once");
  await h.drain();
  const mails = h.smtp.messages.filter((m) => m.to.includes("once@patient.test"));
  expect(mails).toHaveLength(1);
  expect(mails[0]!.raw).toContain(`Message-ID: <${id}@switchboard>`);
  const [row] = await h.deps.sql`select status, attempts from email_outbox where id = ${id}`;
  expect(row).toEqual({ status: "sent", attempts: 1 });
});

test("an email left 'sending' by a worker that died is sent again with the same "
  + "Message-ID, then recorded", async () => {
  const id = await queue("orphan", "sending");
  await h.drain();
  const mails = h.smtp.messages.filter((m) => m.to.includes("orphan@patient.test"));
  expect(mails).toHaveLength(1);
  expect(mails[0]!.raw).toContain(`Message-ID: <${id}@switchboard>`);
  expect((await h.deps.sql`select status from email_outbox where id = ${id}`)[0]!.status).toBe("sent");
  expect(h.logs.some((l) => l.includes("outcome unknown"))).toBe(true);
});
