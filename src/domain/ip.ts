import { isIP } from "node:net";

/** An IPv4 address as a 32-bit number. */
export function v4ToInt(ip: string): number {
  return ip.split(".").reduce((n, part) => (n << 8) + Number(part), 0) >>> 0;
}

/** An IPv6 address (zone id dropped, embedded dotted IPv4 allowed) as a 128-bit number. */
export function v6ToBigInt(ip: string): bigint {
  let text = ip.toLowerCase().split("%")[0]!;
  const dotted = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted) {
    const n = v4ToInt(dotted[1]!);
    text = text.slice(0, -dotted[1]!.length) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const h = head ? head.split(":") : [];
  const t = tail === undefined ? [] : tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return groups.reduce((n, g) => (n << 16n) + BigInt(parseInt(g || "0", 16)), 0n);
}

/** Whether `a` and `b` agree on their first `bits` bits, as numbers `width` bits wide. */
export const samePrefix = (a: bigint, b: bigint, bits: number, width: 32 | 128) =>
  (a >> BigInt(width - bits)) === (b >> BigInt(width - bits));

/** An address as a number of its family's width; an IPv4-mapped IPv6 address counts as the IPv4 one. */
export function ipValue(ip: string): { width: 32 | 128; value: bigint } | undefined {
  const kind = isIP(ip);
  if (kind === 4) return { width: 32, value: BigInt(v4ToInt(ip)) };
  if (kind !== 6) return undefined;
  const value = v6ToBigInt(ip);
  return value >> 32n === 0xffffn ? { width: 32, value: value & 0xffffffffn } : { width: 128, value };
}
