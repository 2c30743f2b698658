import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHarness, type Harness, METRICS_TOKEN } from "../support/harness";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

test("an unexpected error answers a bare 500 and is logged with its stack, method and path", async () => {
  h.deps.metrics.registry.metrics = async () => {
    throw new Error("registry exploded");
  };
  const res = await h.request("/metrics", { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(500);
  expect(await res.json()).toEqual({ error: { code: "internal", message: "internal error" } });
  const line = h.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "unhandled error");
  expect(line).toMatchObject({
    level: "error",
    method: "GET",
    path: "/metrics",
    error: { message: "registry exploded" },
  });
  expect(line.error.stack).toContain("errors.500-logged-with-stack.test.ts");
});
