import { expect, test } from "bun:test";
import { cidrMatcher, parseIp } from "../../src/domain/ip";

test("INBOUND_ALLOW_CIDRS matches IPv4, IPv6 and IPv4-mapped IPv6 by prefix", () => {
  const allowed = cidrMatcher("3.18.12.0/24, 2600:1f18::/32, 10.1.2.3, ::ffff:192.0.2.0/120");
  expect(
    ["3.18.12.0", "3.18.12.255", "::ffff:3.18.12.7", "2600:1f18:abcd::1", "10.1.2.3", "192.0.2.9"].map(allowed),
  ).toEqual([true, true, true, true, true, true]);
  expect(["3.18.13.0", "2600:1f19::1", "10.1.2.4", "192.0.3.1", "", "not-an-ip"].map(allowed)).toEqual([
    false,
    false,
    false,
    false,
    false,
    false,
  ]);
  expect(cidrMatcher("0.0.0.0/0")("8.8.8.8")).toBe(true);
  expect(cidrMatcher(undefined)("anything")).toBe(true);
});

test("a malformed entry is refused by name", () => {
  for (const bad of ["1.2.3.4/24x", "10.0.0.0/33", "not-an-ip/8", "10.0.0.0/8/1", "127.1/8", "::/129"]) {
    expect(() => cidrMatcher(bad)).toThrow(`INBOUND_ALLOW_CIDRS: bad entry ${bad}`);
  }
});

test("parseIp reads addresses as Node connects to them, and IPv4-mapped IPv6 as IPv4", () => {
  expect(parseIp("10.0.0.1")?.toString()).toBe("10.0.0.1");
  expect(parseIp("::ffff:10.0.0.1")?.kind()).toBe("ipv4");
  expect(parseIp("::1")?.kind()).toBe("ipv6");
  // ipaddr.js alone would read these as 127.0.0.1; a connection would not.
  for (const loose of ["127.1", "0x7f.0.0.1", "2130706433", "example.com", ""]) expect(parseIp(loose)).toBeUndefined();
});
