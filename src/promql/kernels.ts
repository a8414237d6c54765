/**
 * Range-function kernels: each computes one output value from a window of
 * samples `[lo, hi)` of parallel Float64Arrays (`t` in ms, `v` floats), with
 * no per-sample objects. The window never contains staleness markers and is
 * never empty. A kernel returns `null` when Prometheus drops the series at
 * this step (e.g. `rate` over fewer than two samples).
 *
 * @example
 * const t = new Float64Array([0, 60000]), v = new Float64Array([0, 60]);
 * rateKernel(t, v, 0, 2, { rangeStart: 0, rangeEnd: 60000, evalT: 60000, params: [] }); // 1
 */
import { wasmExports } from "../tsdb/index.ts";

/** The per-step context of a window: the range bounds (ms) and scalar parameters. */
export interface WindowContext {
  /** Exclusive lower bound of the selection window (ms). */
  rangeStart: number;
  /** Inclusive upper bound of the selection window (ms). */
  rangeEnd: number;
  /** The evaluation time of this step (ms), before offset/@ adjustments. */
  evalT: number;
  /** Scalar arguments other than the range vector, in argument order. */
  params: number[];
}

/** A range-function kernel over `t[lo..hi)`, `v[lo..hi)`. */
export type RangeKernel = (t: Float64Array, v: Float64Array, lo: number, hi: number, ctx: WindowContext) => number | null;

/**
 * Neumaier-compensated addition, as Prometheus's kahansum.Inc: returns the new
 * sum and writes the new compensation into `comp[0]`.
 */
export function kahanInc(inc: number, sum: number, comp: Float64Array): number {
  const t = sum + inc;
  if (t === Infinity || t === -Infinity) comp[0] = 0;
  else if (Math.abs(sum) >= Math.abs(inc)) comp[0] += sum - t + inc;
  else comp[0] += inc - t + sum;
  return t;
}

const scratch = new Float64Array(1);

