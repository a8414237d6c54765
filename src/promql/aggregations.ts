/**
 * PromQL aggregation operators over one evaluation step's vector: sum, avg,
 * count, min, max, group, stddev, stdvar, quantile, count_values, topk,
 * bottomk, limitk and limit_ratio, with Prometheus 3's float behaviour
 * (compensated sums, incremental mean on overflow, Welford variance).
 * The common ones also run over every step of a range at once
 * (aggregateOverSteps, topBottomKOverSteps): groups are found once per
 * series and accumulated in typed arrays, giving the same results as
 * aggregate() step by step.
 *
 * @example
 * aggregate("sum", samples, { grouping: ["job"], without: false, param: NaN, stringParam: "", instant: true });
 */
import { labelsKey, METRIC_NAME, prometheusLabelsHash, type Label, type Labels } from "../model/index.ts";
import type { AggregateOp } from "./ast.ts";
import { formatFloatPlain, type Sample } from "./functions.ts";
import { kahanInc, quantileOf } from "./kernels.ts";

/** How to aggregate: the grouping clause and the evaluated parameter. */
export interface AggregateOptions {
  grouping: string[];
  without: boolean;
  /** The scalar parameter at this step (topk's k, quantile's φ, …); NaN when none. */
  param: number;
  /** count_values' label name. */
  stringParam: string;
  /** Whether this is the only step of an instant query (topk/bottomk then order their output). */
  instant: boolean;
  /**
   * Memo of group keys per input label set, shared by all steps of one
   * aggregation (the grouping never changes between steps).
   */
  groupCache?: WeakMap<Labels, GroupKey>;
}

/** A group's identity and output labels. */
export interface GroupKey {
  key: string;
  metric: Labels;
}

interface Group {
  metric: Labels;
  count: number;
  value: number;
  comp: Float64Array;
  mean: number;
  meanComp: Float64Array;
  incrementalMean: boolean;
  values: number[];
  /** Whether any member's name is to be dropped; only matters when the output keeps __name__ (by (__name__)). */
  dropName: boolean;
}

/** The output label set of a group for by/without. */
function groupLabels(metric: Labels, grouping: string[], without: boolean): Labels {
  if (without) return metric.filter((l) => l.name !== METRIC_NAME && !grouping.includes(l.name));
  return metric.filter((l) => grouping.includes(l.name));
}

function groupingKey(s: Sample, opts: AggregateOptions): GroupKey {
  const cache = opts.groupCache;
  const hit = cache?.get(s.metric);
  if (hit) return hit;
  const ls = groupLabels(s.metric, opts.grouping, opts.without);
  const gk = { key: labelsKey(ls), metric: ls };
  cache?.set(s.metric, gk);
  return gk;
}

/**
 * Aggregates one step's samples. Errors (bad count_values label) are thrown
 * as Error with Prometheus's message; the caller adds no position.
 */
export function aggregate(op: AggregateOp, input: Sample[], opts: AggregateOptions): Sample[] {
  switch (op) {
    case "topk":
    case "bottomk":
      return topBottomK(op, input, opts);
    case "limitk":
      return limitK(input, opts);
    case "limit_ratio":
      return limitRatio(input, opts);
    case "count_values":
      return countValues(input, opts);
    default:
      return simpleAggregate(op, input, opts);
  }
}

