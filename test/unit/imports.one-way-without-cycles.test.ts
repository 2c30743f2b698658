import { resolve } from "node:path";
import { describe, expect, test } from "bun:test";
import madge from "madge";

// The rule ARCHITECTURE.md states: each file belongs to a layer, and imports only from its own layer or the ones
// below it. Within a layer, folders stay apart unless the layer says they are peers. Read top to bottom.
const LAYERS: { name: string; members: string[]; peers?: boolean }[] = [
  { name: "local tools", members: ["dev/"] },
  { name: "process", members: ["main.ts", "migrate.ts"] },
  { name: "web app", members: ["http/serve.ts", "http/app.ts"], peers: true },
  { name: "edges", members: ["api/", "inbound/", "console/"] },
  { name: "web pieces", members: ["http/"] },
  { name: "tasks", members: ["jobs/"] },
  { name: "features", members: ["alerts/", "reconcile/"] },
  { name: "effects", members: ["effects/", "outbound/"], peers: true },
  { name: "dependencies", members: ["deps.ts"] },
  { name: "ingest", members: ["ingest/"] },
  {
    name: "foundation",
    members: [
      "db.ts", "queue.ts", "errors.ts", "log.ts", "metrics.ts", "config.ts", "process-guards.ts", "abort.ts",
      "settled.ts",
    ],
    peers: true,
  },
  { name: "tables", members: ["../db/schema/"] },
  { name: "domain", members: ["domain/"] },
];

const SRC = resolve(import.meta.dir, "../../src");
const graph = madge(SRC, { fileExtensions: ["ts", "tsx"] }).then((result) => result.obj());

/** The layer and the member (a folder or a file) a path under src/ belongs to; the longest member wins. */
function place(path: string): { layer: number; member: string } | undefined {
  let best: { layer: number; member: string } | undefined;
  LAYERS.forEach(({ members }, layer) => {
    for (const member of members) {
      const fits = member.endsWith("/") ? path.startsWith(member) : path === member;
      if (fits && (!best || member.length > best.member.length)) best = { layer, member };
    }
  });
  return best;
}

describe("imports", () => {
  test("no module imports itself back, however far round (madge --circular)", async () => {
    const result = await madge(SRC, { fileExtensions: ["ts", "tsx"] });
    expect(result.circular()).toEqual([]);
  });

  test("every source file belongs to a layer", async () => {
    const files = Object.keys(await graph);
    expect(files.length).toBeGreaterThan(100);
    expect(files.filter((f) => !place(f))).toEqual([]);
  });

  test("imports run one way: down the layers, never sideways between folders that are not peers", async () => {
    const wrong: string[] = [];
    for (const [file, imports] of Object.entries(await graph)) {
      const from = place(file);
      if (!from) continue;
      for (const target of imports) {
        const to = place(target)!;
        const sideways = to.layer === from.layer && to.member !== from.member && !LAYERS[from.layer]!.peers;
        if (to.layer < from.layer || sideways) {
          wrong.push(`${file} (${LAYERS[from.layer]!.name}) imports ${target} (${LAYERS[to.layer]!.name})`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});
