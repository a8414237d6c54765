/**
 * The engine's asynchronous execution: evaluation gives the event loop its
 * turn while it runs, queries interleave, the deadline and cancellation stop
 * it (and its querier is closed, whatever happens), queries beyond the
 * concurrency limit queue, per-query lookback and timeout are honoured, the
 * sample limit gives Prometheus's error, and the querier covers exactly the
 * range the selectors read.
 */
import { pollUntil } from "../support/wait.ts";
import { beforeAll, describe, expect, test } from "bun:test";
import { labelsFromRecord, type Matcher } from "../../src/model/index.ts";
import {
  Engine,
  parseExpr,
  QueryCanceledError,
  QueryTimeoutError,
  selectedTimeRange,
  TooManySamplesError,
  type QueryableFn,
} from "../../src/promql/index.ts";
import type { LabelQueryOptions, Querier, SelectHints, StoredSeries } from "../../src/tsdb/index.ts";
import { JsKernelBatch, kernelWasm, WasmKernelBatch } from "../../src/promql/kernels.ts";
import { MemStorage } from "./promqltest_storage.ts";

// Tests here share their process (and a loaded host) with the rest of the suite: the margin is wider than
// the e2e tests'. A query that cannot be stopped runs for seconds and fails these bounds by far.
const SLACK = Number(process.env.PROMTS_TIMING_SLACK ?? 5);
const HOUR = 3_600_000;
const SERIES = 40;

/** 40 series sampled every 10 s over 3 h: enough for a query of seconds with a fine subquery. */
const storage = new MemStorage();
beforeAll(() => {
  const n = (3 * HOUR) / 10_000;
  const t = new Float64Array(n);
  for (let k = 0; k < n; k++) t[k] = k * 10_000;
  for (let i = 0; i < SERIES; i++) {
    const v = new Float64Array(n);
    for (let k = 0; k < n; k++) v[k] = Math.sin(k / 30 + i) * 50 + ((k * 31 + i) % 17);
    storage.append(labelsFromRecord({ __name__: "m", i: String(i) }), t, v);
  }
});

/** A queryable over the storage that records opened and closed queriers and select ranges. */
function tracked(): { q: QueryableFn; opened: number; closed: number; ranges: [number, number][]; selects: { t: number }[] } {
  const state = { opened: 0, closed: 0, ranges: [] as [number, number][], selects: [] as { t: number }[] };
  const q: QueryableFn = (mint, maxt) => {
    state.opened++;
    state.ranges.push([mint, maxt]);
    const inner = storage.querier();
    const wrapped: Querier = {
      select: (ms: readonly Matcher[], a: number, b: number, hints?: SelectHints): Promise<StoredSeries[]> => {
        state.selects.push({ t: performance.now() });
        return inner.select(ms, a, b, hints);
      },
      labelNames: (o?: LabelQueryOptions) => inner.labelNames(o),
      labelValues: (n: string, o?: LabelQueryOptions) => inner.labelValues(n, o),
      close: () => {
        state.closed++;
      },
    };
    return wrapped;
  };
  return Object.assign(state, { q });
}

const HEAVY = "quantile_over_time(0.5, m[1h:1s])";

/** Measures the longest wait of a 1 ms timer chain while `work` runs. */
async function longestTimerGap<T>(work: Promise<T>): Promise<{ result: T; gap: number; ticks: number }> {
  let last = performance.now(), gap = 0, ticks = 0, done = false;
  const tick = (): void => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
    ticks++;
    if (!done) setTimeout(tick, 1);
  };
  setTimeout(tick, 1);
  const result = await work;
  done = true;
  return { result, gap, ticks };
}

/**
 * The longest stretch a 1 ms timer chain waited while `work` ran, counting
 * only the CPU time the process spent in it: a stretch in which the host
 * descheduled the process (a loaded test machine) costs wall time but no
 * CPU, while synchronous work holding the event loop costs both.
 */
