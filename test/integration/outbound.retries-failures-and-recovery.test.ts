import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Webhook } from "standardwebhooks";
import { queueClinicEvent } from "../../src/effects/messages";
import { type Harness, METRICS_TOKEN } from "../support/harness";
import { type Behaviour, startDropper, startOutboundWorld, startReceiver, waitFor } from "../support/receiver";

const DELAYS = [150, 300, 450];
let h: Harness;
let receiver: ReturnType<typeof startReceiver>;
let world: Awaited<ReturnType<typeof startOutboundWorld>>;

beforeAll(async () => {
  world = await startOutboundWorld({ OUTBOUND_RETRY_DELAYS_MS: DELAYS.join(","), OUTBOUND_TIMEOUT_MS: "300" });
  ({ h, receiver } = world);
});
afterAll(() => world.close());

const json = async (res: Response) => res.json() as Promise<any>;
const rows = (q: TemplateStringsArray, ...v: any[]) => h.deps.sql(q, ...v) as Promise<any[]>;

/** A conversation whose callback is `path` on the receiver, scripted with `script`, and one message in it. */
async function deliverOne(path: string, script: Behaviour[], base = receiver.url) {
  receiver.on(path, script);
  const conv = await json(await h.api(
    "POST", "/v1/conversations", { channel: "API", usecase: "t", config: { callback_url: `${base}${path}` } },
  ));
  await h.api(
    "POST", `/v1/conversations/${conv.id}/messages`, { content: `to ${path}`, content_type: "TEXT", type: "BOT" },
  );
  const delivery = await waitFor(
    async () => (await json(await h.api("GET", `/v1/deliveries?conversation_id=${conv.id}`))).data[0], "delivery row",
  );
  return { conv, deliveryId: delivery.id as string };
}
const finished = (id: string) => waitFor(async () => {
  const d = await json(await h.api("GET", `/v1/deliveries/${id}`));
  return d.status === "pending" ? undefined : d;
}, `delivery ${id} to finish`);

describe("retry schedule", () => {
  test("500, 500, 500 then 200: retried after the configured delays with one webhook-id", async () => {
    const { conv, deliveryId } =
      await deliverOne("/flaky", [{ status: 500, body: "boom" }, { status: 500 }, { status: 500 }, { status: 200 }]);
    const d = await finished(deliveryId);
    expect(d.status).toBe("succeeded");
    expect(d.attempts_log.map((a: any) => a.status_code)).toEqual([500, 500, 500, 200]);
    expect(d.attempts_log[0].response_body).toBe("boom");
    expect(d.attempts_log[0].error_type).toBe("http_status");
    const hits = receiver.at("/flaky");
    expect(hits).toHaveLength(4);
    expect(new Set(hits.map((r) => r.headers["webhook-id"])).size).toBe(1);
    for (let i = 1; i < hits.length; i++) expect(hits[i]!.at - hits[i - 1]!.at).toBeGreaterThanOrEqual(DELAYS[i - 1]!);
    for (const hit of hits) expect(new Webhook(conv.webhook_secret).verify(hit.body, hit.headers)).toBeTruthy();
  });

  test("every attempt failing ends failed after 1 + 3 attempts; "
    + "a manual retry sends it again with the same id", async () => {
    const { deliveryId } = await deliverOne("/down", [{ status: 503 }]);
    const d = await finished(deliveryId);
    expect(d.status).toBe("failed");
    expect(d.attempts).toBe(4);
    expect(receiver.at("/down")).toHaveLength(4);
    receiver.on("/down", [{ status: 204 }]);
    expect((await h.api("POST", `/v1/deliveries/${deliveryId}/retry`)).status).toBe(202);
    expect((await finished(deliveryId)).status).toBe("succeeded");
    const hits = receiver.at("/down");
    expect(hits).toHaveLength(5);
    expect(new Set(hits.map((r) => r.headers["webhook-id"])).size).toBe(1);
    expect((await h.api("POST", `/v1/deliveries/${deliveryId}/retry`)).status).toBe(202);
    expect((await h.api("POST", "/v1/deliveries/00000000-0000-4000-8000-000000000000/retry")).status).toBe(404);
  });

  test("429 with a longer Retry-After waits that long", async () => {
    const { deliveryId } =
      await deliverOne("/busy", [{ status: 429, headers: { "retry-after": "1" } }, { status: 200 }]);
    expect((await finished(deliveryId)).status).toBe("succeeded");
    const [a, b] = receiver.at("/busy");
    expect(b!.at - a!.at).toBeGreaterThanOrEqual(1000);
  });
});

