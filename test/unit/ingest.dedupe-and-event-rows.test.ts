import { describe, expect, test } from "bun:test";
import { dedupe, type IngestInput, redactHeaders, toEventRow } from "../../src/ingest/ingest";

describe("dedupe", () => {
  test("the first delivery of each key writes; later ones in the batch are its duplicates", () => {
    const { writers, duplicateOf } = dedupe([
      { provider: "stripe", key: "evt_1" },
      { provider: "twilio-sms", key: "evt_1" },
      { provider: "stripe", key: "evt_2" },
      { provider: "stripe", key: "evt_1" },
      { provider: "stripe", key: "evt_2" },
    ]);
    expect(writers).toEqual([0, 1, 2]);
    expect([...duplicateOf]).toEqual([[3, 0], [4, 2]]);
  });
});

describe("toEventRow", () => {
  const input: IngestInput = {
    provider: "twilio-sms",
    key: "SM1",
    headers: new Headers({
      "x-twilio-signature": "sig", "i-twilio-idempotency-token": "tok", "content-type": "text/plain",
    }),
    rawBody: "Body=hi",
    phone: "+15557654321",
    answer: { status: 200, body: "<Response/>", contentType: "text/xml" },
    receivedAt: 1000,
  };

  test("names the columns, redacts signatures, keeps the token and the time so far", () => {
    expect(toEventRow(input, { status: 202, body: "ok", contentType: "text/plain" }, 1012.4)).toEqual({
      provider: "twilio-sms",
      idempotency_key: "SM1",
      phone: "+15557654321",
      provider_token: "tok",
      headers: {
        "x-twilio-signature": "[redacted]", "i-twilio-idempotency-token": "tok", "content-type": "text/plain",
      },
      raw_body: "Body=hi",
      response_status: 202,
      response_body: "ok",
      response_content_type: "text/plain",
      response_ms: 12,
      source: "webhook",
      source_note: null,
    });
  });

  test("a reconciled delivery keeps its source and why it was fetched", () => {
    const row = toEventRow(
      { ...input, source: "reconcile", sourceNote: "missed" }, { status: 200, body: "", contentType: "x" },
    );
    expect([row.source, row.source_note]).toEqual(["reconcile", "missed"]);
  });

  test("without a phone or token the row holds nulls", () => {
    const row = toEventRow(
      { ...input, phone: undefined, headers: new Headers() }, { status: 200, body: "", contentType: "x" },
    );
    expect([row.phone, row.provider_token]).toEqual([null, null]);
  });

  test("every signature and credential header is redacted", () => {
    const headers = new Headers({ "Stripe-Signature": "a", Authorization: "b", Cookie: "c", Accept: "d" });
    expect(redactHeaders(headers)).toEqual({
      "stripe-signature": "[redacted]", authorization: "[redacted]", cookie: "[redacted]", accept: "d",
    });
  });
});
