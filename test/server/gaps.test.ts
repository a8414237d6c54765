/** The remembered down intervals: recorded at start, persisted, bounded in count and age. */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nopLogger } from "../../src/log/index.ts";
import { GapStore, MAX_GAPS } from "../../src/server/gaps.ts";

const dir = mkdtempSync(join(tmpdir(), "promts-gaps-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a restart records the interval since the newest sample and keeps it across restarts", () => {
  const file = join(dir, "a", "gaps.json");
  const s = new GapStore(file, nopLogger);
  expect(s.recordStart(undefined, 100_000, 1000, 0)).toBeUndefined(); // empty storage: no gap
  expect(s.recordStart(99_500, 100_000, 1000, 0)).toBeUndefined(); // shorter than one interval
  expect(s.recordStart(50_000, 100_000, 1000, 0)).toEqual({ start: 50_001, end: 102_000 });
  expect(new GapStore(file, nopLogger).gaps()).toEqual([{ start: 50_001, end: 102_000 }]);
  expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ gaps: [{ start: 50_001, end: 102_000 }] });
});

test("old gaps go with retention and the count is bounded", () => {
  const file = join(dir, "b", "gaps.json");
  const s = new GapStore(file, nopLogger);
  for (let i = 0; i < MAX_GAPS + 10; i++) s.recordStart(i * 10_000, i * 10_000 + 5000, 1000, 0);
  expect(s.gaps().length).toBe(MAX_GAPS);
  expect(s.gaps()[0]!.start).toBe(10 * 10_000 + 1);
  s.recordStart(10_000_000, 10_005_000, 1000, 1_000_000);
  expect(s.gaps().every((g) => g.end >= 10_005_000 - 1_000_000)).toBe(true);
});

test("an unreadable file is ignored with a warning, not a crash", () => {
  const file = join(dir, "c.json");
  writeFileSync(file, "{not json");
  expect(new GapStore(file, nopLogger).gaps()).toEqual([]);
  writeFileSync(file, JSON.stringify({ gaps: [{ start: 1, end: 2 }, { start: "x", end: 3 }, { start: 5, end: 4 }] }));
  expect(new GapStore(file, nopLogger).gaps()).toEqual([{ start: 1, end: 2 }]);
});
