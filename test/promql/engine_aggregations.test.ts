/**
 * The whole-range aggregation paths (aggregateOverSteps, topBottomKOverSteps)
 * against the per-step aggregate() they replace in range queries: the same
 * output series in the same order, bit-identical values, the same
 * `dropName`, on irregular data with gaps, NaN, ±Inf, overflowing sums and
 * ties, and with enough groups to span several accumulation blocks.
 */
import { describe, expect, test } from "bun:test";
import { labelsFromRecord, labelsKey, type Labels } from "../../src/model/index.ts";
import { Engine, type QueryableFn } from "../../src/promql/index.ts";
import type { AggregateOp } from "../../src/promql/ast.ts";
import {
  aggregate,
  aggregateOverSteps,
  isStepwiseAggregation,
  topBottomKOverSteps,
  type StepGrid,
  type StepSeries,
} from "../../src/promql/aggregations.ts";
import type { Sample } from "../../src/promql/functions.ts";
import { MemStorage } from "./promqltest_storage.ts";
import { seededRandom } from "../support/random.ts";

function randomValue(rand: () => number): number {
  const r = rand();
  if (r < 0.04) return NaN;
  if (r < 0.07) return rand() < 0.5 ? Infinity : -Infinity;
  if (r < 0.12) return (rand() < 0.5 ? 1 : -1) * 1.7e308;
  if (r < 0.2) return Math.floor(rand() * 4);
  return (rand() - 0.3) * 1000;
}

/** `count` series with labels a (few values), b (many) and a name, each present at a random subset of the steps. */
function randomInput(rand: () => number, count: number, grid: StepGrid): StepSeries[] {
  const out: StepSeries[] = [];
  for (let j = 0; j < count; j++) {
    const metric = labelsFromRecord({ __name__: `m${j % 2}`, a: `a${Math.floor(rand() * 3)}`, b: `b${j}` });
    const ts: number[] = [], fs: number[] = [];
    const density = rand();
    for (let i = 0; i < grid.numSteps; i++) {
      if (rand() > density) continue;
      ts.push(grid.start + i * grid.interval);
      fs.push(randomValue(rand));
    }
    out.push({ metric, ts, fs, dropName: rand() < 0.5 });
  }
  return out;
}

/** What the engine did before: aggregate() each step's vector, collecting output points by label set. */
function perStepReference(op: AggregateOp, input: StepSeries[], grid: StepGrid, grouping: string[], without: boolean, params: Float64Array | null): StepSeries[] {
  const byKey = new Map<string, StepSeries>();
  const order: StepSeries[] = [];
  const pos = new Array<number>(input.length).fill(0);
  for (let i = 0; i < grid.numSteps; i++) {
    const t = grid.start + i * grid.interval;
    const vec: Sample[] = [];
    input.forEach((s, j) => {
      if (pos[j]! < s.ts.length && s.ts[pos[j]!] === t) {
        vec.push({ metric: s.metric, f: s.fs[pos[j]!]!, t, dropName: s.dropName });
        pos[j]!++;
      }
    });
    if (vec.length === 0 && op !== "topk" && op !== "bottomk") continue;
    const out = aggregate(op, vec, { grouping, without, param: params ? params[i]! : NaN, stringParam: "", instant: false });
    for (const s of out) {
      const key = labelsKey(s.metric);
      let series = byKey.get(key);
      if (!series) {
        series = { metric: s.metric, ts: [], fs: [], dropName: s.dropName };
        byKey.set(key, series);
        order.push(series);
      }
      series.ts.push(t);
      series.fs.push(s.f);
      series.dropName = s.dropName;
    }
  }
  return order;
}

/** The series as comparable plain data; values as strings so NaN equals NaN and -0 differs from 0. */
function comparable(series: StepSeries[]): { metric: string; ts: number[]; fs: string[]; dropName: boolean }[] {
  return series.map((s) => ({
    metric: labelsKey(s.metric),
    ts: s.ts,
    fs: s.fs.map((f) => (Object.is(f, -0) ? "-0" : String(f))),
    dropName: s.dropName,
  }));
}

const GROUPINGS: [string[], boolean][] = [
  [[], false],
  [["a"], false],
  [["a"], true],
  [["__name__", "a"], false],
  [[], true],
];

