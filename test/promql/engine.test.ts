import { describe, expect, test } from "bun:test";
import { labelsFromRecord, type Labels } from "../../src/model/index.ts";
import { Engine, EvalError, isStaleAt, positionString, type QueryableFn, type Value } from "../../src/promql/index.ts";
import { parseScript } from "./promqltest_script.ts";
import { MemStorage } from "./promqltest_storage.ts";

const MIN = 60_000;

function staleNaNArray(values: (number | "stale")[]): Float64Array {
  const v = new Float64Array(values.length);
  const bits = new BigUint64Array(v.buffer);
  values.forEach((x, i) => {
    if (x === "stale") bits[i] = 0x7ff0000000000002n;
    else v[i] = x;
  });
  return v;
}

function storageWith(series: [Record<string, string>, number[], (number | "stale")[]][]): QueryableFn {
  const st = new MemStorage();
  for (const [labels, t, v] of series) st.append(labelsFromRecord(labels), Float64Array.from(t), staleNaNArray(v));
  return () => st.querier();
}

function vectorOf(v: Value): { metric: Labels; v: number }[] {
  if (v.type !== "vector") throw new Error(`expected vector, got ${v.type}`);
  return v.samples.map((s) => ({ metric: s.metric, v: s.v }));
}

describe("selectors", () => {
  test("a staleness marker ends the series before the lookback delta runs out", async () => {
    const q = storageWith([[{ __name__: "up" }, [0, MIN, 2 * MIN], [1, 1, "stale"]]]);
    const engine = new Engine();
    expect(vectorOf((await engine.instantQuery(q, "up", MIN + 30_000)).value)).toHaveLength(1);
    expect(vectorOf((await engine.instantQuery(q, "up", 2 * MIN)).value)).toHaveLength(0);
    expect(vectorOf((await engine.instantQuery(q, "up", 3 * MIN)).value)).toHaveLength(0);
  });

  test("the stale check reads raw bits, not any NaN", () => {
    const v = staleNaNArray(["stale", NaN, 1]);
    expect(isStaleAt(v, 0)).toBe(true);
    expect(isStaleAt(v, 1)).toBe(false);
    expect(isStaleAt(v, 2)).toBe(false);
  });

  test("lookback window is left-open", async () => {
    const q = storageWith([[{ __name__: "x" }, [0], [7]]]);
    const engine = new Engine({ lookbackDelta: 5 * MIN });
    expect(vectorOf((await engine.instantQuery(q, "x", 5 * MIN - 1)).value)[0]!.v).toBe(7);
    expect(vectorOf((await engine.instantQuery(q, "x", 5 * MIN)).value)).toHaveLength(0);
  });

  test("range window (t-range, t] excludes the sample at its left edge", async () => {
    const q = storageWith([[{ __name__: "x" }, [0, MIN, 2 * MIN], [1, 2, 3]]]);
    const res = await new Engine().instantQuery(q, "count_over_time(x[2m])", 2 * MIN);
    expect(vectorOf(res.value)[0]!.v).toBe(2);
  });

  test("@ start() and end() pin selectors to the query bounds", async () => {
    const q = storageWith([[{ __name__: "x" }, [0, MIN, 2 * MIN, 3 * MIN], [10, 20, 30, 40]]]);
    const res = await new Engine().rangeQuery(q, "x @ end() - x @ start()", MIN, 3 * MIN, MIN);
    if (res.value.type !== "matrix") throw new Error("expected matrix");
    expect(res.value.series[0]!.v).toEqual([20, 20, 20]);
  });
});

describe("subqueries", () => {
  test("inner steps are aligned to absolute multiples of the subquery step", async () => {
    const q = storageWith([[{ __name__: "x" }, [0, MIN, 2 * MIN, 3 * MIN, 4 * MIN, 5 * MIN, 6 * MIN, 7 * MIN, 8 * MIN, 9 * MIN, 10 * MIN], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]]);
    const res = await new Engine().instantQuery(q, "x[10m:3m]", 10 * MIN);
    if (res.value.type !== "matrix") throw new Error("expected matrix");
    expect(res.value.series[0]!.t).toEqual([3 * MIN, 6 * MIN, 9 * MIN]);
    expect(res.value.series[0]!.v).toEqual([3, 6, 9]);
  });
});

