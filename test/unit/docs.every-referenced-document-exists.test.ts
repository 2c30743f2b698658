import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
// Shared with the team beside the repository, not in it.
const SHARED = new Set(["SPEC.md", "STYLE.md"]);

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && !["node_modules", "results", "migrations"].includes(entry.name)) yield* sources(path);
    else if (/\.(ts|mjs|js|md|toml|sh)$/.test(entry.name) || entry.name === "Dockerfile" || entry.name === "run")
      yield path;
  }
}

test("every .md document a comment or the README names exists", () => {
  const files = [
    ...sources("src"),
    ...sources("bench"),
    ...sources("test"),
    ...sources("db"),
    ...sources(".ci"),
    "README.md",
    "fly.toml",
    "Dockerfile",
  ];
  const dead: string[] = [];
  for (const file of files) {
    for (const [name] of readFileSync(join(ROOT, file), "utf8").matchAll(/[\w./-]+\.md\b/g)) {
      if (SHARED.has(name) || file === relative(ROOT, import.meta.path)) continue;
      if (!existsSync(join(ROOT, name))) dead.push(`${file}: ${name}`);
    }
  }
  expect(dead).toEqual([]);
});

test("the README's relative links and #anchors lead somewhere", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const anchors = new Set(
    [...readme.matchAll(/^#+ (.+)$/gm)].map(([, title]) =>
      title!
        .toLowerCase()
        .replace(/[^\w\s-]/g, "")
        .trim()
        .replace(/\s/g, "-"),
    ),
  );
  const broken: string[] = [];
  for (const [, target] of readme.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/.test(target!)) continue;
    if (target!.startsWith("#")) {
      if (!anchors.has(target!.slice(1))) broken.push(target!);
    } else if (!existsSync(join(ROOT, target!.split("#")[0]!))) broken.push(target!);
  }
  expect(broken).toEqual([]);
});
