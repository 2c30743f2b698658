import { isIP } from "node:net";
import ipaddr from "ipaddr.js";

export type Address = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * An address as Node writes and connects to it (strictly dotted-quad IPv4 or IPv6; ipaddr.js alone would also take
 * `127.1` or `0x7f.0.0.1`), with an IPv4-mapped IPv6 address read as the IPv4 one. Undefined for anything else.
 */
export function parseIp(text: string): Address | undefined {
  if (!isIP(text)) return undefined;
  try {
    return ipaddr.process(text);
  } catch {
    return undefined;
  }
}

/** Parses "10.0.0.0/8, 2001:db8::/32, 192.0.2.7" into a matcher; an empty list allows every address. */
export function cidrMatcher(list: string | undefined, name = "INBOUND_ALLOW_CIDRS"): (ip: string) => boolean {
  const entries = (list ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) return () => true;
  const ranges = entries.map((entry) => {
    const [base, bits, extra] = entry.split("/");
    const address = parseIp(base ?? "");
    const width = isIP(base ?? "") === 4 ? 32 : 128;
    const prefix = bits === undefined ? width : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
    if (!address || extra !== undefined || !(prefix >= 0 && prefix <= width)) {
      throw new Error(`${name}: bad entry ${entry} (expected an address or address/prefix-length)`);
    }
    // A mapped IPv6 range (::ffff:10.0.0.0/104) was read as IPv4 by parseIp: its prefix counts from the IPv4 part.
    const mapped = address.kind() === "ipv4" && isIP(base!) === 6;
    return [address, mapped ? Math.max(0, prefix - 96) : prefix] as [Address, number];
  });
  return (ip) => {
    const address = parseIp(ip);
    return !!address && ranges.some(([base, bits]) => base.kind() === address.kind() && address.match(base, bits));
  };
}