describe("functions and aggregations", () => {
  test("rate extrapolates and drops the metric name", async () => {
    const q = storageWith([[{ __name__: "c_total", job: "a" }, [0, MIN, 2 * MIN, 3 * MIN, 4 * MIN, 5 * MIN], [0, 60, 120, 180, 240, 300]]]);
    const res = await new Engine().instantQuery(q, "rate(c_total[5m])", 5 * MIN);
    const out = vectorOf(res.value);
    expect(out[0]!.metric).toEqual(labelsFromRecord({ job: "a" }));
    expect(out[0]!.v).toBeCloseTo(1, 12);
    expect(res.infos).toEqual([]);
  });

  test("rate on a name that is not a counter's adds Prometheus's info with its position", async () => {
    const q = storageWith([[{ __name__: "gauge" }, [0, MIN], [1, 2]]]);
    const res = await new Engine().instantQuery(q, "rate(gauge[5m])", MIN);
    expect(res.infos).toEqual(['PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "gauge" (1:6)']);
  });

  test("sum uses compensated summation", async () => {
    const q = storageWith([
      [{ __name__: "x", i: "1" }, [0], [1e100]],
      [{ __name__: "x", i: "2" }, [0], [1]],
      [{ __name__: "x", i: "3" }, [0], [-1e100]],
    ]);
    const res = await new Engine().instantQuery(q, "sum(x)", 0);
    expect(vectorOf(res.value)[0]!.v).toBe(1);
  });

  test("topk in an instant query orders by value", async () => {
    const q = storageWith([
      [{ __name__: "x", i: "1" }, [0], [5]],
      [{ __name__: "x", i: "2" }, [0], [9]],
      [{ __name__: "x", i: "3" }, [0], [7]],
    ]);
    const res = await new Engine().instantQuery(q, "topk(2, x)", 0);
    expect(vectorOf(res.value).map((s) => s.v)).toEqual([9, 7]);
  });

  test("step(), range(), start() and end() describe the query", async () => {
    const engine = new Engine();
    const q = storageWith([]);
    const res = await engine.rangeQuery(q, "end() - start() + step() * 0 + range()", 10_000, 40_000, 10_000);
    if (res.value.type !== "matrix") throw new Error("expected matrix");
    expect(res.value.series[0]!.v).toEqual([60, 60, 60, 60]);
  });

  test("label_replace uses RE2 syntax and Go's template expansion", async () => {
    const q = storageWith([[{ __name__: "x", src: "Host-42.example" }, [0], [1]]]);
    const res = await new Engine().instantQuery(q, 'label_replace(x, "dst", "$1-${2}", "src", "(?i)host-(\\\\d+)\\\\.(.*)")', 0);
    expect(vectorOf(res.value)[0]!.metric).toEqual(labelsFromRecord({ __name__: "x", dst: "42-example", src: "Host-42.example" }));
    await expect(new Engine().instantQuery(q, 'label_replace(x, "dst", "z", "src", "(")', 0)).rejects.toThrow("invalid regular expression in label_replace(): (");
  });

  test("label_replace onto an existing label set fails", async () => {
    const q = storageWith([
      [{ __name__: "x", a: "1" }, [0], [1]],
      [{ __name__: "x", a: "2" }, [0], [2]],
    ]);
    await expect(new Engine().instantQuery(q, 'label_replace(x, "a", "same", "a", ".*")', 0)).rejects.toThrow("vector cannot contain metrics with the same labelset");
  });
});

