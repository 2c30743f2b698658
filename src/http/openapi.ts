import { ErrorBody } from "./error-handler";
/**
 * The OpenAPI document as clients need it. The swagger plugin builds it from the routes; this pass makes it a
 * valid OpenAPI 3.1 document (TypeBox schemas are JSON Schema 2020-12, which 3.0 cannot hold), with the paths
 * clients call (no trailing slash), the answers every route can give besides its own (400, 401, 409, 413, 429
 * with their headers), and one content type per body.
 */

type Json = Record<string, any>;
const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

export const TAGS = [
  { name: "health", description: "Liveness, readiness (database, migrations, worker schema) and Prometheus metrics." },
  {
    name: "webhooks",
    description:
      "Inbound provider webhooks: each is verified on its raw body and stored with its job before the answer.",
  },
  { name: "clinics", description: "Clinics: their Twilio number, time zone, texts and default callback URL." },
  { name: "patients", description: "A clinic's patients, matched on inbound SMS by phone; opt-out state." },
  {
    name: "appointments",
    description: "Appointments, their deposit and SMS state, and the audit trail of every status change.",
  },
  { name: "webhook events", description: "Every stored inbound webhook: search, inspect the raw body, replay." },
  {
    name: "conversations",
    description: "Conversations and their messages, forwarded to the callback URL as signed webhooks.",
  },
  { name: "deliveries", description: "Outbound webhook deliveries and every attempt; retry one." },
  {
    name: "webhook endpoints",
    description: "Callback URLs with their signing secrets: rotate, re-enable, replay failures.",
  },
  { name: "emails", description: "The email outbox and each email's delivery state." },
  { name: "sms", description: "Outbound SMS: what was sent or withheld, and every status callback Twilio posted." },
  { name: "alerts", description: "Incidents Switchboard's alert rules opened and resolved; acknowledge one." },
  {
    name: "reconciliation",
    description: "Ask Twilio and Stripe now for what their webhooks should have brought, and store what is missing.",
  },
];

const header = (description: string, schema: Json = { type: "integer" }) => ({ description, schema });
const errorContent = { "application/json": { schema: { $ref: "#/components/schemas/Error" } } };
const RATE_HEADERS = {
  "RateLimit-Limit": { $ref: "#/components/headers/RateLimit-Limit" },
  "RateLimit-Remaining": { $ref: "#/components/headers/RateLimit-Remaining" },
  "RateLimit-Reset": { $ref: "#/components/headers/RateLimit-Reset" },
};

const COMPONENTS: Json = {
  schemas: { Error: ErrorBody },
  headers: {
    "RateLimit-Limit": header("Requests this API key may make per minute"),
    "RateLimit-Remaining": header("Requests left in the current minute"),
    "RateLimit-Reset": header("Seconds until the current minute's budget resets"),
    "Retry-After": header("Seconds to wait before trying again"),
    "WWW-Authenticate": header("The expected scheme", { type: "string", examples: ['Bearer realm="switchboard"'] }),
    "Idempotent-Replayed": header(
      "true when this is the stored answer to an earlier request with the same Idempotency-Key",
      { type: "string", enum: ["true"] },
    ),
  },
  parameters: {
    IdempotencyKey: {
      name: "Idempotency-Key",
      in: "header",
      required: false,
      description:
        "Any unique string (a UUID) up to 255 characters. A retry with the same key and body within 24 hours gets " +
        "the first answer again instead of a second effect; the same key with a different body is a 409.",
      schema: { type: "string", minLength: 1, maxLength: 255 },
    },
  },
  responses: {
    BadRequest: {
      description: "Invalid parameters or body: `error.details` names each field and what it allows",
      content: errorContent,
    },
    Unauthorized: {
      description: "Missing or wrong `Authorization: Bearer <API_KEY>`",
      headers: { "WWW-Authenticate": { $ref: "#/components/headers/WWW-Authenticate" } },
      content: errorContent,
    },
    PayloadTooLarge: { description: "Body over the limit (256 KiB for the management API)", content: errorContent },
    RateLimited: {
      description: "More than API_RATE_LIMIT requests this minute for this key",
      headers: { ...RATE_HEADERS, "Retry-After": { $ref: "#/components/headers/Retry-After" } },
      content: errorContent,
    },
    IdempotencyConflict: {
      description: "The Idempotency-Key was used with a different request, or its first request is still running",
      content: errorContent,
    },
  },
};