function simpleAggregate(op: AggregateOp, input: Sample[], opts: AggregateOptions): Sample[] {
  const groups = new Map<string, Group>();
  const order: Group[] = [];
  for (const s of input) {
    const { key, metric } = groupingKey(s, opts);
    const f = s.f;
    let g = groups.get(key);
    if (!g) {
      g = {
        metric,
        count: 1,
        value: f,
        comp: new Float64Array(1),
        mean: f,
        meanComp: new Float64Array(1),
        incrementalMean: false,
        values: [f],
        dropName: s.dropName,
      };
      if (op === "stddev" || op === "stdvar") g.value = Number.isFinite(f) ? 0 : NaN;
      if (op === "group") g.value = 1;
      groups.set(key, g);
      order.push(g);
      continue;
    }
    if (s.dropName) g.dropName = true;
    switch (op) {
      case "sum":
        g.value = kahanInc(f, g.value, g.comp);
        break;
      case "avg": {
        g.count++;
        if (!g.incrementalMean) {
          const saved = g.comp[0]!;
          const newSum = kahanInc(f, g.value, g.comp);
          if (newSum !== Infinity && newSum !== -Infinity) {
            g.value = newSum;
            break;
          }
          g.comp[0] = saved;
          g.incrementalMean = true;
          g.mean = g.value / (g.count - 1);
          g.comp[0] = g.comp[0]! / (g.count - 1);
        }
        const q = (g.count - 1) / g.count;
        g.comp[0] = q * g.comp[0]!;
        g.mean = kahanInc(f / g.count, q * g.mean, g.comp);
        break;
      }
      case "count":
        g.count++;
        break;
      case "group":
        break;
      case "max":
        if (g.value < f || Number.isNaN(g.value)) g.value = f;
        break;
      case "min":
        if (g.value > f || Number.isNaN(g.value)) g.value = f;
        break;
      case "stddev":
      case "stdvar": {
        g.count++;
        const delta = f - (g.mean + g.meanComp[0]!);
        g.mean = kahanInc(delta / g.count, g.mean, g.meanComp);
        g.value = kahanInc(delta * (f - (g.mean + g.meanComp[0]!)), g.value, g.comp);
        break;
      }
      case "quantile":
        g.values.push(f);
        break;
      default:
        throw new Error(`unknown aggregation ${op}`);
    }
  }
  const out: Sample[] = [];
  for (const g of order) {
    let v: number;
    switch (op) {
      case "sum":
        v = g.value === Infinity || g.value === -Infinity ? g.value : g.value + g.comp[0]!;
        break;
      case "avg":
        v = g.incrementalMean ? g.mean + g.comp[0]! : g.value / g.count + g.comp[0]! / g.count;
        break;
      case "count":
        v = g.count;
        break;
      case "stdvar":
        v = (g.value + g.comp[0]!) / g.count;
        break;
      case "stddev":
        v = Math.sqrt((g.value + g.comp[0]!) / g.count);
        break;
      case "quantile":
        v = quantileOf(opts.param, g.values);
        break;
      default:
        v = g.value;
    }
    out.push({ metric: g.metric, f: v, t: 0, dropName: g.dropName });
  }
  return out;
}

function kFromParam(param: number): number {
  if (Number.isNaN(param)) throw new Error("Parameter value is NaN");
  if (param >= 9.223372036854776e18) return Number.MAX_SAFE_INTEGER;
  if (param <= -9.223372036854776e18) return 0;
  return Math.trunc(param);
}

function groupMembers(input: Sample[], opts: AggregateOptions): Sample[][] {
  const groups = new Map<string, Sample[]>();
  const order: Sample[][] = [];
  for (const s of input) {
    const { key } = groupingKey(s, opts);
    let g = groups.get(key);
    if (!g) {
      g = [];
      groups.set(key, g);
      order.push(g);
    }
    g.push(s);
  }
  return order;
}

/** Orders so that "better" comes first: for topk larger values, NaN always last. */
function rankCompare(top: boolean): (a: Sample, b: Sample) => number {
  return (a, b) => {
    const an = Number.isNaN(a.f), bn = Number.isNaN(b.f);
    if (an || bn) return an === bn ? 0 : an ? 1 : -1;
    return top ? b.f - a.f : a.f - b.f;
  };
}

function topBottomK(op: "topk" | "bottomk", input: Sample[], opts: AggregateOptions): Sample[] {
  const k = kFromParam(opts.param);
  if (k < 1) return [];
  const top = op === "topk";
  const cmp = rankCompare(top);
  const out: Sample[] = [];
  for (const members of groupMembers(input, opts)) {
    const cap = Math.min(k, members.length);
    const values = new Float64Array(cap), ids = new Int32Array(cap);
    let n = 0;
    for (let j = 0; j < members.length; j++) n = offerToKHeap(values, ids, 0, n, cap, members[j]!.f, j, top);
    const chosen = Array.from(ids.subarray(0, n), (j) => members[j]!);
    if (!opts.instant) {
      const keep = new Set(chosen);
      for (const m of members) if (keep.has(m)) out.push(m);
    } else out.push(...chosen.sort(cmp));
  }
  return out;
}

/**
 * Go's container/heap order for topk's (top) or bottomk's k-heap: the root
 * is the member to evict next, the smallest for topk; a NaN is always
 * "less", so it is evicted first.
 */
