import { describe, expect, test } from "bun:test";
import { formatMoney } from "../../src/domain/money";
import { normalizePhone } from "../../src/domain/phone";
import { createLogger, mask } from "../../src/log";

describe("mask", () => {
  test("phone numbers and emails are masked, ids and times are not", () => {
    const line = mask('{"to":"+15551234567","from":"whatsapp:+447700900123","email":"jane.doe@example.com",'
      + '"id":"550e8400-e29b-41d4-a716-446655440000","at":"2026-11-22T19:05:49.123Z"}');
    expect(line).toContain('"to":"+1555***4567"');
    expect(line).toContain("whatsapp:+4477***0123");
    expect(line).toContain('"email":"j***@example.com"');
    expect(line).toContain("550e8400-e29b-41d4-a716-446655440000");
    expect(line).toContain("2026-11-22T19:05:49.123Z");
    expect(line).not.toContain("5551234567");
  });

  test("the logger writes one JSON line with fields, masked", () => {
    const lines: string[] = [];
    createLogger("info", { service: "t" }, (l) => lines.push(l)).child({ clinic: "c1" })
      .info("sent", { to: "+15559876543" });
    createLogger("info", {}, (l) => lines.push(l)).debug("hidden");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!))
      .toMatchObject({ level: "info", msg: "sent", service: "t", clinic: "c1", to: "+1555***6543" });
  });
});

describe("money and phones", () => {
  test("Stripe minor units are formatted per currency", () => {
    expect(formatMoney(6000, "usd")).toBe("$60.00");
    expect(formatMoney(2550, "eur")).toBe("€25.50");
    expect(formatMoney(5000, "jpy")).toBe("¥5,000");
  });

  test("phones normalise to E.164 or are refused", () => {
    expect(normalizePhone("+1 (555) 123-4567")).toBe("+15551234567");
    expect(normalizePhone("whatsapp:+15551234567")).toBe("+15551234567");
    expect(normalizePhone("0044 7700 900123")).toBe("+447700900123");
    expect(normalizePhone("555-1234")).toBeUndefined();
    expect(normalizePhone("hello")).toBeUndefined();
  });
});
