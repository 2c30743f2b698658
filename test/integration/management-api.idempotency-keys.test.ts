import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { API_KEY, createHarness, type Harness } from "../support/harness";

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ OUTBOUND_ALLOW_PRIVATE: "true" });
});
afterAll(() => h.close());

const post = (path: string, body: unknown, key?: string) =>
  h.request(path, {
    method: "POST",
    headers: {
      authorization: `Bearer ${API_KEY}`,
      "content-type": "application/json",
      ...(key ? { "idempotency-key": key } : {}),
    },
    body: JSON.stringify(body),
  });
const conversation = { channel: "API", usecase: "idempotency", config: { callback_url: "http://127.0.0.1:9/hook" } };
const count = async (table: string) =>
  Number((await h.deps.sql.unsafe(`select count(*)::int as n from ${table}`))[0]!.n);

test("a retried POST /v1/conversations with the same key: one conversation, the same secret", async () => {
  const before = await count("conversations");
  const first = await post("/v1/conversations", conversation, "conv-retry-1");
  const second = await post("/v1/conversations", conversation, "conv-retry-1");
  expect([first.status, second.status]).toEqual([201, 201]);
  const [a, b] = [(await first.json()) as any, (await second.json()) as any];
  expect(b).toEqual(a);
  expect(a.webhook_secret).toStartWith("whsec_");
  expect(first.headers.get("idempotent-replayed")).toBeNull();
  expect(second.headers.get("idempotent-replayed")).toBe("true");
  expect(second.headers.get("ratelimit-limit")).not.toBeNull();
  expect(await count("conversations")).toBe(before + 1);
});

test("requests racing with one key: one conversation; the others replayed or told it is running", async () => {
  const before = await count("conversations");
  const answers = await Promise.all([1, 2, 3].map(() => post("/v1/conversations", conversation, "conv-race")));
  expect(answers.every((r) => r.status === 201 || r.status === 409)).toBe(true);
  expect(answers.filter((r) => r.status === 201 && !r.headers.get("idempotent-replayed"))).toHaveLength(1);
  expect(await count("conversations")).toBe(before + 1);
});

test("the same key with a different body is a 409 and creates nothing", async () => {
  expect((await post("/v1/conversations", conversation, "conv-reuse")).status).toBe(201);
  const before = await count("conversations");
  const reused = await post("/v1/conversations", { ...conversation, usecase: "another" }, "conv-reuse");
  expect(reused.status).toBe(409);
  expect(((await reused.json()) as any).error).toMatchObject({ code: "idempotency_conflict" });
  expect(await count("conversations")).toBe(before);
});

test("without a key every POST runs; different keys run once each", async () => {
  const before = await count("conversations");
  await post("/v1/conversations", conversation);
  await post("/v1/conversations", conversation);
  await post("/v1/conversations", conversation, "k-a");
  await post("/v1/conversations", conversation, "k-b");
  expect(await count("conversations")).toBe(before + 4);
});

test("a 4xx answer from the handler is kept too: the retry gets the same 404 without running again", async () => {
  const missing = "/v1/conversations/00000000-0000-4000-8000-000000000000/messages";
  const message = { content: "hi", content_type: "TEXT", type: "USER_INPUT" };
  const first = await post(missing, message, "msg-404");
  const again = await post(missing, message, "msg-404");
  expect([first.status, again.status]).toEqual([404, 404]);
  expect(await again.json()).toEqual(await first.json());
  expect(again.headers.get("idempotent-replayed")).toBe("true");
});

test("a request refused before it ran (validation) does not use up its key", async () => {
  expect((await post("/v1/conversations", { ...conversation, channel: "FAX" }, "conv-fixed")).status).toBe(400);
  expect((await post("/v1/conversations", conversation, "conv-fixed")).status).toBe(201);
});

test("a key whose first request is still running is a 409; a key older than 24 hours is free again", async () => {
  // As the first request leaves it while its handler runs: claimed for this very request, no answer yet.
  const requestHash = createHash("sha256")
    .update(`POST /v1/conversations\n${JSON.stringify(conversation)}`)
    .digest("hex");
  await h.deps.sql`insert into api_idempotency_keys (key_hash, idempotency_key, request_hash)
    select key_hash, 'running', ${requestHash} from api_rate_limits limit 1`;
  const running = await post("/v1/conversations", conversation, "running");
  expect(running.status).toBe(409);
  expect(((await running.json()) as any).error.message).toContain("still running");

  expect((await post("/v1/conversations", conversation, "day-old")).status).toBe(201);
  await h.deps
    .sql`update api_idempotency_keys set created_at = now() - interval '25 hours' where idempotency_key = 'day-old'`;
  const before = await count("conversations");
  const fresh = await post("/v1/conversations", conversation, "day-old");
  expect(fresh.status).toBe(201);
  expect(fresh.headers.get("idempotent-replayed")).toBeNull();
  expect(await count("conversations")).toBe(before + 1);
});

test("every management POST honours the key (a replayed clinic is not created twice)", async () => {
  const clinic = { name: "Idem Dental", phone: "+15550301111", timezone: "UTC" };
  const [a, b] = [await post("/v1/clinics", clinic, "clinic-1"), await post("/v1/clinics", clinic, "clinic-1")];
  expect([a.status, b.status]).toEqual([201, 201]);
  expect(b.headers.get("idempotent-replayed")).toBe("true");
  expect(((await a.json()) as any).id).toBe(((await b.json()) as any).id);
  expect((await post("/v1/clinics", clinic, "clinic-2")).status).toBe(409);
  expect((await post("/v1/clinics", clinic, "x".repeat(256))).status).toBe(400);
});
