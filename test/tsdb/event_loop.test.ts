import { describe, expect, test } from "bun:test";
import { WorkSlicer, runSteps, runStepsNow, sortSteps } from "../../src/tsdb/event_loop.ts";

function randomInts(n: number, seed: number, range: number): number[] {
  const out: number[] = [];
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out.push((x >>> 8) % range);
  }
  return out;
}

describe("sortSteps", () => {
  test("sorts like Array.prototype.sort for sizes around the run length", () => {
    for (const n of [0, 1, 2, 1023, 1024, 1025, 3000, 4096, 10_001]) {
      const items = randomInts(n, n + 1, 1000);
      const want = [...items].sort((a, b) => a - b);
      expect(runStepsNow(sortSteps(items, (a, b) => a - b))).toEqual(want);
      expect(items).toEqual(want);
    }
  });

  test("is stable", () => {
    const items = randomInts(5000, 7, 10).map((key, i) => ({ key, i }));
    runStepsNow(sortSteps(items, (a, b) => a.key - b.key));
    for (let j = 1; j < items.length; j++) {
      const a = items[j - 1]!, b = items[j]!;
      expect(a.key < b.key || (a.key === b.key && a.i < b.i)).toBe(true);
    }
  });

  test("pauses between steps, and runSteps lets timers run while it sorts", async () => {
    const items = randomInts(200_000, 3, 1_000_000);
    let steps = 0;
    const gen = sortSteps([...items], (a, b) => a - b);
    while (!gen.next().done) steps++;
    expect(steps).toBeGreaterThan(100);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    try {
      const sorted = await runSteps(sortSteps(items, (a, b) => a - b), new WorkSlicer(1));
      expect(sorted[0]).toBeLessThanOrEqual(sorted[sorted.length - 1]!);
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(0);
  });
});
