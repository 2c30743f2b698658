import { isIP } from "node:net";
import { AppError } from "../http/errors";

export const BODY_LIMIT = 64 * 1024;

/** Reads the raw body, refusing more than `limit` bytes without buffering the excess. */
export async function readRawBody(request: Request, limit = BODY_LIMIT): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  if (!request.body) return new Uint8Array();
  // A declared length within the limit: one native read (streaming chunk by chunk costs more than the
  // rest of an ingest under load). The length is checked again, in case the body is not what was declared.
  if (Number.isFinite(declared)) {
    const body = new Uint8Array(await request.arrayBuffer());
    if (body.byteLength > limit) throw tooLarge(limit);
    return body;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * The raw body as text, for signature checks and storage. A NUL byte is never in a real provider's body and
 * Postgres text cannot hold it: refused as malformed (400) instead of failing the write (and the retries) with 500.
 */
export async function readRawText(request: Request, limit = BODY_LIMIT): Promise<string> {
  const text = new TextDecoder().decode(await readRawBody(request, limit));
  if (text.includes("\u0000")) throw new AppError(400, "malformed", "Body contains a NUL byte");
  return text;
}

const tooLarge = (limit: number) => new AppError(413, "payload_too_large", `Body exceeds ${limit} bytes`);

export function requireContentType(request: Request, expected: string): void {
  const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== expected) {
    throw new AppError(415, "unsupported_media_type", `Content-Type must be ${expected}`);
  }
}

/** Parses "10.0.0.0/8, 2001:db8::/32" into a matcher; undefined or empty allows every address. */
export function cidrMatcher(list: string | undefined): (ip: string) => boolean {
  const entries = (list ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  if (entries.length === 0) return () => true;
  const ranges = entries.map((entry) => {
    const [base, mask, extra] = entry.split("/");
    const bytes = ipBytes(base!);
    const bits = mask === undefined ? (bytes?.length ?? 0) * 8 : /^\d{1,3}$/.test(mask) ? Number(mask) : NaN;
    if (!bytes || extra !== undefined || !(bits >= 0 && bits <= bytes.length * 8)) {
      throw new Error(`INBOUND_ALLOW_CIDRS: bad entry ${entry} (expected an address or address/prefix-length)`);
    }
    return { bytes, bits };
  });
  return (ip) => {
    const bytes = ipBytes(ip);
    return !!bytes && ranges.some((r) => r.bytes.length === bytes.length && prefixEqual(r.bytes, bytes, r.bits));
  };
}

function prefixEqual(a: number[], b: number[], bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const bit = (x: number[]) => (x[i >> 3]! >> (7 - (i & 7))) & 1;
    if (bit(a) !== bit(b)) return false;
  }
  return true;
}

/** IPv4 as 4 bytes, IPv6 as 16 (IPv4-mapped IPv6 collapses to IPv4). */
export function ipBytes(ip: string): number[] | undefined {
  const mapped = ip.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i);
  if (mapped) ip = mapped[1]!;
  const kind = isIP(ip);
  if (kind === 4) return ip.split(".").map(Number);
  if (kind !== 6) return undefined;
  const [head, tail] = ip.split("::") as [string, string | undefined];
  const part = (s: string | undefined) => (s ? s.split(":") : []);
  const h = part(head), t = part(tail);
  const groups = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return groups.flatMap((g) => { const n = parseInt(g, 16); return [n >> 8, n & 255]; });
}
