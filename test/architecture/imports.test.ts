/**
 * The rules of docs/architecture.md that the compiler does not check: the
 * rooms under src/ import each other without cycles, and a room is entered
 * only through its door (`src/<room>/index.ts`, or the index.ts of a
 * sub-room such as src/web/api/).
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../../src");

/** One relative import of one file: who imports, and the resolved path inside src/ (or outside it). */
export interface ImportEdge {
  from: string;
  to: string;
  line: number;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith(".ts")) out.push(path);
  }
  return out;
}

/**
 * Every relative `import … from "…"`, `export … from "…"`, side-effect
 * `import "…"` and dynamic `import("…")` in `text`, with its line.
 */
export function relativeSpecifiers(text: string): { spec: string; line: number }[] {
  const found: { spec: string; line: number }[] = [];
  const patterns = [
    /(?:^|[\s;])(?:import|export)\s[^;]*?\sfrom\s*["'](\.{1,2}\/[^"']+)["']/g,
    /(?:^|[\s;])import\s*["'](\.{1,2}\/[^"']+)["']/g,
    /\bimport\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g,
  ];
  for (const re of patterns) {
    for (const m of text.matchAll(re)) {
      const at = m.index + m[0].indexOf(m[1]!);
      found.push({ spec: m[1]!, line: text.slice(0, at).split("\n").length });
    }
  }
  return found;
}

/** The room of a path relative to src/ ("config/load.ts" → "config"); undefined outside src/. */
export function roomOf(pathInSrc: string): string | undefined {
  if (pathInSrc.startsWith("..")) return undefined;
  const first = pathInSrc.split("/")[0]!;
  return first.endsWith(".ts") ? undefined : first;
}

/** Whether `pathInSrc` is a door: a room's or a sub-room's index.ts. */
export function isDoor(pathInSrc: string): boolean {
  return /^[^/]+\/(?:[^/]+\/)?index\.ts$/.test(pathInSrc);
}

function importEdges(): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, "utf8");
    for (const { spec, line } of relativeSpecifiers(text)) {
      edges.push({ from: relative(SRC, file), to: relative(SRC, resolve(dirname(file), spec)), line });
    }
  }
  return edges;
}

/** The cycles of a directed graph, each as the rooms along it, found by Tarjan's strongly connected components. */
export function cyclesOf(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string) => {
    indexOf.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
      }
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)?.has(v)) components.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!indexOf.has(v)) visit(v);
  return components;
}

describe("rooms", () => {
  const edges = importEdges();

  test("the scan sees the imports (sanity: the server imports storage through its door)", () => {
    expect(edges.length).toBeGreaterThan(300);
    expect(edges.some((e) => roomOf(e.from) !== roomOf(e.to) && e.to === "tsdb/index.ts")).toBe(true);
  });

  test("no import cycle between rooms", () => {
    const graph = new Map<string, Set<string>>();
    const witness = new Map<string, string>();
    for (const e of edges) {
      const a = roomOf(e.from);
      const b = roomOf(e.to);
      if (!a || !b || a === b) continue;
      if (!graph.has(a)) graph.set(a, new Set());
      graph.get(a)!.add(b);
      if (!witness.has(`${a}>${b}`)) witness.set(`${a}>${b}`, `${e.from}:${e.line} imports ${e.to}`);
    }
    const report = cyclesOf(graph).map((rooms) => {
      const inside = new Set(rooms);
      const why = [...witness].filter(([k]) => { const [a, b] = k.split(">"); return inside.has(a!) && inside.has(b!); }).map(([, w]) => `  ${w}`);
      return `cycle between ${rooms.join(", ")}:\n${why.join("\n")}`;
    });
    expect(report).toEqual([]);
  });

  test("other rooms are entered only through their door (index.ts)", () => {
    const bypasses = edges
      .filter((e) => roomOf(e.to) !== undefined && roomOf(e.from) !== roomOf(e.to) && !isDoor(e.to))
      .map((e) => `${e.from}:${e.line} imports ${e.to}`);
    expect(bypasses).toEqual([]);
  });
});

describe("the checks themselves", () => {
  test("cyclesOf finds a three-room cycle and ignores a chain", () => {
    const g = new Map([["a", new Set(["b"])], ["b", new Set(["c"])], ["c", new Set(["a"])], ["d", new Set(["a"])]]);
    expect(cyclesOf(g)).toEqual([["a", "b", "c"]]);
    expect(cyclesOf(new Map([["a", new Set(["b"])], ["b", new Set(["c"])]]))).toEqual([]);
  });

  test("relativeSpecifiers reads static, re-export, side-effect and dynamic imports", () => {
    const text = 'import { a } from "../x/index.ts";\nexport type { B } from "./b.ts";\nimport "../side/index.ts";\nconst m = await import("../dyn/index.ts");\nimport { y } from "yaml";';
    expect(relativeSpecifiers(text).map((s) => `${s.line}:${s.spec}`).sort()).toEqual(["1:../x/index.ts", "2:./b.ts", "3:../side/index.ts", "4:../dyn/index.ts"]);
  });

  test("doors are a room's or a sub-room's index.ts", () => {
    expect(isDoor("web/index.ts")).toBe(true);
    expect(isDoor("web/api/index.ts")).toBe(true);
    expect(isDoor("web/api/json.ts")).toBe(false);
    expect(roomOf("../package.json")).toBeUndefined();
    expect(roomOf("config/load.ts")).toBe("config");
  });
});
