import { describe, expect, test } from "bun:test";
import { refundNotice, refundStatus, refundToBook } from "../../src/domain/refunds";

describe("refundToBook", () => {
  test("books only what the cumulative total adds over what is booked", () => {
    expect(refundToBook(2000, 0)).toEqual({ kind: "book", amount: 2000 });
    expect(refundToBook(3000, 2000)).toEqual({ kind: "book", amount: 1000 });
    expect(refundToBook(3000, 3000)).toEqual({ kind: "nothing" });
    expect(refundToBook(2000, 3000)).toEqual({ kind: "nothing" });
  });
});

describe("refundStatus", () => {
  test("none, partial or full against what was paid; Stripe's flag only when the paid amount is unknown", () => {
    expect(refundStatus(0, 6000, false)).toBe("none");
    expect(refundStatus(2000, 6000, true)).toBe("partial");
    expect(refundStatus(6000, 6000, false)).toBe("full");
    expect(refundStatus(2000, null, false)).toBe("partial");
    expect(refundStatus(2000, null, true)).toBe("full");
  });
});

describe("refundNotice", () => {
  test("states this refund's amount, and whether the deposit is partly or fully back", () => {
    const base = { paid: 6000, currency: "usd" };
    expect(refundNotice("Harbor", { ...base, amount: 6000, refunded: 6000, status: "full" }).body)
      .toBe("Your $60.00 deposit has been refunded.");
    const partial = refundNotice("Harbor", { ...base, amount: 2000, refunded: 2000, status: "partial" });
    expect(partial.subject).toBe("Harbor: deposit partly refunded");
    expect(partial.body).toBe("Your $20.00 deposit refund has been issued. This is a partial refund: "
      + "$20.00 of your $60.00 deposit has been refunded so far.");
    expect(refundNotice("Harbor", { ...base, amount: 3000, refunded: 6000, status: "full" }).body)
      .toBe("Your $30.00 deposit refund has been issued. Your $60.00 deposit is now fully refunded.");
    expect(refundNotice("Harbor", { amount: 500, refunded: 500, paid: null, currency: "jpy", status: "partial" }).body)
      .toContain("¥500 of your deposit has been refunded so far");
  });
});