function kHeapLess(a: number, b: number, top: boolean): boolean {
  if (a !== a) return true;
  return top ? a < b : a > b;
}

function kHeapSwap(values: Float64Array, ids: Int32Array, i: number, j: number): void {
  const v = values[i]!, id = ids[i]!;
  values[i] = values[j]!;
  ids[i] = ids[j]!;
  values[j] = v;
  ids[j] = id;
}

/**
 * Offers sample `id` with value `f` to the k-heap in slots [base, base + n)
 * of `values`/`ids` holding at most `cap`, exactly as Prometheus 3's topk
 * and bottomk do (push while not full, else overwrite the root when `f`
 * ranks strictly better, then heap.Fix), so that among tied values the same
 * series are kept. Returns the new size.
 */
function offerToKHeap(values: Float64Array, ids: Int32Array, base: number, n: number, cap: number, f: number, id: number, top: boolean): number {
  if (n < cap) {
    values[base + n] = f;
    ids[base + n] = id;
    let j = n;
    while (j > 0) {
      const parent = (j - 1) >> 1;
      if (!kHeapLess(values[base + j]!, values[base + parent]!, top)) break;
      kHeapSwap(values, ids, base + parent, base + j);
      j = parent;
    }
    return n + 1;
  }
  const root = values[base]!;
  const better = (top ? root < f : root > f) || (root !== root && f === f);
  if (!better) return n;
  values[base] = f;
  ids[base] = id;
  if (cap > 1) {
    // heap.Fix(0): sift down (moving up from the root is never needed).
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      let child = left;
      if (left + 1 < n && kHeapLess(values[base + left + 1]!, values[base + left]!, top)) child = left + 1;
      if (!kHeapLess(values[base + child]!, values[base + i]!, top)) break;
      kHeapSwap(values, ids, base + i, base + child);
      i = child;
    }
  }
  return n;
}

function limitK(input: Sample[], opts: AggregateOptions): Sample[] {
  const k = kFromParam(opts.param);
  if (k < 1) return [];
  const out: Sample[] = [];
  for (const members of groupMembers(input, opts)) out.push(...members.slice(0, k));
  return out;
}

/** The position of a series in [0, 1] used by limit_ratio: its label hash over the uint64 range, as Prometheus. */
export function ratioOffset(metric: Labels): number {
  return Number(prometheusLabelsHash(metric)) / 18446744073709551615;
}

function limitRatio(input: Sample[], opts: AggregateOptions): Sample[] {
  const ratio = opts.param;
  if (Number.isNaN(ratio)) throw new Error("Ratio value is NaN");
  const r = Math.max(-1, Math.min(1, ratio));
  const out: Sample[] = [];
  for (const s of input) {
    const offset = ratioOffset(s.metric);
    const keep = r >= 0 ? offset < r : offset >= 1 + r;
    if (keep) out.push(s);
  }
  return out;
}

function countValues(input: Sample[], opts: AggregateOptions): Sample[] {
  const name = opts.stringParam;
  const counts = new Map<string, { metric: Labels; count: number; dropName: boolean }>();
  const order: { metric: Labels; count: number; dropName: boolean }[] = [];
  for (const s of input) {
    const valueStr = formatFloatPlain(s.f);
    const base = groupLabels(s.metric, opts.grouping, opts.without).filter((l) => l.name !== name);
    // `without` listing the value label removes it again, as in Prometheus: the label is set before grouping.
    const dropValueLabel = opts.without && opts.grouping.includes(name);
    const ls: Label[] = dropValueLabel ? base : [...base, { name, value: valueStr }].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const key = labelsKey(ls);
    let c = counts.get(key);
    if (!c) {
      c = { metric: ls, count: 0, dropName: false };
      counts.set(key, c);
      order.push(c);
    }
    c.count++;
    if (s.dropName) c.dropName = true;
  }
  return order.map((c) => ({ metric: c.metric, f: c.count, t: 0, dropName: c.dropName }));
}

/** True when `name` may be used as count_values' output label. */
export function isValidLabelName(name: string): boolean {
  return name.length > 0 && isWellFormedUTF16(name);
}

function isWellFormedUTF16(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return !s.includes("\ufffd");
}

/**
 * One series as the engine holds it over a range query: points at step
 * times `ts` (ascending, each a step of the grid) with values `fs`.
 */
