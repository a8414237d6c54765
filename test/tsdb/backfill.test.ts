import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labelsKey, newMatcher, OpenMetricsParseError } from "../../src/model/index.ts";
import { createBlocksFromOpenMetrics } from "../../src/tsdb/backfill.ts";
import { Block } from "../../src/tsdb/block/index.ts";
import { openDB } from "../../src/tsdb/db.ts";
import { MAX_TIME, MIN_TIME } from "../../src/tsdb/types.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "promts-backfill-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const T0 = 1_700_000_000; // seconds; 2023-11-14T22:13:20Z, 13m20s into a 2h-aligned range

function input(lines: string[]): string {
  const path = join(dir, "input.om");
  writeFileSync(path, lines.join("\n") + "\n");
  return path;
}

describe("createBlocksFromOpenMetrics", () => {
  test("groups samples into 2h-aligned blocks that openDB can query", async () => {
    const lines = ["# HELP http_requests_total Requests.", "# TYPE http_requests_total counter"];
    for (let i = 0; i < 400; i++) lines.push(`http_requests_total{code="200"} ${i * 3} ${T0 + i * 30}`);
    lines.push("# TYPE temp_celsius gauge", "# UNIT temp_celsius celsius");
    lines.push(`temp_celsius{room="a b"} 21.5 ${T0 + 0.25}`, `temp_celsius{room="a b"} 22 ${T0 + 3 * 3600}`);
    lines.push(`temp_celsius{room="a b"} 20 ${T0 - 10}`, "# EOF");
    const out = join(dir, "data");
    const result = await createBlocksFromOpenMetrics(input(lines), out);
    expect(result.series).toBe(2);
    expect(result.samples).toBe(403);
    expect(result.blocks.length).toBe(2);

    const metas = result.blocks.map((u) => Block.open(join(out, u)).meta);
    const rangeStart = Math.floor((T0 * 1000) / 7_200_000) * 7_200_000;
    expect(metas[0]!.minTime).toBe((T0 - 10) * 1000);
    expect(metas[0]!.maxTime).toBeLessThanOrEqual(rangeStart + 7_200_000);
    expect(metas[1]!.minTime).toBeGreaterThanOrEqual(rangeStart + 7_200_000);
    expect(metas.reduce((n, m) => n + m.stats.numSamples, 0)).toBe(403);

    const db = await openDB({ dir: out, compactionIntervalMs: 0 });
    try {
      const q = db.querier(MIN_TIME, MAX_TIME);
      const req = await q.select([newMatcher("=", "__name__", "http_requests_total")], MIN_TIME, MAX_TIME);
      expect(req.map((s) => labelsKey(s.labels))).toEqual(['{__name__="http_requests_total", code="200"}']);
      const b = req[0]!.samples();
      expect(b.length).toBe(400);
      expect(b.t[0]).toBe(T0 * 1000);
      expect(b.t[399]).toBe((T0 + 399 * 30) * 1000);
      expect(b.v[399]).toBe(1197);
      const temp = (await q.select([newMatcher("=", "room", "a b")], MIN_TIME, MAX_TIME))[0]!.samples();
      q.close();
      expect([...temp.t]).toEqual([(T0 - 10) * 1000, T0 * 1000 + 250, (T0 + 3 * 3600) * 1000]);
      expect([...temp.v]).toEqual([20, 21.5, 22]);
    } finally {
      await db.close();
    }
  });

  test("malformed input fails with the line number and writes nothing", async () => {
    const out = join(dir, "data");
    const path = input(["a 1 1", 'b{x="1" 2 2', "# EOF"]);
    await expect(createBlocksFromOpenMetrics(path, out)).rejects.toThrow(OpenMetricsParseError);
    await expect(createBlocksFromOpenMetrics(path, out)).rejects.toThrow("line 2: expected comma or closing brace");
    expect(existsSync(out)).toBe(false);
  });

  test("samples need timestamps and the input needs # EOF", async () => {
    const out = join(dir, "data");
    await expect(createBlocksFromOpenMetrics(input(["a 1 1", 'b{x="y"} 2', "# EOF"]), out)).rejects.toThrow(
      'line 2: expected timestamp for series b{x="y"}, got none',
    );
    await expect(createBlocksFromOpenMetrics(input(["a 1 1"]), out)).rejects.toThrow("data does not end with # EOF");
    await expect(createBlocksFromOpenMetrics(join(dir, "missing.om"), out)).rejects.toThrow("missing.om");
  });

  test("duplicate timestamps of a series keep the last value", async () => {
    const out = join(dir, "data");
    const r = await createBlocksFromOpenMetrics(input(["a 1 10", "a 2 10", "a 3 5", "# EOF"]), out);
    expect(r.samples).toBe(2);
    const q = Block.open(join(out, r.blocks[0]!)).querier(MIN_TIME, MAX_TIME);
    const s = q.select([newMatcher("=", "__name__", "a")], MIN_TIME, MAX_TIME)[0]!.samples();
    expect([...s.t]).toEqual([5000, 10000]);
    expect([...s.v]).toEqual([3, 2]);
    expect(readdirSync(out)).toEqual(r.blocks);
  });
});