describe("info()", () => {
  const q = storageWith([
    [{ __name__: "up", instance: "a", job: "j" }, [0], [1]],
    [{ __name__: "up", instance: "b", job: "j" }, [0], [1]],
    [{ __name__: "target_info", instance: "a", job: "j", version: "1.2" }, [0], [1]],
    [{ __name__: "build_info", instance: "b", job: "j", rev: "abc" }, [0], [1]],
  ]);

  test("adds target_info's data labels by identifying labels", async () => {
    const res = await new Engine().instantQuery(q, "info(up)", 0);
    const metrics = vectorOf(res.value).map((s) => s.metric);
    expect(metrics).toContainEqual(labelsFromRecord({ __name__: "up", instance: "a", job: "j", version: "1.2" }));
    expect(metrics).toContainEqual(labelsFromRecord({ __name__: "up", instance: "b", job: "j" }));
  });

  test("a data-label matcher that cannot match empty drops series without info", async () => {
    const res = await new Engine().instantQuery(q, 'info(up, {version=~"1.*"})', 0);
    expect(vectorOf(res.value).map((s) => s.metric)).toEqual([labelsFromRecord({ __name__: "up", instance: "a", job: "j", version: "1.2" })]);
  });

  test("the selector's name matcher chooses the info metric", async () => {
    const res = await new Engine().instantQuery(q, 'info(up, {__name__="build_info"})', 0);
    const metrics = vectorOf(res.value).map((s) => s.metric);
    expect(metrics).toContainEqual(labelsFromRecord({ __name__: "up", instance: "b", job: "j", rev: "abc" }));
    expect(metrics).toContainEqual(labelsFromRecord({ __name__: "up", instance: "a", job: "j" }));
  });
});

describe("vector matching", () => {
  const q = storageWith([
    [{ __name__: "many", job: "j", i: "1" }, [0], [1]],
    [{ __name__: "many", job: "j", i: "2" }, [0], [2]],
    [{ __name__: "one", job: "j" }, [0], [10]],
  ]);

  test("one-to-one matching with duplicates on the left must be explicit", async () => {
    await expect(new Engine().instantQuery(q, "many + on(job) one", 0)).rejects.toThrow(
      "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
    );
  });

  test("duplicates on the one side are reported with both series", async () => {
    await expect(new Engine().instantQuery(q, "one + on(job) many", 0)).rejects.toThrow(
      'found duplicate series for the match group {job="j"} on the right hand-side of the operation: [{__name__="many", i="1", job="j"}, {__name__="many", i="2", job="j"}];many-to-many matching not allowed: matching labels must be unique on one side',
    );
  });

  test("group_left keeps the many side's labels", async () => {
    const res = await new Engine().instantQuery(q, "many * on(job) group_left one", 0);
    expect(vectorOf(res.value).map((s) => s.v).sort()).toEqual([10, 20]);
  });
});

describe("limits", () => {
  test("too many samples fails with Prometheus's message", async () => {
    const t = Array.from({ length: 100 }, (_, i) => i * 1000);
    const q = storageWith([[{ __name__: "x" }, t, t.map(() => 1)]]);
    const engine = new Engine({ maxSamples: 10 });
    await expect(engine.instantQuery(q, "sum_over_time(x[5m])", 100_000)).rejects.toThrow(
      "query processing would load too many samples into memory in query execution",
    );
  });

  test("a query running past the timeout fails with Prometheus's message", async () => {
    const q = storageWith([[{ __name__: "x" }, [0], [1]]]);
    const engine = new Engine({ timeout: -1 });
    const err = await engine.rangeQuery(q, "x + x + x", 0, 100_000_000, 1000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EvalError);
    expect((err as Error).message).toBe("query timed out in expression evaluation");
  });

  test("queries beyond maxConcurrency wait and still complete", async () => {
    const q = storageWith([[{ __name__: "x" }, [0], [3]]]);
    const engine = new Engine({ maxConcurrency: 1 });
    const results = await Promise.all([1, 2, 3].map((k) => engine.instantQuery(q, `x * ${k}`, 0)));
    expect(results.map((r) => vectorOf(r.value)[0]!.v)).toEqual([3, 6, 9]);
  });

  test("range queries reject a range-vector expression", async () => {
    const q = storageWith([]);
    await expect(new Engine().rangeQuery(q, "x[5m]", 0, 60_000, 1000)).rejects.toThrow('invalid expression type "range vector" for range query');
  });
});

test("positionString counts lines and 1-based columns", () => {
  expect(positionString("rate(x[5m])", 5)).toBe("1:6");
  expect(positionString("a +\n  rate(x[5m])", 11)).toBe("2:8");
});