export interface StepSeries {
  metric: Labels;
  ts: number[];
  fs: number[];
  dropName: boolean;
}

/** The evaluation steps of a query: `numSteps` times start, start + interval, …. */
export interface StepGrid {
  start: number;
  interval: number;
  numSteps: number;
}

/** Called after each step with the number of output points it produced (deadline checks, sample limits). */
export type StepHook = (points: number) => void;

/** The aggregation operators aggregateOverSteps computes, numbered for the inner loop of AggregationCells. */
const CELL_OPS: Readonly<Partial<Record<AggregateOp, number>>> = { sum: 0, avg: 1, count: 2, min: 3, max: 4, group: 5, stddev: 6, stdvar: 7, quantile: 8 };

/** True when `op` can be evaluated by aggregateOverSteps. */
export function isStepwiseAggregation(op: AggregateOp): boolean {
  return CELL_OPS[op] !== undefined;
}

/**
 * Assigns every input series its group once: `groupOf[j]` indexes
 * `metrics`, which holds the output label sets in order of first sight.
 */
function assignGroups(input: readonly StepSeries[], grouping: string[], without: boolean): { groupOf: Int32Array; metrics: Labels[] } {
  const groupOf = new Int32Array(input.length);
  const metrics: Labels[] = [];
  const byKey = new Map<string, number>();
  for (let j = 0; j < input.length; j++) {
    const ls = groupLabels(input[j]!.metric, grouping, without);
    const key = labelsKey(ls);
    let g = byKey.get(key);
    if (g === undefined) {
      g = metrics.length;
      byKey.set(key, g);
      metrics.push(ls);
    }
    groupOf[j] = g;
  }
  return { groupOf, metrics };
}

/** How many (group, step) cells aggregateOverSteps accumulates at once; bounds its memory. */
const CELLS_PER_BLOCK = 1 << 16;

/**
 * Neumaier-compensated addition (kahanInc) of `inc` into the sum held in
 * `sum[c]` with its compensation in `comp[c]`.
 */
function kahanAddAt(inc: number, sum: Float64Array, comp: Float64Array, c: number): void {
  const s = sum[c]!;
  const t = s + inc;
  if (t === Infinity || t === -Infinity) comp[c] = 0;
  else if (Math.abs(s) >= Math.abs(inc)) comp[c] = comp[c]! + (s - t + inc);
  else comp[c] = comp[c]! + (inc - t + s);
  sum[c] = t;
}

/** Per-(group, step) accumulators of one block of steps, as simpleAggregate keeps per group. */
class AggregationCells {
  private readonly kind: number;
  readonly value: Float64Array;
  readonly comp: Float64Array;
  readonly count: Float64Array;
  readonly mean: Float64Array;
  readonly meanComp: Float64Array;
  readonly incrementalMean: Uint8Array;
  readonly dropName: Uint8Array;
  /** The first input series that reached the cell, or -1 while it is empty. */
  readonly firstSeries: Int32Array;
  /** quantile only: each cell's values in input order. */
  private readonly values: number[][];

  /** `kind` is the op's number in CELL_OPS. */
  constructor(kind: number, size: number) {
    this.kind = kind;
    this.value = new Float64Array(size);
    this.comp = new Float64Array(size);
    this.count = new Float64Array(size);
    this.mean = new Float64Array(size);
    this.meanComp = new Float64Array(size);
    this.incrementalMean = new Uint8Array(size);
    this.dropName = new Uint8Array(size);
    this.firstSeries = new Int32Array(size).fill(-1);
    this.values = kind === 8 ? new Array<number[]>(size) : [];
  }