const STATUS_TEXT: Record<string, string> = {
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No content",
  400: "Bad request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not found",
  409: "Conflict",
  413: "Payload too large",
  415: "Unsupported media type",
  429: "Too many requests",
  500: "Internal error",
  503: "Service unavailable",
};
const RESPONSE_KEYS = new Set(["description", "headers", "content", "links", "$ref"]);
// Elysia lets a query or path string stand for a number or boolean; the document shows the type clients send.
const COERCED = new Set(["integer", "numeric", "boolean", "ObjectString", "ArrayString"]);

/** Removes Elysia's string-coercion branches (`anyOf: [{type: string, format: integer}, {type: integer}]`). */
function cleanSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(cleanSchema);
  if (!node || typeof node !== "object") return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) out[k] = cleanSchema(v);
  if (Array.isArray(out.anyOf)) {
    const kept = out.anyOf.filter((b: Json) => !(b?.type === "string" && COERCED.has(b?.format)));
    if (kept.length === 1 && kept.length < out.anyOf.length) {
      const { anyOf: _a, ...rest } = out;
      return { ...rest, ...kept[0] };
    }
  }
  return out;
}

const canonical = (path: string) => (path.length > 1 ? path.replace(/\/+$/, "") : path);

function finishResponses(op: Json, management: boolean) {
  for (const [status, response] of Object.entries(op.responses ?? {}) as [string, Json][]) {
    for (const key of Object.keys(response)) if (!RESPONSE_KEYS.has(key)) delete response[key];
    if (response.$ref) continue;
    response.description ??= STATUS_TEXT[status] ?? "Response";
    // One content type per body: JSON for the management API (the plugin lists every type Elysia parses).
    if (management && response.content?.["application/json"])
      response.content = { "application/json": response.content["application/json"] };
    if (management && status.startsWith("2")) response.headers = { ...RATE_HEADERS, ...response.headers };
  }
}

function finishOperation(method: string, op: Json) {
  const management = Array.isArray(op.security) && op.security.some((s: Json) => "bearer" in s);
  for (const p of op.parameters ?? []) {
    // A parameter's `examples` must be a map of Example objects; TypeBox's list belongs in the schema.
    if (Array.isArray(p.examples)) {
      p.schema = { ...p.schema, examples: p.examples };
      delete p.examples;
    }
    if (p.description === undefined) delete p.description;
  }
  if (op.parameters?.length === 0) delete op.parameters;
  if (management && op.requestBody?.content?.["application/json"]) {
    op.requestBody.content = { "application/json": op.requestBody.content["application/json"] };
  }
  op.responses ??= {};
  finishResponses(op, management);
  const r = op.responses;
  if (management) {
    r[401] ??= { $ref: "#/components/responses/Unauthorized" };
    r[429] ??= { $ref: "#/components/responses/RateLimited" };
    if (op.parameters || op.requestBody) r[400] = { $ref: "#/components/responses/BadRequest" };
    if (method === "post" || method === "patch" || method === "put")
      r[413] ??= { $ref: "#/components/responses/PayloadTooLarge" };
    if (method === "post") {
      op.parameters = [...(op.parameters ?? []), { $ref: "#/components/parameters/IdempotencyKey" }];
      if (r[409]?.content)
        r[409].description = `${r[409].description}; or the Idempotency-Key was reused with a different request`;
      else r[409] = { $ref: "#/components/responses/IdempotencyConflict" };
    }
  }
}

/** The plugin's document, finished (a copy: the plugin keeps and reuses its own). */
export function finishDocument(generated: Json): Json {
  const doc = cleanSchema(structuredClone(generated)) as Json;
  doc.openapi = "3.1.0";
  doc.tags = TAGS;
  doc.components = {
    ...doc.components,
    schemas: { ...doc.components?.schemas, ...COMPONENTS.schemas },
    headers: COMPONENTS.headers,
    parameters: COMPONENTS.parameters,
    responses: COMPONENTS.responses,
  };
  const paths: Json = {};
  for (const [path, item] of Object.entries(doc.paths ?? {}) as [string, Json][]) {
    const target = (paths[canonical(path)] ??= {});
    for (const [method, op] of Object.entries(item)) {
      if (METHODS.includes(method)) finishOperation(method, op as Json);
      target[method] = op;
    }
  }
  doc.paths = paths;
  return doc;
}
