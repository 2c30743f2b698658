import { expect, test } from "bun:test";
import { ipValue } from "../../src/domain/ip";
import { cidrMatcher } from "../../src/inbound/request";

test("INBOUND_ALLOW_CIDRS matches IPv4, IPv6 and IPv4-mapped IPv6 by prefix", () => {
  const allowed = cidrMatcher("3.18.12.0/24, 2600:1f18::/32, 10.1.2.3");
  expect(["3.18.12.0", "3.18.12.255", "::ffff:3.18.12.7", "2600:1f18:abcd::1", "10.1.2.3"].map(allowed)).toEqual([true, true, true, true, true]);
  expect(["3.18.13.0", "2600:1f19::1", "10.1.2.4", "", "not-an-ip"].map(allowed)).toEqual([false, false, false, false, false]);
  expect(cidrMatcher("0.0.0.0/0")("8.8.8.8")).toBe(true);
  expect(cidrMatcher(undefined)("anything")).toBe(true);
});

test("ipValue gives the family's width and treats IPv4-mapped IPv6 as IPv4", () => {
  expect(ipValue("10.0.0.1")).toEqual({ width: 32, value: 0x0a000001n });
  expect(ipValue("::ffff:10.0.0.1")).toEqual({ width: 32, value: 0x0a000001n });
  expect(ipValue("::1")).toEqual({ width: 128, value: 1n });
  expect(ipValue("example.com")).toBeUndefined();
});