  /**
   * Adds the points `ts[p..]`, `fs[p..]` of input series `j` up to
   * `lastTime` to the cells `rowBase + step index`, exactly as
   * simpleAggregate adds samples to a group; returns the index of the
   * first point left.
   */
  addPoints(ts: number[], fs: number[], p: number, lastTime: number, rowBase: number, grid: StepGrid, j: number, dropName: boolean): number {
    const kind = this.kind;
    const { value, comp, count, mean, meanComp, incrementalMean, firstSeries } = this;
    for (; p < ts.length && ts[p]! <= lastTime; p++) {
      const c = rowBase + Math.round((ts[p]! - grid.start) / grid.interval);
      const f = fs[p]!;
      if (firstSeries[c] === -1) {
        firstSeries[c] = j;
        count[c] = 1;
        value[c] = kind === 6 || kind === 7 ? (Number.isFinite(f) ? 0 : NaN) : kind === 5 ? 1 : f;
        comp[c] = 0;
        mean[c] = f;
        meanComp[c] = 0;
        incrementalMean[c] = 0;
        this.dropName[c] = dropName ? 1 : 0;
        if (kind === 8) this.values[c] = [f];
        continue;
      }
      if (dropName) this.dropName[c] = 1;
      switch (kind) {
        case 0:
          kahanAddAt(f, value, comp, c);
          break;
        case 1: {
          const n = ++count[c]!;
          if (incrementalMean[c] === 0) {
            const sum = value[c]!, saved = comp[c]!;
            kahanAddAt(f, value, comp, c);
            const newSum = value[c]!;
            if (newSum !== Infinity && newSum !== -Infinity) break;
            value[c] = sum;
            incrementalMean[c] = 1;
            mean[c] = sum / (n - 1);
            comp[c] = saved / (n - 1);
          }
          const q = (n - 1) / n;
          comp[c] = q * comp[c]!;
          mean[c] = q * mean[c]!;
          kahanAddAt(f / n, mean, comp, c);
          break;
        }
        case 2:
          count[c]!++;
          break;
        case 3:
          if (value[c]! > f || Number.isNaN(value[c]!)) value[c] = f;
          break;
        case 4:
          if (value[c]! < f || Number.isNaN(value[c]!)) value[c] = f;
          break;
        case 6:
        case 7: {
          const n = ++count[c]!;
          const delta = f - (mean[c]! + meanComp[c]!);
          kahanAddAt(delta / n, mean, meanComp, c);
          kahanAddAt(delta * (f - (mean[c]! + meanComp[c]!)), value, comp, c);
          break;
        }
        case 8:
          this.values[c]!.push(f);
          break;
        default:
          break;
      }
    }
    return p;
  }

  /** The aggregated value of a non-empty cell; `param` is the step's parameter (quantile's φ). */
  result(c: number, param: number): number {
    const value = this.value[c]!, comp = this.comp[c]!, count = this.count[c]!;
    switch (this.kind) {
      case 0:
        return value === Infinity || value === -Infinity ? value : value + comp;
      case 1:
        return this.incrementalMean[c] === 1 ? this.mean[c]! + comp : value / count + comp / count;
      case 2:
        return count;
      case 6:
        return Math.sqrt((value + comp) / count);
      case 7:
        return (value + comp) / count;
      case 8:
        return quantileOf(param, this.values[c]!);
      default:
        return value;
    }
  }
}

/**
 * sum, avg, count, min, max, group, stddev, stdvar and quantile (φ per step
 * in `params`) over every step of a range at once: each input series' group is found once, then blocks of
 * steps are accumulated series by series into per-(group, step) typed
 * arrays, with no objects per sample. Each (group, step) still sees its
 * members in input order, so the result is exactly what aggregating each
 * step's vector with aggregate() gives, with the output series in order
 * of first appearance (step by step) and each taking the `dropName` of
 * its last step.
 *
 * @example
 * aggregateOverSteps("sum", series, { start: 0, interval: 60_000, numSteps: 10 }, ["job"], false, () => {});
 */
export function aggregateOverSteps(
  op: AggregateOp,
  input: readonly StepSeries[],
  grid: StepGrid,
  grouping: string[],
  without: boolean,
  onStep: StepHook,
  params: Float64Array | null = null,
): StepSeries[] {
  return driveSteps(aggregationSteps(op, input, grid, grouping, without, params), onStep);
}

/**
 * Progress of a stepwise aggregation: after each step it yields the number
 * of output points the step produced (>= 0); during long scans it yields
 * `-n` for n units of work done without output, so a driver can pause.
 */
export type AggregationSteps = Generator<number, StepSeries[], undefined>;

/** Runs stepwise aggregation to its end, reporting each step's points to `onStep`. */
function driveSteps(steps: AggregationSteps, onStep: StepHook): StepSeries[] {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (r.value >= 0) onStep(r.value);
  }
}

/** Series scanned between progress reports of a block scan. */
const SCAN_REPORT = 64;

