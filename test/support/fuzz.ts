// fast-check arbitraries for HTTP requests: the shapes a careless or hostile client sends.
import fc from "fast-check";

const printable = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c));
/** A header value a fetch Request accepts (printable ASCII, no CR/LF). */
export const headerValue = fc.string({ unit: printable, maxLength: 200 });

export const contentType = fc.oneof(
  fc.constantFrom(
    "application/json",
    "application/json; charset=utf-8",
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=UTF-8",
    "text/plain",
    "multipart/form-data",
    "multipart/form-data; boundary=----x",
    "application/xml",
    "application/octet-stream",
    "",
  ),
  headerValue,
);

/** Bodies: text, JSON, forms, binary, and sizes on both sides of the 64 KiB limit. */
export const body: fc.Arbitrary<string | Uint8Array<ArrayBuffer>> = fc.oneof(
  fc.string({ maxLength: 500 }),
  fc.string({ unit: "grapheme", maxLength: 300 }),
  fc.json({ maxDepth: 3 }),
  fc
    .dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 50 }), { maxKeys: 12 })
    .map((d) => new URLSearchParams(d).toString()),
  fc.uint8Array({ maxLength: 2000 }).map((bytes) => new Uint8Array(bytes)),
  fc.integer({ min: 64 * 1024 - 16, max: 64 * 1024 + 64 }).map((n) => "a".repeat(n)),
);

/** Random extra headers, with the signature and auth headers among the names drawn. */
export const headers = fc
  .dictionary(
    fc.oneof(
      fc.constantFrom(
        "stripe-signature",
        "x-twilio-signature",
        "authorization",
        "i-twilio-idempotency-token",
        "fly-client-ip",
        "content-length",
        "transfer-encoding",
        "content-encoding",
        "x-forwarded-for",
        "idempotency-key",
        "cookie",
      ),
      fc.stringMatching(/^x-[a-z0-9-]{1,20}$/),
    ),
    fc.oneof(
      headerValue,
      fc
        .tuple(fc.integer({ min: 0, max: 2 ** 31 }), fc.base64String({ maxLength: 64 }))
        .map(([t, v]) => `t=${t},v1=${v}`),
      fc.base64String({ maxLength: 40 }).map((s) => `Bearer ${s}`),
    ),
    { maxKeys: 6 },
  )
  .map((h) => {
    // Framing headers are the transport's business: a made-up length or encoding would only break the Request itself.
    for (const name of ["content-length", "transfer-encoding", "content-encoding"]) delete h[name];
    return h;
  });

/** A path parameter: a uuid, a number, or anything at all (URL-encoded). */
export const pathParam = fc.oneof(
  fc.uuid(),
  fc.integer({ min: -5, max: Number.MAX_SAFE_INTEGER }).map(String),
  fc.string({ minLength: 1, maxLength: 40 }).map(encodeURIComponent),
);

const QUERY_NAMES = [
  "limit",
  "offset",
  "before",
  "status",
  "provider",
  "conversation_id",
  "endpoint_id",
  "since",
  "until",
  "to",
  "kind",
  "clinic_id",
  "patient_id",
];
export const query = fc
  .dictionary(fc.constantFrom(...QUERY_NAMES), fc.oneof(fc.string({ maxLength: 30 }), fc.integer().map(String)), {
    maxKeys: 4,
  })
  .map((q) => new URLSearchParams(q).toString());

export interface DocRoute {
  method: string;
  path: string;
  contentTypes: string[];
}

type DocOperation = { requestBody?: { content?: Record<string, unknown> } };

/** Every route (method, path template, documented body types) that /docs/json lists. */
export function routesOf(doc: { paths: Record<string, Record<string, DocOperation>> }): DocRoute[] {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      contentTypes: Object.keys(op.requestBody?.content ?? {}),
    })),
  );
}

/** Mostly a content type the route documents (so the request gets past the type check), sometimes anything. */
export const contentTypeFor = (route: DocRoute) =>
  route.contentTypes.length === 0
    ? contentType
    : fc.oneof({ arbitrary: fc.constantFrom(...route.contentTypes), weight: 3 }, { arbitrary: contentType, weight: 1 });

/** The route's path with every `{param}` replaced. */
export const fillPath = (template: string, param: string) => template.replace(/\{[^}]+\}/g, param);
