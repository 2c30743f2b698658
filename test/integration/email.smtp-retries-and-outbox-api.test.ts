import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { queueEmail } from "../../src/effects/email";
import { createMailHarness, type MailHarness } from "../support/harness";

let h: MailHarness;
beforeAll(async () => { h = await createMailHarness(); });
afterAll(() => h.close());

let n = 0;
async function queue(to = `r${++n}@patient.test`) {
  const id = (await h.deps.db.transaction((tx) => queueEmail(
    tx, { dedupeKey: `test:${to}`, kind: "test", to, subject: `Hello ${to}`, body: `Body for ${to}` },
  )))!;
  return { id, to };
}
const get = async (path: string) => {
  const res = await h.api("GET", path);
  return { status: res.status, body: await res.json() as any };
};
const job = async (id: string) =>
  (await h.deps.sql`select attempts, run_at from graphile_worker.jobs where key = ${`email:${id}`}`)[0];

describe("SMTP delivery from the outbox", () => {
  test("a temporary refusal (4xx) is retried later with backoff; "
    + "a permanent one (5xx) then marks it failed", async () => {
    const { id, to } = await queue();
    h.smtp.refuse(451);
    await h.drain();
    const first = await get(`/v1/emails/${id}`);
    expect(first.body).toMatchObject({ id, to, status: "pending", attempts: 1 });
    expect(first.body.last_error).toContain("451");
    const retry = await job(id);
    expect(retry.attempts).toBe(1);
    expect(new Date(retry.run_at).getTime()).toBeGreaterThan(Date.now());
    expect(first.body.next_attempt_at).toBe(new Date(retry.run_at).toISOString());

    h.smtp.refuse(550);
    await h.retryNow("send-email");
    await h.drain();
    const last = await get(`/v1/emails/${id}`);
    expect(last.body).toMatchObject({ status: "failed", attempts: 2, next_attempt_at: null });
    expect(last.body.last_error).toContain("550");
    expect(await job(id)).toBeUndefined();
    expect(h.smtp.messages.filter((m) => m.to.includes(to))).toHaveLength(0);
  });

  test("a temporary refusal followed by acceptance is sent once", async () => {
    const { id, to } = await queue();
    h.smtp.refuse(421);
    await h.drain();
    await h.retryNow("send-email");
    await h.drain();
    expect((await get(`/v1/emails/${id}`)).body).toMatchObject({ status: "sent", attempts: 2, last_error: null });
    expect(h.smtp.messages.filter((m) => m.to.includes(to))).toHaveLength(1);
  });

  test("temporary refusals up to the job's last attempt mark the email failed "
    + "rather than pending for ever", async () => {
    const { id } = await queue();
    h.smtp.refuse(452, 2);
    await h.drain();
    await h.deps.sql`select graphile_worker.reschedule_jobs(array(select id from graphile_worker.jobs where key =
      ${`email:${id}`}),
      run_at := now(), max_attempts := 2)`;
    await h.drain();
    expect((await get(`/v1/emails/${id}`)).body)
      .toMatchObject({ status: "failed", attempts: 2, next_attempt_at: null });
  });

  test("queueing with the same dedupe key again sends nothing more", async () => {
    const to = "dedupe@patient.test";
    await queue(to);
    await queue(to);
    await h.drain();
    expect(h.smtp.messages.filter((m) => m.to.includes(to))).toHaveLength(1);
  });
});

describe("GET /v1/emails", () => {
  test("filters by status and recipient, shows one email with its body, "
    + "404 for an unknown id, 401 without the key", async () => {
    const a = await queue("Filter.Me@patient.test");
    await h.drain();
    const byTo = await get("/v1/emails?to=filter.me@patient.test");
    expect(byTo.status).toBe(200);
    expect(byTo.body.data.map((e: any) => e.id)).toEqual([a.id]);
    const failed = await get("/v1/emails?status=failed");
    expect(failed.body.data.length).toBeGreaterThan(0);
    expect(failed.body.data.every((e: any) => e.status === "failed")).toBe(true);
    const all = await get("/v1/emails");
    expect(new Set(all.body.data.map((e: any) => e.status))).toEqual(new Set(["sent", "failed"]));
    const one = await get(`/v1/emails/${a.id}`);
    expect(one.body).toMatchObject({ id: a.id, status: "sent", body: "Body for Filter.Me@patient.test", kind: "test" });
    expect((await get("/v1/emails/00000000-0000-4000-8000-000000000000")).status).toBe(404);
    expect((await get("/v1/emails?status=lost")).status).toBe(400);
    expect((await h.request("/v1/emails")).status).toBe(401);
    const docs = await (await h.request("/docs/json")).json() as any;
    expect(Object.keys(docs.paths)).toEqual(expect.arrayContaining(["/v1/emails", "/v1/emails/{id}"]));
  });
});