/** {@link aggregateOverSteps} as a stepwise computation (see AggregationSteps). */
export function* aggregationSteps(
  op: AggregateOp,
  input: readonly StepSeries[],
  grid: StepGrid,
  grouping: string[],
  without: boolean,
  params: Float64Array | null = null,
): AggregationSteps {
  const kind = CELL_OPS[op];
  if (kind === undefined) throw new Error(`aggregateOverSteps: unsupported aggregation ${op}`);
  const { groupOf, metrics } = assignGroups(input, grouping, without);
  const groups = metrics.length;
  if (groups === 0) {
    for (let i = 0; i < grid.numSteps; i++) yield 0;
    return [];
  }
  const blockSteps = Math.max(1, Math.min(grid.numSteps, Math.floor(CELLS_PER_BLOCK / groups)));
  const cells = new AggregationCells(kind, groups * blockSteps);
  const outOf: (StepSeries | undefined)[] = new Array(groups);
  const order: StepSeries[] = [];
  const appearing: number[] = [];
  const pos = new Int32Array(input.length);
  for (let first = 0; first < grid.numSteps; first += blockSteps) {
    const steps = Math.min(blockSteps, grid.numSteps - first);
    const lastTime = grid.start + (first + steps - 1) * grid.interval;
    cells.firstSeries.fill(-1);
    for (let j = 0; j < input.length; j++) {
      const s = input[j]!;
      pos[j] = cells.addPoints(s.ts, s.fs, pos[j]!, lastTime, groupOf[j]! * blockSteps - first, grid, j, s.dropName);
      if (j % SCAN_REPORT === SCAN_REPORT - 1) yield -SCAN_REPORT * steps;
    }
    for (let k = 0; k < steps; k++) {
      const t = grid.start + (first + k) * grid.interval;
      let points = 0;
      appearing.length = 0;
      for (let g = 0; g < groups; g++) {
        const c = g * blockSteps + k;
        if (cells.firstSeries[c] === -1) continue;
        points++;
        if (outOf[g] === undefined) appearing.push(g);
      }
      // Groups new at this step are created in the order their first member comes in the input.
      appearing.sort((a, b) => cells.firstSeries[a * blockSteps + k]! - cells.firstSeries[b * blockSteps + k]!);
      for (const g of appearing) {
        const out: StepSeries = { metric: metrics[g]!, ts: [], fs: [], dropName: false };
        outOf[g] = out;
        order.push(out);
      }
      for (let g = 0; g < groups; g++) {
        const c = g * blockSteps + k;
        if (cells.firstSeries[c] === -1) continue;
        const out = outOf[g]!;
        out.ts.push(t);
        out.fs.push(cells.result(c, params ? params[first + k]! : NaN));
        out.dropName = cells.dropName[c] === 1;
      }
      yield points;
    }
  }
  return order;
}

/**
 * topk/bottomk over every step of a range query: blocks of steps are
 * scanned series by series, each (group, step) keeping its k best members
 * in a k-heap in typed arrays (offerToKHeap: the members Prometheus keeps,
 * ties included), with no objects
 * per sample. The output series are the chosen input series, in the order
 * per-step aggregate() results collected step by step would give (groups
 * by first member, members in input order). `keyOf` is the label-set key
 * of a series; two chosen series with the same key at one step are an
 * error, as for any vector. A NaN k is an error at its step.
 *
 * @example
 * topBottomKOverSteps("topk", series, grid, [], false, ks, keyOf, () => {});
 */
export function topBottomKOverSteps(
  op: "topk" | "bottomk",
  input: readonly StepSeries[],
  grid: StepGrid,
  grouping: string[],
  without: boolean,
  ks: Float64Array,
  keyOf: (metric: Labels) => string,
  onStep: StepHook,
): StepSeries[] {
  return driveSteps(topBottomKSteps(op, input, grid, grouping, without, ks, keyOf), onStep);
}