describe("failures of the receiver", () => {
  test("a receiver that hangs past the timeout is a timeout attempt, retried", async () => {
    const { deliveryId } = await deliverOne("/hang", [{ hang: true }, { status: 200 }]);
    const d = await finished(deliveryId);
    expect(d.status).toBe("succeeded");
    expect(d.attempts_log[0]).toMatchObject({ error_type: "timeout", status_code: null });
  });

  test("a redirect is not followed and counts as a failure", async () => {
    const { deliveryId } = await deliverOne("/moved", [{ status: 302, headers: { location: "/elsewhere" } }]);
    const d = await finished(deliveryId);
    expect(d.status).toBe("failed");
    expect(d.attempts_log.map((a: any) => [a.status_code, a.error_type])).toEqual(Array(4).fill([302, "redirect"]));
    expect(receiver.at("/elsewhere")).toHaveLength(0);
  });

  test("a connection closed without an answer is a network error, retried", async () => {
    const dropper = await startDropper();
    try {
      const { deliveryId } = await deliverOne("/closed", [{ status: 200 }], dropper.url);
      const d = await finished(deliveryId);
      expect(d.status).toBe("failed");
      expect(d.attempts_log.every((a: any) => a.error_type === "network" && a.status_code === null)).toBe(true);
      expect(dropper.connections()).toBe(4);
    } finally {
      await dropper.close();
    }
  });

  test("410 Gone disables the endpoint at once; "
    + "later messages are not sent until re-enabled and replayed", async () => {
    const { conv, deliveryId } = await deliverOne("/gone", [{ status: 410 }]);
    const d = await finished(deliveryId);
    expect(d.status).toBe("failed");
    expect(d.attempts).toBe(1);
    const endpoint = await json(await h.api("GET", `/v1/endpoints/${conv.endpoint_id}`));
    expect(endpoint.disabled_at).not.toBeNull();
    expect(endpoint.disabled_reason).toContain("410");
    await h.api(
      "POST", `/v1/conversations/${conv.id}/messages`, { content: "second", content_type: "TEXT", type: "BOT" },
    );
    const second = await waitFor(async () => (
      await json(await h.api("GET", `/v1/deliveries?conversation_id=${conv.id}&status=failed`))
    ).data.length === 2, "second failed");
    expect(second).toBe(true);
    expect(receiver.at("/gone")).toHaveLength(1);

    receiver.on("/gone", [{ status: 200 }]);
    expect((await h.api("POST", `/v1/endpoints/${conv.endpoint_id}/enable`)).status).toBe(200);
    const replay = await json(await h.api(
      "POST", `/v1/endpoints/${conv.endpoint_id}/replay`, { since: new Date(Date.now() - 60_000).toISOString() },
    ));
    expect(replay.replayed).toBe(2);
    await waitFor(async () => (
      await json(await h.api("GET", `/v1/deliveries?conversation_id=${conv.id}&status=succeeded`))
    ).data.length === 2, "replayed");
    expect(receiver.at("/gone").map((r) => JSON.parse(r.body).data.content))
      .toEqual(["to /gone", "to /gone", "second"]);
  });
});

describe("clinic events and the 24-hour disable", () => {
  test("clinic events go to the clinic's callback_url; "
    + "an endpoint failing for 24 hours is disabled and the clinic emailed", async () => {
    receiver.on("/clinic", [{ status: 200 }]);
    const clinic = await json(await h.api("POST", "/v1/clinics", {
      name: "Harbor Dental", phone: "+15550001111", timezone: "America/New_York", email: "desk@harbor.test",
      callback_url: `${receiver.url}/clinic`,
    }));
    const revealed = await h.api("POST", "/v1/endpoints", { clinic_id: clinic.id });
    expect(revealed.status).toBe(201);
    const endpoint = await json(revealed);
    expect(endpoint.webhook_secret).toMatch(/^whsec_/);
    expect((await json(await h.api("POST", "/v1/endpoints", { clinic_id: clinic.id }))).webhook_secret).toBeNull();

    await h.deps.db.transaction(
      (tx) => queueClinicEvent(tx, { clinicId: clinic.id, type: "sms.failed", dedupeKey: "e1", data: { sid: "SM1" } }),
    );
    const hit = await waitFor(() => receiver.at("/clinic")[0], "clinic event");
    const event = new Webhook(endpoint.webhook_secret).verify(hit.body, hit.headers) as any;
    expect(Object.keys(event).sort()).toEqual(["clinic_id", "data", "timestamp", "type"]);
    expect(event).toMatchObject({ type: "sms.failed", clinic_id: clinic.id, data: { sid: "SM1" } });

    // The receiver has answered, but the success is recorded after (and clears failing_since): wait for it, or it
    // could undo the day of failures set below.
    await waitFor(async () => (await rows`select count(*)::int as n from deliveries
      where endpoint_id = ${endpoint.id} and status = 'succeeded'`)[0].n === 1, "first event recorded");

    // The endpoint has been failing for a day: the next failed attempt disables it.
    receiver.on("/clinic", [{ status: 500 }]);
    await rows`update webhook_endpoints set failing_since = now() - interval '25 hours' where id = ${endpoint.id}`;
    await h.deps.db.transaction(
      (tx) => queueClinicEvent(tx, { clinicId: clinic.id, type: "sms.failed", dedupeKey: "e2", data: { sid: "SM2" } }),
    );
    await waitFor(
      async () => (await rows`select disabled_at from webhook_endpoints where id = ${endpoint.id}`)[0].disabled_at,
      "disabled",
    );
    const mails = await rows`select "to", body from email_outbox where kind = 'endpoint_disabled' order by created_at`;
    // The first is the 410 conversation endpoint's (no clinic: support is told); this one goes to the clinic.
    expect(mails.map((m) => m.to)).toEqual(["support@switchboard.test", "desk@harbor.test"]);
    expect(mails[1].body).toContain(`${receiver.url}/clinic`);
    expect(mails[1].body).toContain("failed for 24 hours");
  });
});

describe("metrics", () => {
  test("/metrics reports outcomes, latency, retries, errors by type and the oldest waiting delivery", async () => {
    const text = await (await h.request("/metrics", { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    expect(text).toMatch(/switchboard_outbound_deliveries_total\{outcome="succeeded"\} [1-9]/);
    expect(text).toMatch(/switchboard_outbound_deliveries_total\{outcome="failed"\} [1-9]/);
    expect(text).toMatch(/switchboard_outbound_attempt_seconds_count\{result="failure"\} [1-9]/);
    expect(text).toMatch(/switchboard_outbound_retries_total [1-9]/);
    for (const type of ["timeout", "network", "http_status", "redirect", "gone"]) {
      expect(text).toMatch(new RegExp(`switchboard_outbound_errors_total\\{type="${type}"\\} [1-9]`));
    }
    expect(text).toMatch(/switchboard_outbound_oldest_waiting_seconds \d/);
  });
});
