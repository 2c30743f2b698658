import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const FOLDERS = ["src", "test", "bench"];
/** Written by programs, not people: the benchmark's and the chaos run's results. */
const GENERATED = ["bench/results/"];
const SOURCE = /\.(ts|tsx|js|mjs|css)$/;
const WIDTH = 120;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? files(path) : [path];
  });
}

test(`every line of src/, test/ and bench/ fits in ${WIDTH} columns (generated files excepted)`, () => {
  const sources = FOLDERS.flatMap((folder) => files(join(ROOT, folder)))
    .map((path) => relative(ROOT, path))
    .filter((path) => SOURCE.test(path) && !GENERATED.some((prefix) => path.startsWith(prefix)));
  expect(sources.length).toBeGreaterThan(200);
  const long = sources.flatMap((path) =>
    readFileSync(join(ROOT, path), "utf8").split("\n").flatMap((line, i) =>
      ([...line].length > WIDTH ? [`${path}:${i + 1} is ${[...line].length} columns`] : [])));
  expect(long).toEqual([]);
});
