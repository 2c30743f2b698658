import { describe, expect, test } from "bun:test";
import { advances, finalStatus, SMS_STATUS_RANK, SMS_STATUSES, type SmsStatus } from "../../src/domain/sms-status";

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap(
    (item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

describe("SMS status rank", () => {
  test("every Twilio status has its own rank, in the documented order", () => {
    expect(SMS_STATUSES).toEqual(
      ["accepted", "scheduled", "queued", "sending", "canceled", "sent", "failed", "undelivered", "delivered", "read"],
    );
    expect(new Set(Object.values(SMS_STATUS_RANK)).size).toBe(SMS_STATUSES.length);
  });

  test("each status moves a message only forward, and never onto itself", () => {
    for (const current of SMS_STATUSES) {
      for (const next of SMS_STATUSES) {
        expect(advances(current, next)).toBe(SMS_STATUS_RANK[next] > SMS_STATUS_RANK[current]);
      }
    }
  });

  test("our own pre-send states (pending, a send claim) are overtaken by anything Twilio reports", () => {
    for (const next of SMS_STATUSES) expect(advances("pending", next)).toBe(true);
    expect(advances("sending", "queued")).toBe(false);
    expect(advances("sending", "sent")).toBe(true);
  });

  test("every order of sent / delivered / failed ends in the same state", () => {
    const cases: [SmsStatus[], string][] = [
      [["sent", "delivered"], "delivered"],
      [["sent", "failed"], "failed"],
      [["sent", "undelivered"], "undelivered"],
      [["failed", "undelivered"], "undelivered"],
      [["delivered", "failed"], "delivered"],
      [["sent", "delivered", "failed"], "delivered"],
      [["queued", "sent", "delivered", "read"], "read"],
      [["scheduled", "canceled"], "canceled"],
      [["canceled", "sent"], "sent"],
    ];
    for (const [statuses, final] of cases) {
      for (const order of permutations(statuses)) expect(finalStatus(order, "queued")).toBe(final);
    }
  });
});
