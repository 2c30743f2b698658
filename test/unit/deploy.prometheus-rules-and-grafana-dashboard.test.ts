import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createMetrics } from "../../src/metrics";

const DEPLOY = resolve(import.meta.dir, "../../deploy");
const RULES = join(DEPLOY, "prometheus/alerts.yml");
// The silence alert looks weeks back, so its case is evaluated hourly, in a file of its own.
const RULE_TESTS = ["alerts.test.yml", "alerts.silence.test.yml"].map((f) => join(DEPLOY, "prometheus", f));
const DASHBOARD = join(DEPLOY, "grafana/switchboard.json");

const promtool = Bun.which("promtool");
const inCi = process.env.CI === "true";
if (!promtool && !inCi) {
  console.warn("NOTICE: promtool not found, so the Prometheus rules are not checked here "
    + "(Debian: apt-get install prometheus; .ci/run installs it). CI=true makes this a failure.");
}

function run(...args: string[]) {
  const result = Bun.spawnSync([promtool!, ...args], { cwd: join(DEPLOY, "prometheus"), timeout: 50_000 });
  return { code: result.exitCode, output: `${result.stdout.toString()}${result.stderr.toString()}` };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8"));
const dashboardExprs: string[] = dashboard.panels.flatMap((p: any) => (p.targets ?? []).map((t: any) => t.expr));
const alertNames = (text: string, key: string) =>
  [...text.matchAll(new RegExp(`${key}: (Switchboard\\w+)`, "g"))].map((m) => m[1]);

describe("deploy/prometheus/alerts.yml", () => {
  if (inCi && !promtool) {
    test("promtool is installed in CI", () => {
      throw new Error("promtool is missing: .ci/run installs Debian's prometheus package when it is absent");
    });
  }

  test.skipIf(!promtool)("passes promtool check rules", () => {
    const { code, output } = run("check", "rules", RULES);
    expect(output).toContain("SUCCESS: 10 rules found");
    expect(code).toBe(0);
  });

  test.skipIf(!promtool)("fires as its unit tests say (promtool test rules), and every alert has one", () => {
    const { code, output } = run("test", "rules", ...RULE_TESTS);
    expect(output.match(/SUCCESS/g)).toHaveLength(RULE_TESTS.length);
    expect(code).toBe(0);
    const tested = new Set(RULE_TESTS.flatMap((file) => alertNames(readFileSync(file, "utf8"), "alertname")));
    expect(alertNames(readFileSync(RULES, "utf8"), "alert").filter((name) => !tested.has(name))).toEqual([]);
  }, 60_000);

  test("uses only series that /metrics exposes", async () => {
    const exposed = new Set((await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
    const used = (text: string) => [...new Set(text.match(/switchboard_[a-z0-9_]+/g))]
      .map((name) => name.replace(/_(bucket|count|sum)$/, ""));
    expect(used(readFileSync(RULES, "utf8")).filter((name) => !exposed.has(name))).toEqual([]);
    expect(used(dashboardExprs.join("\n")).filter((name) => !exposed.has(name))).toEqual([]);
  });
});

describe("deploy/grafana/switchboard.json", () => {
  test("covers ingest, processing, outbound, SMS and email", () => {
    const rows = dashboard.panels.filter((p: any) => p.type === "row").map((p: any) => p.title);
    expect(rows).toEqual(expect.arrayContaining(["Ingest", "Processing", "Outbound webhooks", "SMS", "Email"]));
    expect(dashboard.__inputs[0].pluginId).toBe("prometheus");
  });

  test.skipIf(!promtool)("its queries are valid PromQL (checked by promtool as recording rules)", () => {
    const dir = mkdtempSync(join(tmpdir(), "switchboard-dashboard-"));
    try {
      const rules = dashboardExprs.map((expr, i) => [
        `      - record: switchboard:dashboard_panel_${i}`,
        `        expr: ${JSON.stringify(expr.replaceAll("$__rate_interval", "5m"))}`,
      ].join("\n"));
      const file = join(dir, "dashboard.rules.yml");
      writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join("\n")}\n`);
      const { code, output } = run("check", "rules", file);
      expect(output).toContain(`SUCCESS: ${dashboardExprs.length} rules found`);
      expect(code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