async function longestBusyGap<T>(work: Promise<T>): Promise<{ result: T; busy: number }> {
  let last = performance.now(), lastCpu = process.cpuUsage(), busy = 0, done = false;
  const tick = (): void => {
    const now = performance.now(), cpu = process.cpuUsage();
    const cpuMs = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
    busy = Math.max(busy, Math.min(now - last, cpuMs));
    last = now;
    lastCpu = cpu;
    if (!done) setTimeout(tick, 1);
  };
  setTimeout(tick, 1);
  const result = await work;
  done = true;
  return { result, busy };
}

describe("asynchronous evaluation", () => {
  test("a heavy query lets timers run throughout and gives the same result as an unsliced run", async () => {
    const engine = new Engine();
    const t = tracked();
    const t0 = performance.now();
    const { result, gap, ticks } = await longestTimerGap(engine.rangeQuery(t.q, HEAVY, 2 * HOUR, 3 * HOUR, 300_000));
    const took = performance.now() - t0;
    // Run unsliced, the query is one task: one tick and a gap of its whole duration. Sliced, the
    // timer runs about every slice; single gaps still include the host descheduling the process,
    // which on a loaded test machine can be a few hundred ms.
    expect(ticks).toBeGreaterThan(took / 100);
    expect(gap).toBeLessThan(Math.max(100 * SLACK, took / 3));
    expect(result.value.type).toBe("matrix");
    if (result.value.type !== "matrix") return;
    expect(result.value.series.length).toBe(SERIES);
    // The TypeScript kernels, run unsliced, compute the same thing.
    const whole = await new Engine({ sliceMs: 1e9, rangeKernels: "js" }).rangeQuery(t.q, HEAVY, 2 * HOUR, 3 * HOUR, 300_000);
    expect(whole.value).toEqual(result.value);
    expect(t.closed).toBe(t.opened);
  }, 60_000);

  test("a fine subquery over many series hands its inner result to the range function in slices", async () => {
    // 200 series, so the inner evaluation of [1h:1s] yields 2M points; turning them into the range
    // function's sample arrays in one piece held the event loop for 60-90 ms.
    const many = new MemStorage();
    const n = (3 * HOUR) / 10_000;
    const t = new Float64Array(n);
    for (let k = 0; k < n; k++) t[k] = k * 10_000;
    for (let i = 0; i < 200; i++) {
      const v = new Float64Array(n);
      for (let k = 0; k < n; k++) v[k] = (k * 7 + i) % 101;
      many.append(labelsFromRecord({ __name__: "m", i: String(i) }), t, v);
    }
    const engine = new Engine();
    const q: QueryableFn = () => many.querier();
    await engine.rangeQuery(q, "max_over_time(m[10m:1m])", 2 * HOUR, 3 * HOUR, 600_000); // warm the code paths
    const { result, busy } = await longestBusyGap(engine.rangeQuery(q, "max_over_time(m[1h:1s])", 2 * HOUR, 3 * HOUR, 15_000));
    console.log(`subquery: longest busy stretch without a timer turn ${busy.toFixed(1)} ms`);
    expect(busy).toBeLessThan(40);
    expect(result.value.type === "matrix" && result.value.series.length).toBe(200);
  }, 60_000);

  test("two queries interleave: each finishes only after both have started and progressed", async () => {
    const engine = new Engine({ maxConcurrency: 2 });
    const t = tracked();
    const ends: number[] = [];
    const run = (q: string): Promise<void> => engine.rangeQuery(t.q, q, 2 * HOUR, 3 * HOUR, 300_000).then(() => void ends.push(performance.now()));
    await Promise.all([run(HEAVY), run(HEAVY)]);
    // Both selected before either finished: they ran at once, not one after the other.
    expect(t.selects.length).toBe(2);
    expect(Math.max(...t.selects.map((s) => s.t))).toBeLessThan(Math.min(...ends));
  }, 60_000);

  test("queries beyond max concurrency queue, and a cancelled queued query leaves the queue", async () => {
    const engine = new Engine({ maxConcurrency: 1 });
    const t = tracked();
    const first = engine.rangeQuery(t.q, HEAVY, 2 * HOUR, 3 * HOUR, 300_000);
    const abort = new AbortController();
    const second = engine.rangeQuery(t.q, HEAVY, 2 * HOUR, 3 * HOUR, 300_000, { signal: abort.signal });
    const third = engine.instantQuery(t.q, "m", HOUR);
    await Bun.sleep(0);
    expect(engine.load()).toEqual({ running: 1, queued: 2 });
    abort.abort();
    expect(await second.catch((e: unknown) => e)).toBeInstanceOf(QueryCanceledError);
    expect(engine.load()).toEqual({ running: 1, queued: 1 });
    await first;
    await third;
    expect(engine.load()).toEqual({ running: 0, queued: 0 });
    // The cancelled query never opened a querier.
    expect(t.opened).toBe(2);
    expect(t.closed).toBe(2);
  }, 60_000);
});