/** {@link topBottomKOverSteps} as a stepwise computation (see AggregationSteps). */
export function* topBottomKSteps(
  op: "topk" | "bottomk",
  input: readonly StepSeries[],
  grid: StepGrid,
  grouping: string[],
  without: boolean,
  ks: Float64Array,
  keyOf: (metric: Labels) => string,
): AggregationSteps {
  const top = op === "topk";
  const { groupOf, metrics } = assignGroups(input, grouping, without);
  const groups = metrics.length;
  // k per step; NaN marks a NaN parameter, reported when its step is reached.
  const kAt = new Float64Array(grid.numSteps);
  let kMax = 0;
  for (let i = 0; i < grid.numSteps; i++) {
    const k = Number.isNaN(ks[i]!) ? NaN : kFromParam(ks[i]!);
    kAt[i] = k;
    if (k > kMax) kMax = k;
  }
  const members = new Int32Array(groups);
  for (let j = 0; j < input.length; j++) members[groupOf[j]!]!++;
  // Group g keeps its chosen members of a step at [capOffset[g], capOffset[g + 1]) of that step's slots.
  const capOffset = new Int32Array(groups + 1);
  for (let g = 0; g < groups; g++) capOffset[g + 1] = capOffset[g]! + Math.min(kMax, members[g]!);
  const slotsPerStep = capOffset[groups]!;
  const blockSteps = Math.max(1, Math.min(grid.numSteps, Math.floor(CELLS_PER_BLOCK / Math.max(1, slotsPerStep, groups))));
  const chosenSeries = new Int32Array(blockSteps * slotsPerStep), chosenValue = new Float64Array(blockSteps * slotsPerStep);
  const chosenCount = new Int32Array(blockSteps * groups), firstMember = new Int32Array(blockSteps * groups);
  const pos = new Int32Array(input.length);
  const byKey = new Map<string, StepSeries>();
  const order: StepSeries[] = [];
  const appearing: number[] = [];
  const picked: number[] = [];
  for (let first = 0; first < grid.numSteps; first += blockSteps) {
    const steps = Math.min(blockSteps, grid.numSteps - first);
    const lastTime = grid.start + (first + steps - 1) * grid.interval;
    firstMember.fill(-1);
    chosenCount.fill(0);
    for (let j = 0; j < input.length; j++) {
      const s = input[j]!, ts = s.ts, fs = s.fs;
      const g = groupOf[j]!;
      const groupCap = capOffset[g + 1]! - capOffset[g]!;
      let p = pos[j]!;
      for (; p < ts.length && ts[p]! <= lastTime; p++) {
        const i = Math.round((ts[p]! - grid.start) / grid.interval);
        const cell = (i - first) * groups + g;
        if (firstMember[cell] === -1) firstMember[cell] = j;
        const k = kAt[i]!;
        if (!(k >= 1)) continue;
        const cap = Math.min(k, groupCap);
        const base = (i - first) * slotsPerStep + capOffset[g]!;
        chosenCount[cell] = offerToKHeap(chosenValue, chosenSeries, base, chosenCount[cell]!, cap, fs[p]!, j, top);
      }
      pos[j] = p;
      if (j % SCAN_REPORT === SCAN_REPORT - 1) yield -SCAN_REPORT * steps;
    }
    for (let step = 0; step < steps; step++) {
      const i = first + step;
      if (Number.isNaN(kAt[i]!)) throw new Error("Parameter value is NaN");
      const t = grid.start + i * grid.interval;
      appearing.length = 0;
      for (let g = 0; g < groups; g++) if (chosenCount[step * groups + g]! > 0) appearing.push(g);
      appearing.sort((a, b) => firstMember[step * groups + a]! - firstMember[step * groups + b]!);
      let points = 0;
      for (const g of appearing) {
        const base = step * slotsPerStep + capOffset[g]!;
        picked.length = 0;
        for (let q = 0; q < chosenCount[step * groups + g]!; q++) picked.push(base + q);
        picked.sort((a, b) => chosenSeries[a]! - chosenSeries[b]!);
        for (const slot of picked) {
          const s = input[chosenSeries[slot]!]!;
          const key = keyOf(s.metric);
          let out = byKey.get(key);
          if (out === undefined) {
            out = { metric: s.metric, ts: [], fs: [], dropName: s.dropName };
            byKey.set(key, out);
            order.push(out);
          } else if (out.ts.length > 0 && out.ts[out.ts.length - 1] === t) {
            throw new Error("vector cannot contain metrics with the same labelset");
          }
          out.ts.push(t);
          out.fs.push(chosenValue[slot]!);
          out.dropName = s.dropName;
          points++;
        }
      }
      yield points;
    }
  }
  return order;
}
