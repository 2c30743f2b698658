/**
 * Elysia's validation errors in words a caller acts on: which field, and what it allows ("one of pending,
 * confirmed, …", "an integer from 1 to 200"), instead of TypeBox's "should be one of: 'string', 'string'".
 */

type Json = Record<string, any>;

export interface FieldProblem {
  field: string;
  message: string;
  /** For a field with a fixed set of values. */
  allowed?: unknown[];
}

interface TypeBoxError {
  path?: string;
  message?: string;
  schema?: Json;
  value?: unknown;
}
interface ElysiaValidation {
  type?: string;
  all?: TypeBoxError[];
  validator?: Json;
}

const literals = (schema: Json | undefined): unknown[] | undefined => {
  const branches: Json[] | undefined = schema?.anyOf;
  if (!branches?.length || !branches.every((b) => b.const !== undefined)) return undefined;
  return branches.map((b) => b.const);
};

const chars = (n: number) => `${n} character${n === 1 ? "" : "s"}`;
const length = (s: Json) =>
  s.minLength !== undefined && s.maxLength !== undefined
    ? `a string of ${s.minLength} to ${chars(s.maxLength)}`
    : s.minLength !== undefined
      ? `a string of at least ${chars(s.minLength)}`
      : `a string of at most ${chars(s.maxLength)}`;
const FORMATS: Record<string, string> = {
  uuid: "a UUID",
  "date-time": "an ISO 8601 date-time",
  email: "an email address",
};

// Elysia lets a query or path string stand for a number (`anyOf: [{type: string, format: integer}, {type: integer}]`).
const COERCED = new Set(["integer", "numeric", "boolean"]);

/** What the schema allows, as the end of "field must be …"; undefined when it says nothing simple. */
function rule(schema: Json | undefined): string | undefined {
  if (!schema) return undefined;
  const real: Json[] | undefined = schema.anyOf?.filter((b: Json) => !(b.type === "string" && COERCED.has(b.format)));
  if (real && real.length === 1 && real.length < schema.anyOf.length) return rule(real[0]);
  const values = literals(schema);
  if (values) return `one of ${values.join(", ")}`;
  if (schema.const !== undefined) return `${schema.const}`;
  const kind = schema.type === "integer" ? "an integer" : schema.type === "number" ? "a number" : undefined;
  if (kind) {
    if (schema.minimum !== undefined && schema.maximum !== undefined)
      return `${kind} from ${schema.minimum} to ${schema.maximum}`;
    if (schema.minimum !== undefined) return `${kind} of at least ${schema.minimum}`;
    if (schema.maximum !== undefined) return `${kind} of at most ${schema.maximum}`;
    return kind;
  }
  if (schema.type === "string") {
    if (schema.format) return FORMATS[schema.format] ?? `a ${schema.format} string`;
    if (schema.pattern) return `text matching ${schema.pattern}`;
    if (schema.minLength !== undefined || schema.maxLength !== undefined) return length(schema);
    return "a string";
  }
  if (schema.type === "boolean") return "true or false";
  if (schema.type === "object") return "an object";
  if (schema.type === "array") return "a list";
  return undefined;
}

const fieldOf = (path: string | undefined, fallback: string) =>
  path ? path.replace(/^\//, "").replace(/\//g, ".") : fallback;

/** One problem per field, the first TypeBox reports for it. */
export function describeValidation(error: unknown): { message: string; details: FieldProblem[] } {
  const e = error as ElysiaValidation;
  // A query or path number is checked on its own (Elysia's coercion) and its error has no path: the schema's
  // title names it (see QueryInt in api/models.ts).
  const fallback = e.type === "property" ? (e.validator?.title ?? "parameter") : (e.type ?? "request");
  const seen = new Set<string>();
  const details: FieldProblem[] = [];
  for (const entry of e.all ?? []) {
    const field = fieldOf(entry.path, fallback);
    if (seen.has(field)) continue;
    seen.add(field);
    const schema = entry.schema ?? (e.type === "property" ? e.validator : undefined);
    const allowed = literals(schema);
    // TypeBox reports a missing property as a wrong type with an undefined value.
    const missing = !!entry.path && entry.value === undefined;
    const must = rule(schema);
    const message = missing
      ? `is required${must ? ` (${must})` : ""}`
      : must
        ? `must be ${must}`
        : (entry.message ?? "is invalid");
    details.push({ field, message, ...(allowed ? { allowed } : {}) });
  }
  const first = details[0];
  return { message: first ? `${first.field}: ${first.message}` : "invalid request", details };
}