describe("deadlines and cancellation", () => {
  test("the per-query timeout stops evaluation within 100 ms of the deadline and closes the querier", async () => {
    const engine = new Engine({ timeout: 60_000 });
    const t = tracked();
    const t0 = performance.now();
    const err = await engine.rangeQuery(t.q, HEAVY, 0, 3 * HOUR, 60_000, { timeout: 300 }).catch((e: unknown) => e);
    const took = performance.now() - t0;
    expect(err).toBeInstanceOf(QueryTimeoutError);
    expect((err as Error).message).toBe("query timed out in expression evaluation");
    expect(took).toBeGreaterThanOrEqual(299);
    expect(took).toBeLessThan(300 + 100 * SLACK);
    expect(t.closed).toBe(t.opened);
  }, 30_000);

  test("the engine's timeout wins over a larger per-query one", async () => {
    const engine = new Engine({ timeout: 200 });
    const t0 = performance.now();
    const err = await engine.rangeQuery(tracked().q, HEAVY, 0, 3 * HOUR, 60_000, { timeout: 60_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueryTimeoutError);
    expect(performance.now() - t0).toBeLessThan(200 + 100 * SLACK);
  }, 30_000);

  test("an aborted signal cancels a running query at once", async () => {
    const engine = new Engine();
    const t = tracked();
    const abort = new AbortController();
    const pending = engine.rangeQuery(t.q, HEAVY, 0, 3 * HOUR, 60_000, { signal: abort.signal }).catch((e: unknown) => e);
    await pollUntil("the query to be running (series selected)", () => t.selects.length > 0);
    const t0 = performance.now();
    abort.abort();
    const err = await pending;
    expect(err).toBeInstanceOf(QueryCanceledError);
    expect(performance.now() - t0).toBeLessThan(100 * SLACK);
    expect(t.closed).toBe(1);
  }, 30_000);

  test("a select that rejects fails the query and still closes the querier", async () => {
    let closed = 0;
    const failing: QueryableFn = () => ({
      select: async () => {
        throw new Error("remote unreachable");
      },
      labelNames: async () => [],
      labelValues: async () => [],
      close: () => void closed++,
    });
    await expect(new Engine().instantQuery(failing, "sum(m)", HOUR)).rejects.toThrow("remote unreachable");
    expect(closed).toBe(1);
  });
});

describe("limits and per-query settings", () => {
  test("max samples gives Prometheus's error text", async () => {
    const err = await new Engine({ maxSamples: 100 }).instantQuery(tracked().q, "m[1h]", 2 * HOUR).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TooManySamplesError);
    expect((err as Error).message).toBe("query processing would load too many samples into memory in query execution");
  });

  test("lookback_delta replaces the engine's lookback for one query", async () => {
    const engine = new Engine();
    const at = 3 * HOUR + 10 * 60_000; // 10 minutes after the last sample
    const count = async (lookbackDelta?: number): Promise<number> => {
      const r = await engine.instantQuery(tracked().q, "m", at, { lookbackDelta });
      return r.value.type === "vector" ? r.value.samples.length : -1;
    };
    expect(await count()).toBe(0);
    expect(await count(11 * 60_000)).toBe(SERIES);
    expect(await count(9 * 60_000)).toBe(0);
  });

  test("a constant query opens no querier", async () => {
    const t = tracked();
    const r = await new Engine().rangeQuery(t.q, "time() + 42", 0, HOUR, 60_000);
    expect(r.value.type).toBe("matrix");
    expect(t.opened).toBe(0);
  });

  test("one querier per query covers every selector's range", async () => {
    const t = tracked();
    await new Engine().rangeQuery(t.q, "rate(m[5m] offset 1h) + on(i) m @ 600 + max_over_time(m[10m:1m])", 2 * HOUR, 3 * HOUR, 60_000);
    expect(t.opened).toBe(1);
    // The lowest read is `m @ 600` with its lookback.
    expect(t.ranges[0]).toEqual([600_000 - 300_000, 3 * HOUR]);
  });
});

