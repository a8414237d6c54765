/**
 * Engine behaviours found by the differential fuzz test against Prometheus
 * (test/interop/promql-fuzz-vs-prometheus.test.ts), each pinned here with
 * the answer Prometheus gives.
 */
import { describe, expect, test } from "bun:test";
import { labelsFromRecord } from "../../src/model/index.ts";
import { Engine, type QueryableFn } from "../../src/promql/index.ts";
import { MemStorage } from "./promqltest_storage.ts";

function storage(): QueryableFn {
  const st = new MemStorage();
  const t = Float64Array.from([0, 60_000, 120_000]);
  st.append(labelsFromRecord({ __name__: "a", job: "x" }), t, Float64Array.from([1, 2, 3]));
  st.append(labelsFromRecord({ __name__: "b", job: "x" }), t, Float64Array.from([4, 5, 6]));
  st.append(labelsFromRecord({ __name__: "c", job: "y" }), t, Float64Array.from([7, 8, 9]));
  return () => st.querier();
}

const engine = new Engine();

async function errorOf(run: Promise<unknown>): Promise<string> {
  try {
    await run;
    return "";
  } catch (err) {
    return String(err);
  }
}

describe("label-set clashes after dropping __name__ are errors even when aggregated later", () => {
  for (const query of ['sum(exp({__name__=~"a|b"}))', 'max(-{__name__=~"a|b"})', 'count({__name__=~"a|b"} * 2)']) {
    test(query, async () => {
      expect(await errorOf(engine.instantQuery(storage(), query, 120_000))).toContain("vector cannot contain metrics with the same labelset");
      expect(await errorOf(engine.rangeQuery(storage(), query, 0, 120_000, 60_000))).toContain("vector cannot contain metrics with the same labelset");
    });
  }

  test("different remaining labels do not clash", async () => {
    expect(await errorOf(engine.instantQuery(storage(), 'sum(exp({__name__=~"a|c"}))', 120_000))).toBe("");
  });
});

describe("absent() labels follow the matchers in order", () => {
  const cases: [string, string][] = [
    ['absent(nope{job!="x", job="y"})', '{job="y"}'],
    ['absent(nope{job="y", job!="x"})', "{}"],
    ['absent(nope{job="y", job="z", env="p"})', '{env="p"}'],
    ['absent(nope{job=~"y", job="z"})', '{job="z"}'],
  ];
  for (const [query, labels] of cases) {
    test(query, async () => {
      const res = await engine.instantQuery(storage(), query, 120_000);
      if (res.value.type !== "vector") throw new Error("expected a vector");
      expect(res.value.samples.map((s) => `{${s.metric.map((l) => `${l.name}="${l.value}"`).join(",")}}`)).toEqual([labels]);
    });
  }
});

// Prometheus 3's topk/bottomk push into a k-heap until it is full, then
// overwrite the root when a sample ranks strictly better and heap.Fix it;
// among tied values that decides which series stay. (2.42 popped and pushed
// instead, keeping other ties; the fuzz test therefore avoids ties.)
describe("topk and bottomk keep the tied series Prometheus 3's k-heap keeps", () => {
  function tied(): QueryableFn {
    const st = new MemStorage();
    const t = Float64Array.from([0, 60_000]);
    // At each step: i=1 → 1, i=2 → 1, i=3 → 2, i=4 → NaN.
    for (const [i, v] of [["1", 1], ["2", 1], ["3", 2], ["4", NaN]] as const) st.append(labelsFromRecord({ __name__: "m", i }), t, Float64Array.from([v, v]));
    return () => st.querier();
  }
  // Pushing 1 (i=1) and 1 (i=2) fills a 2-heap; 2 (i=3) overwrites the root i=1; so i=2 stays.
  const cases: [string, string[]][] = [
    ["topk(2, m)", ["2", "3"]],
    ["topk(1, m)", ["3"]],
    ["bottomk(2, m)", ["1", "2"]],
    ["topk(3, m)", ["1", "2", "3"]],
    ["topk(4, m)", ["1", "2", "3", "4"]],
  ];
  for (const [query, kept] of cases) {
    test(query, async () => {
      const instant = await engine.instantQuery(tied(), query, 60_000);
      if (instant.value.type !== "vector") throw new Error("expected a vector");
      expect(instant.value.samples.map((s) => s.metric.find((l) => l.name === "i")!.value).sort()).toEqual(kept);
      const range = await engine.rangeQuery(tied(), query, 0, 60_000, 60_000);
      if (range.value.type !== "matrix") throw new Error("expected a matrix");
      expect(range.value.series.map((s) => s.metric.find((l) => l.name === "i")!.value).sort()).toEqual(kept);
      for (const s of range.value.series) expect(s.t.length).toBe(2);
    });
  }
});
