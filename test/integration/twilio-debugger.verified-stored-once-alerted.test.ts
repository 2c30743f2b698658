import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Webhook } from "standardwebhooks";
import { newSecret } from "../../src/outbound/sign";
import { evaluate, incidentsOf, rowsOf } from "../support/alerts";
import { createMailHarness, type MailHarness, PUBLIC_URL, TWILIO_ACCOUNT_SID } from "../support/harness";
import { startReceiver } from "../support/receiver";
import { signedTwilioRequest } from "../support/twilio";

const PATH = "/api/v1/webhooks/twilio/debugger";
const SECRET = newSecret();
let h: MailHarness;
let receiver: ReturnType<typeof startReceiver>;
beforeAll(async () => {
  receiver = startReceiver();
  h = await createMailHarness({
    OUTBOUND_ALLOW_PRIVATE: "true", ALERT_WEBHOOK_URL: `${receiver.url}/alerts`, ALERT_WEBHOOK_SECRET: SECRET,
  });
});
afterAll(async () => {
  await h.close();
  await receiver.close();
});

let seq = 0;
/** The parameters Twilio's Debugger webhook posts, with the details as a JSON Payload. */
function debuggerParams(errorCode: string, level = "Error", sid = `NO${String(++seq).padStart(32, "0")}`) {
  return {
    Sid: sid, AccountSid: TWILIO_ACCOUNT_SID, Timestamp: new Date().toISOString(), Level: level,
    PayloadType: "application/json",
    Payload: JSON.stringify({
      resource_sid: `SM${"1".repeat(32)}`, service_sid: null, error_code: errorCode,
      more_info: { Msg: `Message Delivery - Unknown error (${errorCode})`, ErrorCode: errorCode },
    }),
  };
}
const post = (params: Record<string, string>, opts: Parameters<typeof signedTwilioRequest>[2] = {}) =>
  h.request(PATH, signedTwilioRequest(PATH, params, opts));
const alertHooks = () => receiver.at("/alerts")
  .map((r) => ({ ...r, payload: new Webhook(SECRET).verify(r.body, r.headers) as any }));
const supportMail = () => h.smtp.messages.filter((m) => m.to.includes("support@switchboard.test"))
  .map((m) => h.smtp.text(m));

describe("the Twilio Debugger webhook", () => {
  test("refuses a bad signature, a missing Sid and a wrong content type without storing anything", async () => {
    const forged = await post(debuggerParams("30003"), { signature: "bm90IGEgc2lnbmF0dXJl" });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toBe("Forbidden");
    expect((await post(debuggerParams("30003"), { signature: null })).status).toBe(403);
    const { Sid: _sid, ...noSid } = debuggerParams("30003");
    expect((await post(noSid)).status).toBe(400);
    expect((await post(debuggerParams("30003"), { contentType: "application/json" })).status).toBe(415);
    expect(await rowsOf(h)`select id from webhook_events where provider = 'twilio-debugger'`).toEqual([]);
  });

  test("stores an event once per Sid; its error code opens one incident, notified by email and webhook", async () => {
    const params = debuggerParams("30003");
    const first = await post(params);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ status: "received" });
    const retried = await post(params);
    expect(retried.status).toBe(200);
    expect(await retried.json()).toEqual({ status: "received" });
    const stored = await rowsOf(h)`select id, status from webhook_events where provider = 'twilio-debugger'`;
    expect(stored).toHaveLength(1);

    await h.drain(); // processes the event, which queues an evaluation at once; then the email and webhook go out
    expect(await rowsOf(h)`select sid, level, error_code, resource_sid, webhook_event_id from twilio_debugger_events`)
      .toEqual([{
        sid: params.Sid, level: "error", error_code: "30003", resource_sid: `SM${"1".repeat(32)}`,
        webhook_event_id: String(stored[0]!.id),
      }]);
    const [incident] = await incidentsOf(h, "twilio_debugger");
    expect(incident).toMatchObject({ key: "30003", resolved_at: null });
    expect(incident.figures)
      .toMatchObject({ events: 1, errors: 1, twilio_docs: "https://www.twilio.com/docs/api/errors/30003" });

    const eventUrl = `${PUBLIC_URL}/console/webhook-events/${stored[0]!.id}`;
    expect(supportMail()).toHaveLength(1);
    const mail = supportMail()[0]!;
    expect(mail).toContain("Subject: [Switchboard] ALERT: Twilio error 30003: 1 debugger event");
    expect(mail).toContain(`Since: ${new Date(incident.opened_at).toISOString()}`);
    expect(mail).toContain("Message Delivery - Unknown error (30003)");
    expect(mail).toContain(eventUrl);
    expect(mail).toContain(`${PUBLIC_URL}/console/alerts/${incident.id}`);
    expect(mail).toContain("What to check:");

    const hooks = alertHooks();
    expect(hooks).toHaveLength(1);
    expect(hooks[0]!.headers["switchboard-event"]).toBe("alert.opened");
    expect(hooks[0]!.payload).toMatchObject({
      type: "alert.opened",
      data: {
        id: incident.id, rule: "twilio_debugger", key: "30003", status: "open", resolved_at: null,
        figures: { error_code: "30003", events: 1 }, url: `${PUBLIC_URL}/console/alerts/${incident.id}`,
        examples: [{ kind: "webhook_event", id: String(stored[0]!.id), url: eventUrl }],
      },
    });
    expect(() => new Webhook(newSecret()).verify(hooks[0]!.body, hooks[0]!.headers)).toThrow();
  });

  test("more events of the same code do not notify again; another code is an incident of its own", async () => {
    expect((await post(debuggerParams("30003"))).status).toBe(200);
    expect((await post(debuggerParams("11200", "Warning"))).status).toBe(200);
    await h.drain();
    const incidents = await incidentsOf(h, "twilio_debugger");
    expect(incidents.map((i) => i.key)).toEqual(["30003", "11200"]);
    expect(incidents[0].figures).toMatchObject({ events: 2, errors: 2 });
    expect(incidents[1].figures).toMatchObject({ events: 1, warnings: 1 });
    expect(alertHooks().map((r) => `${r.payload.type} ${r.payload.data.key}`))
      .toEqual(["alert.opened 30003", "alert.opened 11200"]);
    expect(supportMail()).toHaveLength(2);
  });

  test("resolves once the code has been quiet for the window, and says so on both channels", async () => {
    await rowsOf(h)`update twilio_debugger_events set received_at = now() - interval '2 hours'
      where error_code = '30003'`;
    await evaluate(h);
    await h.drain();
    const [resolved] = await incidentsOf(h, "twilio_debugger");
    expect(resolved.resolved_at).not.toBeNull();
    const last = alertHooks().at(-1)!;
    expect(last.payload)
      .toMatchObject({ type: "alert.resolved", data: { id: resolved.id, status: "resolved", key: "30003" } });
    expect(supportMail().at(-1)).toContain("Subject: [Switchboard] RESOLVED: Twilio error 30003");
    expect((await incidentsOf(h, "twilio_debugger"))[1].resolved_at).toBeNull();
  });
});