describe("kernel step blocks", () => {
  test("a block of steps gives exactly that part of a whole run, in both kernel implementations", () => {
    const wasm = kernelWasm();
    expect(wasm).not.toBeNull();
    const n = 500;
    const t = new Float64Array(n), v = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      t[i] = i * 7_000 + (i % 3) * 500;
      v[i] = (i * 37) % 101;
    }
    const steps = 60;
    const refs = new Float64Array(steps);
    for (let i = 0; i < steps; i++) refs[i] = 300_000 + i * 55_000;
    const q = new Float64Array(steps).fill(0.3);
    for (const name of ["rate", "quantile_over_time", "deriv", "sum_over_time"]) {
      const params = name === "quantile_over_time" ? [q] : [];
      const batches = [new WasmKernelBatch(name, refs, 120_000, 1_000, 55_000, params, wasm!), new JsKernelBatch(name, refs, 120_000, 1_000, 55_000, params)];
      for (const b of batches) {
        const run = b.run(t, v);
        const whole = { values: [...run.values], present: [...run.present] };
        expect(whole.present.some((p) => p === 1)).toBe(true);
        for (const [first, count] of [[0, 7], [7, 20], [27, 33]] as const) {
          const part = b.run(t, v, first, count);
          expect([...part.present]).toEqual(whole.present.slice(first, first + count));
          expect([...part.values]).toEqual(whole.values.slice(first, first + count));
        }
        b.close();
      }
    }
  });
});

describe("selectedTimeRange", () => {
  const range = (q: string, start: number, end: number): [number, number] | null => selectedTimeRange(parseExpr(q), start, end, 300_000);
  test("selectors, ranges, offsets, @ and nested subqueries", () => {
    expect(range("42", 0, HOUR)).toBeNull();
    expect(range("up", HOUR, 2 * HOUR)).toEqual([HOUR - 300_000, 2 * HOUR]);
    expect(range("rate(up[10m])", HOUR, 2 * HOUR)).toEqual([HOUR - 600_000, 2 * HOUR]);
    expect(range("up offset 1h", 2 * HOUR, 3 * HOUR)).toEqual([HOUR - 300_000, 2 * HOUR]);
    expect(range("up offset -1h", HOUR, HOUR)).toEqual([2 * HOUR - 300_000, 2 * HOUR]);
    expect(range("up @ 60", HOUR, 2 * HOUR)).toEqual([60_000 - 300_000, 60_000]);
    expect(range("up @ start()", HOUR, 2 * HOUR)).toEqual([HOUR - 300_000, HOUR]);
    expect(range("max_over_time(rate(up[5m])[1h:1m] offset 1h)", 3 * HOUR, 4 * HOUR)).toEqual([HOUR - 300_000, 3 * HOUR]);
  });
});
