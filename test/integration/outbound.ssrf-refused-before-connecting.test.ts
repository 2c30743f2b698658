import { afterAll, beforeAll, expect, test } from "bun:test";
import { runOnce } from "graphile-worker";
import { quietLogger } from "../../src/db";
import { recordMessage } from "../../src/effects/messages";
import { sendDeliveryTask } from "../../src/jobs/deliver";
import { taskList } from "../../src/jobs";
import type { Transport } from "../../src/outbound/http";
import { createHarness, type Harness } from "../support/harness";
import { startReceiver } from "../support/receiver";

let h: Harness;
let receiver: ReturnType<typeof startReceiver>;
beforeAll(async () => {
  h = await createHarness({ OUTBOUND_RETRY_DELAYS_MS: "0,0,0" });
  receiver = startReceiver();
});
afterAll(async () => {
  await receiver.close();
  await h.close();
});

const json = async (res: Response) => res.json() as Promise<any>;

test("creating a conversation with a private, loopback or link-local callback is a 400", async () => {
  for (const callback_url of [
    "https://127.0.0.1/h", "https://10.0.0.1/h", "https://169.254.169.254/latest", "https://[::1]/h",
    "https://localhost/h", `${receiver.url}/h`,
  ]) {
    const res = await h.api("POST", "/v1/conversations", { channel: "API", usecase: "t", config: { callback_url } });
    expect(res.status).toBe(400);
    expect((await json(res)).error.message).toContain("callback_url refused");
  }
  expect((await h.request("/v1/conversations")).status).not.toBe(500);
});

test("a target that became private is refused at the attempt, before any connection, and not retried", async () => {
  // Stored as though it had passed at creation (DNS changed since): every attempt re-checks.
  const targets = [
    "https://10.0.0.1/h", "https://169.254.169.254/latest/meta-data", "https://localhost/h", `${receiver.url}/h`,
  ];
  const connections: string[] = [];
  const spy: Transport = async (target) => {
    connections.push(target.address);
    return { status: 200, body: "" };
  };
  for (const url of targets) {
    const [conv] = await h.deps.sql`insert into conversations (channel, usecase, callback_url) values ('API', 't',
      ${url}) returning id`;
    await h.deps.db.transaction((tx) => recordMessage(tx, {
      conversationId: conv!.id, content: "x", contentType: "TEXT", type: "BOT", channel: "API", status: "received",
      createdBy: "t", updatedBy: "t",
    }));
  }
  const tasks = { ...taskList(h.deps), "send-delivery": sendDeliveryTask(h.deps, { transport: spy }) };
  await runOnce({ connectionString: h.deps.databaseUrl, taskList: tasks, logger: quietLogger });
  await runOnce({ connectionString: h.deps.databaseUrl, taskList: tasks, logger: quietLogger });
  const rows = await h.deps.sql`select d.status, d.attempts, a.error_type, a.error, a.address
    from deliveries d join delivery_attempts a on a.delivery_id = d.id order by d.seq`;
  expect(rows).toHaveLength(targets.length);
  for (const row of rows) expect(row)
    .toMatchObject({ status: "failed", attempts: 1, error_type: "refused", address: null });
  expect(rows[0]!.error).toContain("10.0.0.1");
  expect(connections).toEqual([]);
  expect(receiver.received).toHaveLength(0);
});
