import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";
import { parseIp } from "../domain/ip";

/** Raised when a callback URL or the address it resolves to may not be called. Never retried. */
export class RefusedTarget extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RefusedTarget";
  }
}

export interface Target {
  url: URL;
  /** The checked IP literal the connection must go to (no second lookup a rebinding answer could change). */
  address: string;
  family: 4 | 6;
  /** For the Host header and TLS SNI / certificate check. */
  hostname: string;
  port: number;
}

export type Lookup = (hostname: string) => Promise<{ address: string; family: number }[]>;
export const systemLookup: Lookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

// The few ranges ipaddr.js names "unicast" (or names as a whole) that a callback may still not reach.
const IPV4_COMPATIBLE = ipaddr.parseCIDR("::/96"); // deprecated (RFC 4291); ::a.b.c.d is no public host
const NAT64_WELL_KNOWN = ipaddr.parseCIDR("64:ff9b::/96"); // its last 32 bits are the IPv4 address reached

/** The IPv4 address an IPv6 address reaches through NAT64 or 6to4, which decides whether it may be called. */
function embeddedIpv4(address: ipaddr.IPv6, range: string): ipaddr.IPv4 | undefined {
  const bytes = address.toByteArray();
  if (range === "rfc6052" && address.match(NAT64_WELL_KNOWN)) return new ipaddr.IPv4(bytes.slice(12, 16));
  if (range === "6to4") return new ipaddr.IPv4(bytes.slice(2, 6));
  return undefined;
}

/**
 * Why this address may not be called, as ipaddr.js names its range (loopback, private, linkLocal, reserved,
 * teredo, …), or undefined when it is public unicast. IPv4-mapped, NAT64 and 6to4 addresses are judged by the
 * IPv4 address they reach.
 */
export function blockedReason(ip: string): string | undefined {
  const address = parseIp(ip);
  if (!address) return "not an IP address";
  if (address.kind() === "ipv4") {
    const range = address.range();
    return range === "unicast" ? undefined : range;
  }
  const v6 = address as ipaddr.IPv6;
  const range = v6.range();
  const v4 = embeddedIpv4(v6, range);
  if (v4) return blockedReason(v4.toString());
  if (range !== "unicast") return range;
  if (v6.match(IPV4_COMPATIBLE)) return "ipv4Compatible";
  return undefined;
}

const isLoopback = (ip: string) => blockedReason(ip) === "loopback";

/**
 * Parses and resolves a callback URL and checks every address it resolves to. Called at creation and again
 * before every attempt; the attempt then connects to `address`, never to the name.
 */
export async function resolveTarget(raw: string, opts: { allowPrivate: boolean; lookup?: Lookup }): Promise<Target> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RefusedTarget("callback_url is not a valid URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new RefusedTarget("callback_url must be https");
  if (url.username || url.password) throw new RefusedTarget("callback_url may not contain credentials");
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  const literal = isIP(hostname);
  let answers: { address: string; family: number }[];
  try {
    answers = literal ? [{ address: hostname, family: literal }] : await (opts.lookup ?? systemLookup)(hostname);
  } catch (error) {
    throw new RefusedTarget(`cannot resolve ${hostname}: ${(error as Error).message}`);
  }
  if (answers.length === 0) throw new RefusedTarget(`${hostname} has no address`);
  for (const { address } of answers) {
    const why = blockedReason(address);
    if (why && !opts.allowPrivate) throw new RefusedTarget(`${hostname} resolves to ${address} (${why}); refused`);
  }
  const chosen = answers[0]!;
  if (url.protocol === "http:" && !(opts.allowPrivate && answers.every((a) => isLoopback(a.address)))) {
    throw new RefusedTarget("callback_url must be https (http only for loopback with OUTBOUND_ALLOW_PRIVATE=true)");
  }
  const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  return { url, address: chosen.address, family: chosen.family === 6 ? 6 : 4, hostname, port };
}
