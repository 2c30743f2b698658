import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { API_KEY } from "../support/harness";
import { consoleClient } from "../support/console";
import { startOutboundWorld, waitFor } from "../support/receiver";

let world: Awaited<ReturnType<typeof startOutboundWorld>>;
let c: ReturnType<typeof consoleClient>;
beforeAll(async () => {
  world = await startOutboundWorld({ OUTBOUND_RETRY_DELAYS_MS: "50,50,50", OUTBOUND_TIMEOUT_MS: "1000" });
  c = consoleClient(world.h);
  await c.signIn(API_KEY);
});
afterAll(() => world.close());

const rows = (q: TemplateStringsArray, ...v: any[]) => world.h.deps.sql(q, ...v) as Promise<any[]>;
const page = async (path: string) => {
  const res = await c.get(path);
  expect({ path, status: res.status }).toEqual({ path, status: 200 });
  return res.text();
};

/** A conversation whose receiver answers 503 until told otherwise, and its one failed delivery. */
async function failedDelivery(path: string) {
  world.receiver.on(path, [{ status: 503, body: "down for maintenance" }]);
  const conv = (await (
    await world.h.api("POST", "/v1/conversations", {
      channel: "API",
      usecase: "t",
      config: { callback_url: `${world.receiver.url}${path}` },
    })
  ).json()) as any;
  await world.h.api("POST", `/v1/conversations/${conv.id}/messages`, {
    content: "hello",
    content_type: "TEXT",
    type: "BOT",
  });
  const delivery = await waitFor(
    async () =>
      (await rows`select id, endpoint_id from deliveries where conversation_id = ${conv.id} and status = 'failed'`)[0],
    "a failed delivery",
  );
  return { id: delivery.id as string, endpointId: delivery.endpoint_id as string };
}

describe("deliveries and endpoints in the console", () => {
  test("a failed delivery shows every attempt with its answer; "
    + "Retry from the console sends it again and it succeeds", async () => {
    const { id } = await failedDelivery("/flaky");
    const detail = await page(`/console/deliveries/${id}`);
    expect(detail).toContain("HTTP 503");
    expect(detail).toContain("down for maintenance");
    expect(await page("/console/deliveries?status=failed")).toContain(`/console/deliveries/${id}`);
    world.receiver.on("/flaky", [{ status: 200, body: "thanks" }]);
    const retry = await c.post(`/console/deliveries/${id}/retry`, { _csrf: c.csrfOf(detail) });
    expect(retry.headers.get("location")).toBe(`/console/deliveries/${id}?done=retried`);
    await waitFor(
      async () => (await rows`select status from deliveries where id = ${id}`)[0]!.status === "succeeded",
      "retried delivery to succeed",
    );
    const after = await page(`/console/deliveries/${id}`);
    expect(after).toContain("thanks");
    expect(await rows`select cause, subject_id from audit_log where action = 'retry'`).toContainEqual({
      cause: "console",
      subject_id: id,
    });
  });

  test("disable, enable, rotate (secret shown once, never stored in the audit) and replay a range", async () => {
    const { id, endpointId } = await failedDelivery("/range");
    const detail = await page(`/console/endpoints/${endpointId}`);
    const csrf = c.csrfOf(detail);
    expect((await c.post(`/console/endpoints/${endpointId}/disable`, { _csrf: csrf })).status).toBe(303);
    expect(
      (await rows`select disabled_at from webhook_endpoints where id = ${endpointId}`)[0]!.disabled_at,
    ).not.toBeNull();
    expect((await c.post(`/console/endpoints/${endpointId}/enable`, { _csrf: csrf })).status).toBe(303);
    expect((await rows`select disabled_at from webhook_endpoints where id = ${endpointId}`)[0]!.disabled_at).toBeNull();

    const rotated = await c.post(`/console/endpoints/${endpointId}/rotate-secret`, { _csrf: csrf });
    const html = await rotated.text();
    const secret = (await rows`select secret from webhook_endpoints where id = ${endpointId}`)[0]!.secret as string;
    expect(html).toContain(secret);
    expect(await page(`/console/endpoints/${endpointId}`)).not.toContain(secret);
    expect(JSON.stringify(await rows`select * from audit_log`)).not.toContain(secret);

    world.receiver.on("/range", [{ status: 204 }]);
    const since = new Date(Date.now() - 3600_000).toISOString().slice(0, 16);
    const replay = await c.post(`/console/endpoints/${endpointId}/replay`, { _csrf: csrf, since, until: "" });
    expect(replay.headers.get("location")).toBe(`/console/endpoints/${endpointId}?done=range-replayed&n=1`);
    await waitFor(
      async () => (await rows`select status from deliveries where id = ${id}`)[0]!.status === "succeeded",
      "replayed delivery",
    );
    const actions = (await rows`select action from audit_log where subject_id = ${endpointId} order by id`).map(
      (r) => r.action,
    );
    expect(actions).toEqual(["disable", "enable", "rotate_secret", "replay_range"]);
  });
});