describe("aggregateOverSteps", () => {
  const ops: AggregateOp[] = ["sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "quantile"];
  /** quantile's φ per step: inside, at and outside [0, 1], and NaN. */
  const phis = (steps: number): Float64Array => Float64Array.from({ length: steps }, (_, i) => [0.5, 0, 1, 0.9, -0.5, 1.5, NaN, 0.25][i % 8]!);

  test("covers exactly the aggregations computed per group", () => {
    for (const op of ops) expect(isStepwiseAggregation(op)).toBe(true);
    for (const op of ["topk", "bottomk", "count_values", "limitk", "limit_ratio"] as AggregateOp[]) expect(isStepwiseAggregation(op)).toBe(false);
  });

  test("matches per-step aggregate() for every op and grouping", () => {
    const rand = seededRandom(7);
    const grid: StepGrid = { start: 1_000_000, interval: 15_000, numSteps: 40 };
    for (let round = 0; round < 4; round++) {
      const input = randomInput(rand, 25, grid);
      for (const op of ops) {
        for (const [grouping, without] of GROUPINGS) {
          let stepsSeen = 0, points = 0;
          const params = op === "quantile" ? phis(grid.numSteps) : null;
          const got = aggregateOverSteps(
            op,
            input,
            grid,
            grouping,
            without,
            (n) => {
              stepsSeen++;
              points += n;
            },
            params,
          );
          const want = perStepReference(op, input, grid, grouping, without, params);
          expect(comparable(got)).toEqual(comparable(want));
          expect(stepsSeen).toBe(grid.numSteps);
          expect(points).toBe(want.reduce((n, s) => n + s.ts.length, 0));
        }
      }
    }
  });

  test("matches per-step aggregate() when the groups span several accumulation blocks", () => {
    const rand = seededRandom(11);
    const grid: StepGrid = { start: 0, interval: 60_000, numSteps: 90 };
    const input = randomInput(rand, 800, grid);
    for (const op of ["sum", "avg", "max", "quantile"] as AggregateOp[]) {
      const params = op === "quantile" ? phis(grid.numSteps) : null;
      const got = aggregateOverSteps(op, input, grid, ["a", "b"], false, () => {}, params);
      expect(comparable(got)).toEqual(comparable(perStepReference(op, input, grid, ["a", "b"], false, params)));
    }
  });

  test("an empty input gives no series but still reports every step", () => {
    let steps = 0;
    expect(aggregateOverSteps("sum", [], { start: 0, interval: 1000, numSteps: 5 }, [], false, () => steps++)).toEqual([]);
    expect(steps).toBe(5);
  });

  test("rejects an op it does not compute", () => {
    expect(() => aggregateOverSteps("count_values", [], { start: 0, interval: 1000, numSteps: 1 }, [], false, () => {})).toThrow("unsupported aggregation count_values");
  });
});

describe("topBottomKOverSteps", () => {
  const keyOf = (ls: Labels): string => labelsKey(ls);

  test("matches per-step aggregate() for topk and bottomk with varying k, ties and NaN", () => {
    const rand = seededRandom(3);
    const grid: StepGrid = { start: 5_000, interval: 30_000, numSteps: 30 };
    for (let round = 0; round < 4; round++) {
      const input = randomInput(rand, 30, grid);
      const ks = Float64Array.from({ length: grid.numSteps }, (_, i) => [0, 1, 2, 3, 5, 40, -1, 2.7][i % 8]!);
      for (const op of ["topk", "bottomk"] as const) {
        for (const [grouping, without] of GROUPINGS) {
          let points = 0;
          const got = topBottomKOverSteps(op, input, grid, grouping, without, ks, keyOf, (n) => (points += n));
          const want = perStepReference(op, input, grid, grouping, without, ks);
          expect(comparable(got)).toEqual(comparable(want));
          expect(points).toBe(want.reduce((n, s) => n + s.ts.length, 0));
        }
      }
    }
  });

  test("matches per-step aggregate() when the chosen members span several blocks of steps", () => {
    const rand = seededRandom(13);
    const grid: StepGrid = { start: 0, interval: 60_000, numSteps: 90 };
    const input = randomInput(rand, 800, grid);
    const ks = Float64Array.from({ length: grid.numSteps }, (_, i) => (i % 3 === 0 ? 1000 : 7));
    const got = topBottomKOverSteps("bottomk", input, grid, ["a"], false, ks, keyOf, () => {});
    expect(comparable(got)).toEqual(comparable(perStepReference("bottomk", input, grid, ["a"], false, ks)));
  });

  test("a NaN k is an error even at a step without samples", () => {
    const ks = new Float64Array([1, NaN]);
    expect(() => topBottomKOverSteps("topk", [], { start: 0, interval: 1000, numSteps: 2 }, [], false, ks, keyOf, () => {})).toThrow("Parameter value is NaN");
  });

  test("two chosen series with the same label set at one step are an error", () => {
    const metric = labelsFromRecord({ a: "1" });
    const input: StepSeries[] = [
      { metric, ts: [0], fs: [1], dropName: false },
      { metric: labelsFromRecord({ a: "1" }), ts: [0], fs: [2], dropName: false },
    ];
    expect(() => topBottomKOverSteps("topk", input, { start: 0, interval: 1000, numSteps: 1 }, [], false, new Float64Array([2]), keyOf, () => {})).toThrow(
      "vector cannot contain metrics with the same labelset",
    );
  });
});

describe("range queries through the engine", () => {
  const MIN = 60_000;

  function storage(rand: () => number): QueryableFn {
    const st = new MemStorage();
    for (let n = 0; n < 12; n++) {
      const t: number[] = [], v: number[] = [];
      for (let i = 0; i < 40; i++) {
        if (rand() < 0.2) continue;
        t.push(i * 30_000 + n * 7);
        v.push(Math.floor(rand() * 5));
      }
      st.append(labelsFromRecord({ __name__: "x", job: `j${n % 3}`, n: String(n) }), Float64Array.from(t), Float64Array.from(v));
    }
    return () => st.querier();
  }

  test("each step of a range query equals the instant query at that time", async () => {
    const q = storage(seededRandom(5));
    const engine = new Engine();
    for (const query of ["sum by (job) (x)", "avg without (n) (x)", "count(x)", "stddev by (job) (x)", "quantile by (job) (0.3, x)", "topk(2, x)", "bottomk by (job) (1, x)"]) {
      const range = await engine.rangeQuery(q, query, 0, 20 * MIN, MIN);
      if (range.value.type !== "matrix") throw new Error("expected a matrix");
      for (let i = 0; i <= 20; i++) {
        const instant = await engine.instantQuery(q, query, i * MIN);
        if (instant.value.type !== "vector") throw new Error("expected a vector");
        const fromRange = range.value.series
          .filter((s) => s.t.includes(i * MIN))
          .map((s) => `${labelsKey(s.metric)} ${s.v[s.t.indexOf(i * MIN)]}`)
          .sort();
        const fromInstant = instant.value.samples.map((s) => `${labelsKey(s.metric)} ${s.v}`).sort();
        expect(fromRange).toEqual(fromInstant);
      }
    }
  });

  test("histogram_quantile over bucket series equals the instant query at each step, warnings included", async () => {
    const st = new MemStorage();
    const rand = seededRandom(21);
    for (const instance of ["a", "b", "c"]) {
      for (const le of ["0.1", "0.5", "1", "+Inf", "bad"]) {
        const t: number[] = [], v: number[] = [];
        for (let i = 0; i < 30; i++) {
          if (rand() < 0.1) continue;
          t.push(i * 30_000 + 11);
          v.push(Math.floor(rand() * 10) * (le === "+Inf" ? 3 : le === "1" ? 2 : 1));
        }
        st.append(labelsFromRecord({ __name__: "h_bucket", instance, le }), Float64Array.from(t), Float64Array.from(v));
      }
    }
    const q: QueryableFn = () => st.querier();
    const engine = new Engine();
    const query = "histogram_quantile(0.7, h_bucket)";
    const range = await engine.rangeQuery(q, query, 0, 14 * MIN, MIN);
    if (range.value.type !== "matrix") throw new Error("expected a matrix");
    expect(range.value.series.length).toBe(3);
    expect(range.warnings.some((w) => w.includes('malformed value of "bad"'))).toBe(true);
    for (let i = 0; i <= 14; i++) {
      const instant = await engine.instantQuery(q, query, i * MIN);
      if (instant.value.type !== "vector") throw new Error("expected a vector");
      const fromRange = range.value.series
        .filter((s) => s.t.includes(i * MIN))
        .map((s) => `${labelsKey(s.metric)} ${s.v[s.t.indexOf(i * MIN)]}`)
        .sort();
      expect(fromRange).toEqual(instant.value.samples.map((s) => `${labelsKey(s.metric)} ${s.v}`).sort());
    }
  });
});
