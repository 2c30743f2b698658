import { AppError } from "../errors";

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
