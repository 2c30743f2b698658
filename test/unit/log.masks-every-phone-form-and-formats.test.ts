import { describe, expect, test } from "bun:test";
import { createLogger, logFormat, mask } from "../../src/log";

describe("mask", () => {
  test("short E.164 numbers are masked too", () => {
    const line = mask('{"to":"+35312345","niue":"+6834002","de":"+4930123456"}');
    for (const digits of ["35312345", "6834002", "4930123456"]) expect(line).not.toContain(digits);
    expect(line).toContain('"to":"+35***45"');
    expect(line).toContain('"niue":"+68***02"');
    expect(line).toContain('"de":"+493***56"');
  });

  test("URL-encoded numbers in a form body are masked", () => {
    const line = mask("MessageSid=SM1&From=%2B15557654321&To=%2b15551234567&Body=hi");
    expect(line).toBe("MessageSid=SM1&From=%2B1555***4321&To=%2b1555***4567&Body=hi");
  });

  test("a URL's password is masked, the rest of the URL kept", () => {
    expect(mask('{"url":"postgres://admin:S3cretPw@db.internal:5432/app"}')).toBe(
      '{"url":"postgres://admin:***@db.internal:5432/app"}',
    );
  });

  test("ids, times, short counts and the spec's example stay as they were", () => {
    const line = mask(
      '{"to":"+15551234567","id":"SM0123456789abcdef","at":"2026-11-22T19:05:49.123+00:00","n":1234567}',
    );
    expect(line).toContain('"to":"+1555***4567"');
    expect(line).toContain("SM0123456789abcdef");
    expect(line).toContain("2026-11-22T19:05:49.123+00:00");
    expect(line).toContain('"n":1234567');
  });
});

describe("logger", () => {
  test("an error logged at level error carries its stack; a warning does not", () => {
    const lines: string[] = [];
    const log = createLogger("debug", {}, (l) => lines.push(l));
    const error = new Error("boom", { cause: new Error("socket closed") });
    log.error("unhandled error", { error });
    log.warn("retrying", { error });
    const [asError, asWarning] = lines.map((l) => JSON.parse(l));
    expect(asError.error.stack).toContain("log.masks-every-phone-form-and-formats.test.ts");
    expect(asError.error.cause).toBe("Error: socket closed");
    expect(asWarning.error.stack).toBeUndefined();
    expect(asWarning.error.message).toBe("boom");
  });

  test("pretty: one readable line with fields, nested values indented, masked", () => {
    const lines: string[] = [];
    createLogger("info", { service: "switchboard", role: "all" }, (l) => lines.push(l), "pretty").info(
      "switchboard started",
      { port: 3000, webhooks: { stripe: "https://x.test/stripe" }, off: ["email: SMTP_URL unset"], to: "+15551234567" },
    );
    const [text] = lines;
    const [head, ...rest] = text!.split("\n");
    expect(head).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  switchboard started role=all port=3000 to=\+1555\*\*\*4567$/);
    expect(rest).toEqual(expect.arrayContaining(["  webhooks:", "    stripe:  https://x.test/stripe"]));
    expect(rest).toEqual(expect.arrayContaining(["  off:", "    - email: SMTP_URL unset"]));
    expect(() => JSON.parse(text!)).toThrow();
  });

  test("the format defaults to pretty on a terminal and JSON otherwise; LOG_FORMAT wins", () => {
    expect(logFormat(undefined, true)).toBe("pretty");
    expect(logFormat(undefined, false)).toBe("json");
    expect(logFormat("json", true)).toBe("json");
    expect(logFormat("pretty", false)).toBe("pretty");
  });
});
