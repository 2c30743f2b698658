import { afterAll, beforeAll, expect, test } from "bun:test";
import SwaggerParser from "@apidevtools/swagger-parser";
import { createHarness, type Harness } from "../support/harness";

let h: Harness;
let doc: any;
let resolved: any;
const METHODS = ["get", "post", "patch", "put", "delete"];
const operations = (d: any) =>
  Object.entries(d.paths).flatMap(([path, item]: [string, any]) =>
    Object.entries(item)
      .filter(([m]) => METHODS.includes(m))
      .map(([method, op]: [string, any]) => ({ path, method, op })),
  );

beforeAll(async () => {
  h = await createHarness();
  doc = await (await h.request("/docs/json")).json();
  resolved = await SwaggerParser.dereference(structuredClone(doc));
});
afterAll(() => h.close());

test("/docs/json passes an OpenAPI validator", async () => {
  expect(doc.openapi).toBe("3.1.0");
  await SwaggerParser.validate(structuredClone(doc));
});

test("paths are the canonical ones clients call, without a trailing slash", () => {
  const paths = Object.keys(doc.paths);
  expect(paths.filter((p) => p !== "/" && p.endsWith("/"))).toEqual([]);
  for (const p of ["/v1/appointments", "/v1/clinics", "/v1/patients", "/v1/webhook-events", "/v1/conversations"])
    expect(paths).toContain(p);
});

test("every operation has a unique operationId and a described tag", () => {
  const ops = operations(doc);
  const ids = ops.map(({ op }) => op.operationId);
  expect(ids.every((id) => typeof id === "string" && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
  expect(new Set(ids).size).toBe(ids.length);
  const described = new Map(doc.tags.map((t: any) => [t.name, t.description]));
  for (const { op } of ops)
    for (const tag of op.tags ?? []) expect({ tag, described: !!described.get(tag) }).toEqual({ tag, described: true });
});

test("management operations document 400, 401, 413, 429 with their headers, and Idempotency-Key on POST", () => {
  const ops = operations(resolved).filter(({ op }) => op.security?.some((s: any) => "bearer" in s));
  expect(ops.length).toBeGreaterThan(25);
  for (const { path, method, op } of ops) {
    const where = `${method.toUpperCase()} ${path}`;
    const r = op.responses;
    expect({ where, has401: !!r[401], has429: !!r[429] }).toEqual({ where, has401: true, has429: true });
    expect(Object.keys(r[429].headers).sort()).toEqual([
      "RateLimit-Limit",
      "RateLimit-Remaining",
      "RateLimit-Reset",
      "Retry-After",
    ]);
    expect(Object.keys(r[401].headers)).toEqual(["WWW-Authenticate"]);
    const ok = Object.keys(r).find((s) => s.startsWith("2"))!;
    expect(Object.keys(r[ok].headers ?? {})).toEqual(
      expect.arrayContaining(["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]),
    );
    if (op.parameters?.length || op.requestBody) expect({ where, has400: !!r[400] }).toEqual({ where, has400: true });
    if (method === "post" || method === "patch") expect({ where, has413: !!r[413] }).toEqual({ where, has413: true });
    if (method === "post") {
      expect(op.parameters.map((p: any) => p.name)).toContain("Idempotency-Key");
      expect(r[409]).toBeDefined();
    }
    if (op.requestBody) expect(Object.keys(op.requestBody.content)).toEqual(["application/json"]);
  }
});

test("the three webhook routes document their real request bodies and 400, 413, 415 answers", () => {
  const sms = resolved.paths["/v1/clinic/webhooks/twilio/sms"].post;
  const form = sms.requestBody.content["application/x-www-form-urlencoded"].schema;
  expect(form.required).toEqual(expect.arrayContaining(["MessageSid", "From", "To", "Body", "NumMedia"]));
  expect(Object.keys(form.properties)).toEqual(
    expect.arrayContaining(["MediaUrl0", "MediaContentType0", "OptOutType"]),
  );
  const fallback =
    resolved.paths["/v1/clinic/webhooks/twilio/sms/fallback"].post.requestBody.content[
      "application/x-www-form-urlencoded"
    ].schema;
  expect(fallback.required).toEqual(expect.arrayContaining(["ErrorCode", "ErrorUrl"]));
  const status =
    resolved.paths["/api/v1/webhooks/twilio/sms-status"].post.requestBody.content["application/x-www-form-urlencoded"]
      .schema;
  expect(status.properties.MessageStatus.anyOf.map((s: any) => s.const)).toContain("undelivered");
  const stripe = resolved.paths["/api/v1/webhooks/stripe/payment-events"].post;
  expect(stripe.requestBody.content["application/json"].schema.required).toEqual(
    expect.arrayContaining(["id", "type", "data"]),
  );
  for (const path of [
    "/v1/clinic/webhooks/twilio/sms",
    "/api/v1/webhooks/twilio/sms-status",
    "/api/v1/webhooks/stripe/payment-events",
  ]) {
    const op = resolved.paths[path].post;
    for (const status of ["200", "400", "403", "413", "415", "500"])
      expect({ path, status, described: !!op.responses[status]?.description }).toEqual({
        path,
        status,
        described: true,
      });
  }
});

test("/metrics documents its bearer token", () => {
  expect(doc.paths["/metrics"].get.security).toEqual([{ metrics: [] }]);
  expect(Object.keys(doc.paths["/metrics"].get.responses)).toEqual(["200", "401", "404"]);
  expect(doc.components.securitySchemes.metrics).toMatchObject({ type: "http", scheme: "bearer" });
});