function extrapolatedRate(t: Float64Array, v: Float64Array, lo: number, hi: number, ctx: WindowContext, isCounter: boolean, isRate: boolean): number | null {
  const n = hi - lo;
  if (n < 2) return null;
  const firstT = t[lo]!, lastT = t[hi - 1]!;
  let result = v[hi - 1]! - v[lo]!;
  if (isCounter) {
    for (let i = lo + 1; i < hi; i++) if (v[i]! < v[i - 1]!) result += v[i - 1]!;
  }
  let durationToStart = (firstT - ctx.rangeStart) / 1000;
  let durationToEnd = (ctx.rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (n - 1);
  const extrapolationThreshold = averageDurationBetweenSamples * 1.1;
  if (durationToStart >= extrapolationThreshold) durationToStart = averageDurationBetweenSamples / 2;
  if (isCounter) {
    let durationToZero = durationToStart;
    if (result > 0 && v[lo]! >= 0) durationToZero = sampledInterval * (v[lo]! / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= extrapolationThreshold) durationToEnd = averageDurationBetweenSamples / 2;
  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= (ctx.rangeEnd - ctx.rangeStart) / 1000;
  return result * factor;
}

/** rate(): per-second increase, counter resets corrected, extrapolated to the window edges. */
export const rateKernel: RangeKernel = (t, v, lo, hi, ctx) => extrapolatedRate(t, v, lo, hi, ctx, true, true);
/** increase(): like rate() but not divided by the range. */
export const increaseKernel: RangeKernel = (t, v, lo, hi, ctx) => extrapolatedRate(t, v, lo, hi, ctx, true, false);
/** delta(): extrapolated difference for gauges (no reset handling). */
export const deltaKernel: RangeKernel = (t, v, lo, hi, ctx) => extrapolatedRate(t, v, lo, hi, ctx, false, false);

function instantValue(t: Float64Array, v: Float64Array, lo: number, hi: number, isRate: boolean): number | null {
  if (hi - lo < 2) return null;
  const t0 = t[hi - 2]!, t1 = t[hi - 1]!, v0 = v[hi - 2]!, v1 = v[hi - 1]!;
  const interval = t1 - t0;
  if (interval === 0) return null;
  let result = v1;
  if (!isRate || !(v1 < v0)) result = v1 - v0;
  if (isRate) result /= interval / 1000;
  return result;
}

/** irate(): per-second rate between the last two samples. */
export const irateKernel: RangeKernel = (t, v, lo, hi) => instantValue(t, v, lo, hi, true);
/** idelta(): difference between the last two samples. */
export const ideltaKernel: RangeKernel = (t, v, lo, hi) => instantValue(t, v, lo, hi, false);

/** Least-squares slope and intercept (at `interceptTime`, ms) with compensated sums. */
function linearRegression(t: Float64Array, v: Float64Array, lo: number, hi: number, interceptTime: number): [number, number] {
  let n = 0, sumX = 0, sumY = 0, sumXY = 0, sumX2 = 0;
  const cX = new Float64Array(1), cY = new Float64Array(1), cXY = new Float64Array(1), cX2 = new Float64Array(1);
  const initY = v[lo]!;
  let constY = true;
  for (let i = lo; i < hi; i++) {
    const y = v[i]!;
    if (constY && i > lo && y !== initY) constY = false;
    n += 1;
    const x = (t[i]! - interceptTime) / 1e3;
    sumX = kahanInc(x, sumX, cX);
    sumY = kahanInc(y, sumY, cY);
    sumXY = kahanInc(x * y, sumXY, cXY);
    sumX2 = kahanInc(x * x, sumX2, cX2);
  }
  if (constY) {
    if (initY === Infinity || initY === -Infinity) return [NaN, NaN];
    return [0, initY];
  }
  sumX += cX[0]!;
  sumY += cY[0]!;
  sumXY += cXY[0]!;
  sumX2 += cX2[0]!;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  return [slope, sumY / n - (slope * sumX) / n];
}

/** deriv(): per-second slope of a least-squares fit. */
export const derivKernel: RangeKernel = (t, v, lo, hi) => {
  if (hi - lo < 2) return null;
  return linearRegression(t, v, lo, hi, t[lo]!)[0];
};

/** predict_linear(v, s): the fitted value `s` seconds after the evaluation time. */
export const predictLinearKernel: RangeKernel = (t, v, lo, hi, ctx) => {
  if (hi - lo < 2) return null;
  const [slope, intercept] = linearRegression(t, v, lo, hi, ctx.evalT);
  return slope * ctx.params[0]! + intercept;
};

/** changes(): how often the value changed (NaN to NaN is no change). */
export const changesKernel: RangeKernel = (_t, v, lo, hi) => {
  let changes = 0;
  for (let i = lo + 1; i < hi; i++) {
    const a = v[i - 1]!, b = v[i]!;
    if (a !== b && !(Number.isNaN(a) && Number.isNaN(b))) changes++;
  }
  return changes;
};

/** resets(): how often the value decreased. */
export const resetsKernel: RangeKernel = (_t, v, lo, hi) => {
  let resets = 0;
  for (let i = lo + 1; i < hi; i++) if (v[i]! < v[i - 1]!) resets++;
  return resets;
};

/** sum_over_time() with compensated summation. */
export const sumOverTimeKernel: RangeKernel = (_t, v, lo, hi) => {
  scratch[0] = 0;
  let sum = 0;
  for (let i = lo; i < hi; i++) sum = kahanInc(v[i]!, sum, scratch);
  if (sum === Infinity || sum === -Infinity) return sum;
  return sum + scratch[0]!;
};

/** avg_over_time(): direct compensated mean, switching to an incremental mean on overflow. */
export const avgOverTimeKernel: RangeKernel = (_t, v, lo, hi) => {
  let sum = v[lo]!, count = 1, mean = 0;
  let incremental = false;
  const c = new Float64Array(1);
  for (let i = lo + 1; i < hi; i++) {
    const f = v[i]!;
    count = i - lo + 1;
    if (!incremental) {
      const saved = c[0]!;
      const newSum = kahanInc(f, sum, c);
      if (newSum !== Infinity && newSum !== -Infinity) {
        sum = newSum;
        continue;
      }
      c[0] = saved;
      incremental = true;
      mean = sum / (count - 1);
      c[0] = c[0]! / (count - 1);
    }
    const q = (count - 1) / count;
    c[0] = q * c[0]!;
    mean = kahanInc(f / count, q * mean, c);
  }
  if (incremental) return mean + c[0]!;
  return sum / count + c[0]! / count;
};

/** count_over_time(). */
export const countOverTimeKernel: RangeKernel = (_t, _v, lo, hi) => hi - lo;
/** present_over_time(): 1 for any sample. */
export const presentOverTimeKernel: RangeKernel = () => 1;
/** last_over_time(). */
export const lastOverTimeKernel: RangeKernel = (_t, v, _lo, hi) => v[hi - 1]!;
/** first_over_time(). */
export const firstOverTimeKernel: RangeKernel = (_t, v, lo) => v[lo]!;
/** ts_of_last_over_time(): seconds. */
export const tsOfLastOverTimeKernel: RangeKernel = (t, _v, _lo, hi) => t[hi - 1]! / 1000;
/** ts_of_first_over_time(): seconds. */
export const tsOfFirstOverTimeKernel: RangeKernel = (t, _v, lo) => t[lo]! / 1000;

function compareOverTime(t: Float64Array, v: Float64Array, lo: number, hi: number, better: (cur: number, best: number) => boolean, returnTime: boolean): number {
  let best = v[lo]!, bestT = t[lo]!;
  for (let i = lo; i < hi; i++) {
    if (better(v[i]!, best)) {
      best = v[i]!;
      bestT = t[i]!;
    }
  }
  return returnTime ? bestT / 1000 : best;
}

/** max_over_time(): NaN only when all values are NaN. */
export const maxOverTimeKernel: RangeKernel = (t, v, lo, hi) => compareOverTime(t, v, lo, hi, (c, m) => c > m || Number.isNaN(m), false);
/** min_over_time(). */
export const minOverTimeKernel: RangeKernel = (t, v, lo, hi) => compareOverTime(t, v, lo, hi, (c, m) => c < m || Number.isNaN(m), false);
/** ts_of_max_over_time(): time (s) of the last maximum. */
export const tsOfMaxOverTimeKernel: RangeKernel = (t, v, lo, hi) => compareOverTime(t, v, lo, hi, (c, m) => c >= m || Number.isNaN(m), true);
/** ts_of_min_over_time(): time (s) of the last minimum. */
export const tsOfMinOverTimeKernel: RangeKernel = (t, v, lo, hi) => compareOverTime(t, v, lo, hi, (c, m) => c <= m || Number.isNaN(m), true);

function varianceOverTime(v: Float64Array, lo: number, hi: number): number {
  let count = 0, mean = 0, aux = 0;
  const cMean = new Float64Array(1), cAux = new Float64Array(1);
  for (let i = lo; i < hi; i++) {
    const f = v[i]!;
    count++;
    const delta = f - (mean + cMean[0]!);
    mean = kahanInc(delta / count, mean, cMean);
    aux = kahanInc(delta * (f - (mean + cMean[0]!)), aux, cAux);
  }
  return (aux + cAux[0]!) / count;
}

/** stdvar_over_time(): population variance (Welford, compensated). */
export const stdvarOverTimeKernel: RangeKernel = (_t, v, lo, hi) => varianceOverTime(v, lo, hi);
/** stddev_over_time(). */
export const stddevOverTimeKernel: RangeKernel = (_t, v, lo, hi) => Math.sqrt(varianceOverTime(v, lo, hi));

/**
 * The φ-quantile of `values` (sorted in place, NaN first) with linear
 * interpolation between closest ranks, as Prometheus's `quantile`.
 */
export function quantileOf(q: number, values: Float64Array | number[]): number {
  const n = values.length;
  if (n === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  sortNaNFirst(values);
  const rank = q * (n - 1);
  const lowerIndex = Math.max(0, Math.floor(rank));
  const upperIndex = Math.min(n - 1, lowerIndex + 1);
  const weight = rank - Math.floor(rank);
  return values[lowerIndex]! * (1 - weight) + values[upperIndex]! * weight;
}

function sortNaNFirst(values: Float64Array | number[]): void {
  const cmp = (a: number, b: number): number => {
    const an = Number.isNaN(a), bn = Number.isNaN(b);
    if (an || bn) return an === bn ? 0 : an ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  };
  if (values instanceof Float64Array) values.sort(cmp);
  else values.sort(cmp);
}

/** quantile_over_time(φ, v). */
export const quantileOverTimeKernel: RangeKernel = (_t, v, lo, hi, ctx) => quantileOf(ctx.params[0]!, v.slice(lo, hi));

/** mad_over_time(): median absolute deviation from the median. */
export const madOverTimeKernel: RangeKernel = (_t, v, lo, hi) => {
  for (let i = lo; i < hi; i++) if (Number.isNaN(v[i]!)) return NaN;
  const values = v.slice(lo, hi);
  const median = quantileOf(0.5, values.slice());
  for (let i = 0; i < values.length; i++) values[i] = Math.abs(values[i]! - median);
  return quantileOf(0.5, values);
};

/** double_exponential_smoothing(v, sf, tf): params are the already validated factors. */
export const doubleExponentialSmoothingKernel: RangeKernel = (_t, v, lo, hi, ctx) => {
  const sf = ctx.params[0]!, tf = ctx.params[1]!;
  if (hi - lo < 2) return null;
  let s0 = 0, s1 = v[lo]!, b = v[lo + 1]! - v[lo]!;
  for (let i = 1; i < hi - lo; i++) {
    const x = sf * v[lo + i]!;
    b = i - 1 === 0 ? b : tf * (s1 - s0) + (1 - tf) * b;
    const y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  return s1;
};

/** The kernels by PromQL function name. */
export const RANGE_KERNELS: Readonly<Record<string, RangeKernel>> = {
  rate: rateKernel,
  increase: increaseKernel,
  delta: deltaKernel,
  irate: irateKernel,
  idelta: ideltaKernel,
  deriv: derivKernel,
  predict_linear: predictLinearKernel,
  changes: changesKernel,
  resets: resetsKernel,
  sum_over_time: sumOverTimeKernel,
  avg_over_time: avgOverTimeKernel,
  count_over_time: countOverTimeKernel,
  present_over_time: presentOverTimeKernel,
  last_over_time: lastOverTimeKernel,
  first_over_time: firstOverTimeKernel,
  ts_of_last_over_time: tsOfLastOverTimeKernel,
  ts_of_first_over_time: tsOfFirstOverTimeKernel,
  max_over_time: maxOverTimeKernel,
  min_over_time: minOverTimeKernel,
  ts_of_max_over_time: tsOfMaxOverTimeKernel,
  ts_of_min_over_time: tsOfMinOverTimeKernel,
  stdvar_over_time: stdvarOverTimeKernel,
  stddev_over_time: stddevOverTimeKernel,
  quantile_over_time: quantileOverTimeKernel,
  mad_over_time: madOverTimeKernel,
  double_exponential_smoothing: doubleExponentialSmoothingKernel,
};

/** Runs one range function for one series over every step of a query. */
export interface KernelBatch {
  /**
   * Computes the function for one series' samples (no staleness markers) at
   * steps first..first+count-1 (default: every step); the output has `count` entries.
   */
  run(t: Float64Array, v: Float64Array, first?: number, count?: number): KernelOutput;
  /** Releases any memory held by the batch. */
  close(): void;
}

/**
 * The TypeScript kernels behind the KernelBatch interface: step i's window
 * is (refs[i] - range, refs[i]] and its evaluation time evalStart + i·evalStep.
 *
 * @example
 * const out = new JsKernelBatch("sum_over_time", refs, 60_000, 0, 1000, []).run(t, v);
 */
export class JsKernelBatch implements KernelBatch {
  private readonly kernel: RangeKernel;

  constructor(
    name: string,
    private readonly refs: Float64Array,
    private readonly range: number,
    private readonly evalStart: number,
    private readonly evalStep: number,
    private readonly params: Float64Array[],
  ) {
    const kernel = RANGE_KERNELS[name];
    if (!kernel) throw new Error(`no kernel for ${name}`);
    this.kernel = kernel;
  }

  run(t: Float64Array, v: Float64Array, first = 0, count = this.refs.length - first): KernelOutput {
    const steps = first + count;
    const values = new Float64Array(count), present = new Uint8Array(count);
    const ctx: WindowContext = { rangeStart: 0, rangeEnd: 0, evalT: 0, params: new Array(this.params.length) };
    let lo = 0, hi = 0;
    for (let i = first; i < steps; i++) {
      const ref = this.refs[i]!;
      const from = ref - this.range;
      if (i > first && ref < this.refs[i - 1]!) {
        lo = 0;
        hi = 0;
      }
      while (lo < t.length && t[lo]! <= from) lo++;
      if (hi < lo) hi = lo;
      while (hi < t.length && t[hi]! <= ref) hi++;
      if (hi <= lo) continue;
      ctx.rangeStart = from;
      ctx.rangeEnd = ref;
      ctx.evalT = this.evalStart + i * this.evalStep;
      for (let p = 0; p < this.params.length; p++) ctx.params[p] = this.params[p]![i]!;
      const r = this.kernel(t, v, lo, hi, ctx);
      if (r === null) continue;
      values[i - first] = r;
      present[i - first] = 1;
    }
    return { values, present };
  }

  close(): void {}
}

/** Kernel ids of wasm/kernels.ts, by PromQL function name. */
export const WASM_KERNEL_IDS: Readonly<Record<string, number>> = {
  rate: 1,
  increase: 2,
  delta: 3,
  irate: 4,
  idelta: 5,
  deriv: 6,
  predict_linear: 7,
  changes: 8,
  resets: 9,
  sum_over_time: 10,
  avg_over_time: 11,
  count_over_time: 12,
  present_over_time: 13,
  last_over_time: 14,
  first_over_time: 15,
  ts_of_last_over_time: 16,
  ts_of_first_over_time: 17,
  max_over_time: 18,
  min_over_time: 19,
  ts_of_max_over_time: 20,
  ts_of_min_over_time: 21,
  stdvar_over_time: 22,
  stddev_over_time: 23,
  quantile_over_time: 24,
  mad_over_time: 25,
  double_exponential_smoothing: 26,
};

/** The part of the promts WebAssembly exports the kernels use. */
export interface KernelWasm {
  readonly memory: WebAssembly.Memory;
  memAlloc(size: number): number;
  memFree(ptr: number): void;
  rangeKernelRun(
    kind: number, t: number, v: number, n: number, refs: number, steps: number, range: number,
    evalStart: number, evalStep: number, p0: number, p1: number, out: number, present: number,
  ): number;
}

/** The module's kernel entry points, or null when the module was built without wasm/kernels.ts. */
export function kernelWasm(): KernelWasm | null {
  const w = wasmExports();
  return typeof w.rangeKernelRun === "function" ? (w as unknown as KernelWasm) : null;
}

/** One series' kernel output: `values[i]` counts only where `present[i]` is 1. Valid until the batch's next run() or close(). */
export interface KernelOutput {
  values: Float64Array;
  present: Uint8Array;
}

/**
 * Runs one range function over many series in WebAssembly, one call per
 * series covering every step. The step windows and scalar parameters are
 * copied into module memory once; each series' samples are copied in (one
 * memcpy each way) and computed there. Call `close()` to release the memory.
 *
 * @example
 * const batch = new WasmKernelBatch("rate", refs, 300_000, start, step, [], kernelWasm()!);
 * const { values, present } = batch.run(t, v);
 * batch.close();
 */
export class WasmKernelBatch implements KernelBatch {
  private readonly wasm: KernelWasm;
  private readonly kind: number;
  private readonly steps: number;
  private ptr = 0;
  private sampleCapacity = -1;
  /** Views of the batch's memory, rebuilt when it is reallocated or module memory grows (which detaches them). */
  private views: { buffer: ArrayBuffer; t: Float64Array; v: Float64Array; out: Float64Array; present: Uint8Array } | null = null;

  constructor(
    name: string,
    private readonly refs: Float64Array,
    private readonly range: number,
    private readonly evalStart: number,
    private readonly evalStep: number,
    private readonly params: Float64Array[],
    wasm: KernelWasm,
  ) {
    const kind = WASM_KERNEL_IDS[name];
    if (kind === undefined) throw new Error(`no WebAssembly kernel for ${name}`);
    this.kind = kind;
    this.wasm = wasm;
    this.steps = refs.length;
  }

  /** Layout: refs, p0, p1, out (f64 × steps), present (u8 × steps, padded), t, v (f64 × capacity). */
  private ensure(n: number): void {
    if (n <= this.sampleCapacity) return;
    if (this.ptr !== 0) this.wasm.memFree(this.ptr);
    const capacity = Math.max(n, 64, this.sampleCapacity * 2);
    const fixed = this.steps * 32 + Math.ceil(this.steps / 8) * 8;
    this.ptr = this.wasm.memAlloc(fixed + capacity * 16);
    this.sampleCapacity = capacity;
    this.views = null;
    const f64 = new Float64Array(this.wasm.memory.buffer, this.ptr, this.steps * 3);
    f64.set(this.refs, 0);
    if (this.params[0]) f64.set(this.params[0], this.steps);
    if (this.params[1]) f64.set(this.params[1], this.steps * 2);
  }

  run(t: Float64Array, v: Float64Array, first = 0, count = this.steps - first): KernelOutput {
    const n = t.length;
    this.ensure(n);
    const s = this.steps;
    const refsPtr = this.ptr, p0 = refsPtr + s * 8, p1 = p0 + s * 8, out = p1 + s * 8, present = out + s * 8;
    const tPtr = present + Math.ceil(s / 8) * 8, vPtr = tPtr + this.sampleCapacity * 8;
    let views = this.currentViews(out, present, tPtr, vPtr);
    views.t.set(t);
    views.v.set(v);
    // A block of steps is the same call over the step arrays' sub-ranges.
    this.wasm.rangeKernelRun(
      this.kind, tPtr, vPtr, n, refsPtr + first * 8, count, this.range, this.evalStart + first * this.evalStep, this.evalStep,
      p0 + first * 8, p1 + first * 8, out + first * 8, present + first,
    );
    views = this.currentViews(out, present, tPtr, vPtr);
    // Views into module memory, not copies (slicing a view of module memory is slow): valid until the next run.
    return { values: views.out.subarray(first, first + count), present: views.present.subarray(first, first + count) };
  }

  private currentViews(out: number, present: number, tPtr: number, vPtr: number): NonNullable<WasmKernelBatch["views"]> {
    const buffer = this.wasm.memory.buffer;
    if (this.views === null || this.views.buffer !== buffer) {
      this.views = {
        buffer,
        t: new Float64Array(buffer, tPtr, this.sampleCapacity),
        v: new Float64Array(buffer, vPtr, this.sampleCapacity),
        out: new Float64Array(buffer, out, this.steps),
        present: new Uint8Array(buffer, present, this.steps),
      };
    }
    return this.views;
  }

  close(): void {
    if (this.ptr !== 0) this.wasm.memFree(this.ptr);
    this.ptr = 0;
    this.sampleCapacity = -1;
    this.views = null;
  }
}
