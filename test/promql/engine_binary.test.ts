/**
 * Binary operators between vectors in range queries, which join matching
 * series once over all steps when signatures are unique: every step of a
 * range query must equal the instant query at that time (values, labels,
 * filtering, bool results), and duplicate signatures must still be
 * detected step by step with Prometheus's errors.
 */
import { describe, expect, test } from "bun:test";
import { labelsFromRecord, labelsKey } from "../../src/model/index.ts";
import { Engine, type QueryableFn } from "../../src/promql/index.ts";
import { MemStorage } from "./promqltest_storage.ts";
import { seededRandom } from "../support/random.ts";

const MIN = 60_000;

/** Series a{g,n} and b{g,n} (b has fewer n), with gaps longer than the lookback, NaN and zeros. */
function storage(): QueryableFn {
  const st = new MemStorage();
  const rand = seededRandom(31);
  for (const [name, count] of [["a", 8], ["b", 6]] as const) {
    for (let n = 0; n < count; n++) {
      const t: number[] = [], v: number[] = [];
      for (let i = 0; i < 60; i++) {
        if (i % 20 >= 12 + n) continue;
        t.push(i * 30_000 + 5 + n);
        const r = rand();
        v.push(r < 0.05 ? NaN : r < 0.15 ? 0 : Math.floor(r * 10) - 3);
      }
      st.append(labelsFromRecord({ __name__: name, g: `g${n % 2}`, n: String(n) }), Float64Array.from(t), Float64Array.from(v));
    }
  }
  return () => st.querier();
}

function pointsAt(series: { metric: Parameters<typeof labelsKey>[0]; t: number[]; v: number[] }[], t: number): string[] {
  return series
    .filter((s) => s.t.includes(t))
    .map((s) => `${labelsKey(s.metric)} ${s.v[s.t.indexOf(t)]}`)
    .sort();
}

