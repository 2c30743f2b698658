import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";
import { samePrefix, v4ToInt, v6ToBigInt } from "../domain/ip";

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

const V4_BLOCKS: [string, number, string][] = [
  ["0.0.0.0", 8, "unspecified"], ["10.0.0.0", 8, "private"], ["100.64.0.0", 10, "CGNAT"],
  ["127.0.0.0", 8, "loopback"], ["169.254.0.0", 16, "link-local"], ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "IETF protocol"], ["192.168.0.0", 16, "private"], ["198.18.0.0", 15, "benchmarking"],
  ["224.0.0.0", 4, "multicast"], ["240.0.0.0", 4, "reserved"],
];

const inV6 = (n: bigint, prefix: string, bits: number) => samePrefix(n, v6ToBigInt(prefix), bits, 128);

/** Why this address may not be called (private, loopback, ...), or undefined when it is public. */
export function blockedReason(ip: string): string | undefined {
  if (isIP(ip) === 4) {
    const n = v4ToInt(ip);
    for (const [base, bits, why] of V4_BLOCKS) {
      if ((n >>> (32 - bits)) === (v4ToInt(base) >>> (32 - bits))) return why;
    }
    return undefined;
  }
  if (isIP(ip) !== 6) return "not an IP address";
  const n = v6ToBigInt(ip);
  if (n === 0n) return "unspecified";
  if (n === 1n) return "loopback";
  // IPv4 embedded in IPv6 (mapped, NAT64, 6to4) is judged by the IPv4 address it reaches.
  const v4 = (x: bigint) => [24n, 16n, 8n, 0n].map((s) => Number((x >> s) & 255n)).join(".");
  if (inV6(n, "::ffff:0:0", 96) || inV6(n, "64:ff9b::", 96)) return blockedReason(v4(n & 0xffffffffn));
  if (inV6(n, "2002::", 16)) return blockedReason(v4((n >> 80n) & 0xffffffffn));
  if (inV6(n, "fc00::", 7)) return "unique-local";
  if (inV6(n, "fe80::", 10)) return "link-local";
  if (inV6(n, "ff00::", 8)) return "multicast";
  if (inV6(n, "::", 96)) return "IPv4-compatible";
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