describe("subquery selection (cases from Prometheus's TestSubquerySelector)", () => {
  function load(script: string): QueryableFn {
    const st = new MemStorage();
    for (const cmd of parseScript(script, "inline")) {
      if (cmd.type !== "load") continue;
      for (const s of cmd.series) {
        const t: number[] = [], v: number[] = [];
        s.values.forEach((x, i) => {
          if (x.kind === "float") {
            t.push(i * cmd.interval);
            v.push(x.v);
          }
        });
        st.append(s.metric, Float64Array.from(t), Float64Array.from(v));
      }
    }
    return () => st.querier();
  }
  const small = load("load 10s\n  metric 1 2\n");
  const big = load(
    [
      "load 10s",
      '  http_requests{job="api-server", instance="0", group="production"} 0+10x1000 100+30x1000',
      '  http_requests{job="api-server", instance="1", group="production"} 0+20x1000 200+30x1000',
      '  http_requests{job="api-server", instance="0", group="canary"} 0+30x1000 300+80x1000',
      '  http_requests{job="api-server", instance="1", group="canary"} 0+40x2000',
      "",
    ].join("\n"),
  );
  const cases: [QueryableFn, string, number, [number, number][][]][] = [
    [small, "metric[20s:10s]", 10, [[[0, 1], [10, 2]]]],
    [small, "metric[20s:5s]", 10, [[[0, 1], [5, 1], [10, 2]]]],
    [small, "metric[20s:5s] offset 2s", 12, [[[0, 1], [5, 1], [10, 2]]]],
    [small, "metric[20s:5s] offset 6s", 20, [[[0, 1], [5, 1], [10, 2]]]],
    [small, "metric[20s:5s] offset 4s", 35, [[[15, 2], [20, 2], [25, 2], [30, 2]]]],
    [small, "metric[20s:5s] offset 5s", 35, [[[15, 2], [20, 2], [25, 2], [30, 2]]]],
    [small, "metric[20s:5s] offset 6s", 35, [[[10, 2], [15, 2], [20, 2], [25, 2]]]],
    [small, "metric[20s:5s] offset 7s", 35, [[[10, 2], [15, 2], [20, 2], [25, 2]]]],
    [big, 'http_requests{group=~"pro.*",instance="0"}[30s:10s]', 10020, [[[10000, 10000], [10010, 100], [10020, 130]]]],
    [big, 'http_requests{group=~"pro.*",instance="0"}[30s1ms:10s]', 10020, [[[9990, 9990], [10000, 10000], [10010, 100], [10020, 130]]]],
    [big, 'http_requests{group=~"pro.*",instance="0"}[5m:]', 10100, [[[9840, 9840], [9900, 9900], [9960, 9960], [10020, 130], [10080, 310]]]],
    [big, 'http_requests{group=~"pro.*",instance="0"}[5m:] offset 20m', 10100, [[[8640, 8640], [8700, 8700], [8760, 8760], [8820, 8820], [8880, 8880]]]],
    [big, 'sum(http_requests{group=~"pro.*"})[30s:10s]', 121, [[[100, 300], [110, 330], [120, 360]]]],
    [big, "sum(http_requests)[40s1ms:10s]", 120, [[[80, 800], [90, 900], [100, 1000], [110, 1100], [120, 1200]]]],
    [big, '(sum(http_requests{group=~"p.*"})+sum(http_requests{group=~"c.*"}))[20s:5s]', 120, [[[105, 1000], [110, 1100], [115, 1100], [120, 1200]]]],
  ];
  for (const [q, query, at, expected] of cases) {
    test(`${query} at ${at}s`, async () => {
      const res = await new Engine().instantQuery(q, query, at * 1000);
      if (res.value.type !== "matrix") throw new Error("expected matrix");
      expect(res.value.series.map((s) => s.t.map((t, i) => [t / 1000, s.v[i]!]))).toEqual(expected);
    });
  }

  test("rate(...)[15s:5s] drops the metric name and keeps 3 aligned points", async () => {
    const res = await new Engine().instantQuery(big, "rate(http_requests[1m])[15s:5s]", 8000_000);
    if (res.value.type !== "matrix") throw new Error("expected matrix");
    expect(res.value.series.map((s) => s.metric.some((l) => l.name === "__name__"))).toEqual([false, false, false, false]);
    expect(res.value.series.map((s) => s.v)).toEqual([
      [3, 3, 3],
      [4, 4, 4],
      [1, 1, 1],
      [2, 2, 2],
    ]);
    expect(res.value.series[0]!.t).toEqual([7990_000, 7995_000, 8000_000]);
  });
});