describe("vector-vector operators in range queries", () => {
  const q = storage();
  const engine = new Engine();

  test("every step equals the instant query at that time", async () => {
    const queries = [
      "a + b",
      "a - on(n) b",
      "a / ignoring(g) b",
      "a * on(g, n) b",
      "a > b",
      "a >= bool b",
      "a == b",
      "a != bool on(n) b",
      "a % b",
      "a ^ b",
      "a atan2 b",
      "-a < b",
      "(a + b) * on(n) group_left b",
      "a and b",
      "a and on(g) b",
      "a unless b",
      "a unless on(n) b",
      "a or b",
      "b or on(g) a",
      "(a > 2) or (a offset 5m)",
      "sum by (g) (a or b)",
    ];
    let compared = 0;
    for (const query of queries) {
      const range = await engine.rangeQuery(q, query, 0, 35 * MIN, 30_000);
      if (range.value.type !== "matrix") throw new Error("expected a matrix");
      for (let t = 0; t <= 35 * MIN; t += 30_000) {
        const instant = await engine.instantQuery(q, query, t);
        if (instant.value.type !== "vector") throw new Error("expected a vector");
        const want = instant.value.samples.map((s) => `${labelsKey(s.metric)} ${s.v}`).sort();
        expect(pointsAt(range.value.series, t)).toEqual(want);
        compared += want.length;
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });

  test("known values: filtering, bool results, name handling and gaps", async () => {
    const st = new MemStorage();
    st.append(labelsFromRecord({ __name__: "p", k: "1" }), Float64Array.from([0, 60_000, 120_000, 600_000]), Float64Array.from([1, 5, 3, 7]));
    st.append(labelsFromRecord({ __name__: "r", k: "1" }), Float64Array.from([0, 60_000, 120_000]), Float64Array.from([2, 2, 3]));
    const qs: QueryableFn = () => st.querier();
    const run = async (query: string): Promise<string[]> => {
      const res = await engine.rangeQuery(qs, query, 0, 600_000, 60_000);
      if (res.value.type !== "matrix") throw new Error("expected a matrix");
      return res.value.series.map((s) => `${labelsKey(s.metric)} ${s.t.map((t, i) => `${t / 1000}:${s.v[i]}`).join(" ")}`);
    };
    // r's last sample (120s) stays visible until just before 420s (the lookback is left-open); p's jumps to 7 at 600s, with no r to match.
    expect(await run("p >= bool r")).toEqual(['{k="1"} 0:0 60:1 120:1 180:1 240:1 300:1 360:1']);
    expect(await run("p > r")).toEqual(['{__name__="p", k="1"} 60:5']);
    expect(await run("p - r")).toEqual(['{k="1"} 0:-1 60:3 120:0 180:0 240:0 300:0 360:0']);
  });

  test("known values: and, unless and or keep points by the other side's presence at each step", async () => {
    const st = new MemStorage();
    st.append(labelsFromRecord({ __name__: "p", k: "1" }), Float64Array.from([0, 60_000, 120_000, 180_000]), Float64Array.from([1, 2, 3, 4]));
    st.append(labelsFromRecord({ __name__: "p", k: "2" }), Float64Array.from([0]), Float64Array.from([9]));
    st.append(labelsFromRecord({ __name__: "q", k: "1" }), Float64Array.from([90_000]), Float64Array.from([5]));
    st.append(labelsFromRecord({ __name__: "q", k: "3" }), Float64Array.from([0]), Float64Array.from([7]));
    const qs: QueryableFn = () => st.querier();
    const run = async (query: string): Promise<string[]> => {
      const res = await engine.rangeQuery(qs, query, 0, 180_000, 60_000);
      if (res.value.type !== "matrix") throw new Error("expected a matrix");
      return res.value.series.map((s) => `${labelsKey(s.metric)} ${s.t.map((t, i) => `${t / 1000}:${s.v[i]}`).join(" ")}`);
    };
    expect(await run("p and q")).toEqual(['{__name__="p", k="1"} 120:3 180:4']);
    expect(await run("p unless q")).toEqual(['{__name__="p", k="1"} 0:1 60:2', '{__name__="p", k="2"} 0:9 60:9 120:9 180:9']);
    expect(await run("q or p")).toEqual([
      '{__name__="p", k="1"} 0:1 60:2',
      '{__name__="p", k="2"} 0:9 60:9 120:9 180:9',
      '{__name__="q", k="1"} 120:5 180:5',
      '{__name__="q", k="3"} 0:7 60:7 120:7 180:7',
    ]);
    expect(await run("p and on() q")).toEqual(['{__name__="p", k="1"} 0:1 60:2 120:3 180:4', '{__name__="p", k="2"} 0:9 60:9 120:9 180:9']);
  });

  test("two pairs with the same result labels clash at shared steps, as step by step", async () => {
    const st = new MemStorage();
    st.append(labelsFromRecord({ __name__: "a1", x: "1" }), Float64Array.from([0]), Float64Array.from([1]));
    st.append(labelsFromRecord({ __name__: "a2", x: "1" }), Float64Array.from([0, 600_000]), Float64Array.from([2, 3]));
    st.append(labelsFromRecord({ __name__: "a1", x: "1", side: "r" }), Float64Array.from([0]), Float64Array.from([10]));
    st.append(labelsFromRecord({ __name__: "a2", x: "1", side: "r" }), Float64Array.from([0, 600_000]), Float64Array.from([20, 30]));
    const qs: QueryableFn = () => st.querier();
    const query = '{x="1", side=""} + on(__name__, x) {side="r"}';
    const late = await engine.rangeQuery(qs, query, 600_000, 660_000, 60_000);
    if (late.value.type !== "matrix") throw new Error("expected a matrix");
    expect(late.value.series.map((s) => `${labelsKey(s.metric)} ${s.v.join(",")}`)).toEqual(['{x="1"} 33,33']);
    for (const clashing of [query, `sum(${query})`]) {
      const err = await engine.rangeQuery(qs, clashing, 0, 660_000, 60_000).catch((e: unknown) => e);
      expect((err as Error).message).toBe("vector cannot contain metrics with the same labelset");
    }
  });

  test("a repeated signature on one side is an error only at steps where both series have points", async () => {
    const st = new MemStorage();
    st.append(labelsFromRecord({ __name__: "x", k: "1", d: "a" }), Float64Array.from([0, 60_000]), Float64Array.from([1, 2]));
    st.append(labelsFromRecord({ __name__: "x", k: "1", d: "b" }), Float64Array.from([240_000]), Float64Array.from([3]));
    st.append(labelsFromRecord({ __name__: "y", k: "1" }), Float64Array.from([0, 60_000, 600_000]), Float64Array.from([10, 20, 30]));
    const qs: QueryableFn = () => st.querier();
    const apart = await engine.rangeQuery(qs, "x + on(k) y", 0, 120_000, 60_000);
    if (apart.value.type !== "matrix") throw new Error("expected a matrix");
    expect(apart.value.series.map((s) => s.v)).toEqual([[11, 22, 22]]);
    const err = await engine.rangeQuery(qs, "x + on(k) y", 0, 900_000, 60_000).catch((e: unknown) => e);
    expect((err as Error).message).toBe("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
  });
});
