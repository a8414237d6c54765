// PromQL range-function kernels: one call computes a function for one series
// over every step of a query. Samples sit in module memory as parallel f64
// arrays (timestamps in ms, values; staleness markers already removed); step
// i's window is (refs[i] - range, refs[i]]. Results go to out[i] with
// present[i] = 1, or present[i] = 0 where Prometheus drops the point.
// The arithmetic mirrors src/promql/kernels.ts operation for operation so
// both give bit-identical results.

import { memAlloc, memFree } from "./alloc";

export const KERNEL_RATE: i32 = 1;
export const KERNEL_INCREASE: i32 = 2;
export const KERNEL_DELTA: i32 = 3;
export const KERNEL_IRATE: i32 = 4;
export const KERNEL_IDELTA: i32 = 5;
export const KERNEL_DERIV: i32 = 6;
export const KERNEL_PREDICT_LINEAR: i32 = 7;
export const KERNEL_CHANGES: i32 = 8;
export const KERNEL_RESETS: i32 = 9;
export const KERNEL_SUM: i32 = 10;
export const KERNEL_AVG: i32 = 11;
export const KERNEL_COUNT: i32 = 12;
export const KERNEL_PRESENT: i32 = 13;
export const KERNEL_LAST: i32 = 14;
export const KERNEL_FIRST: i32 = 15;
export const KERNEL_TS_LAST: i32 = 16;
export const KERNEL_TS_FIRST: i32 = 17;
export const KERNEL_MAX: i32 = 18;
export const KERNEL_MIN: i32 = 19;
export const KERNEL_TS_MAX: i32 = 20;
export const KERNEL_TS_MIN: i32 = 21;
export const KERNEL_STDVAR: i32 = 22;
export const KERNEL_STDDEV: i32 = 23;
export const KERNEL_QUANTILE: i32 = 24;
export const KERNEL_MAD: i32 = 25;
export const KERNEL_DES: i32 = 26;

// Compensation term of the last kahanInc call (Neumaier summation).
let kc: f64 = 0;

// @ts-ignore: decorator
@inline function T(p: usize, i: i32): f64 {
  return load<f64>(p + (<usize>i << 3));
}

function kahanInc(inc: f64, sum: f64, c: f64): f64 {
  const t = sum + inc;
  if (t == Infinity || t == -Infinity) c = 0;
  else if (Math.abs(sum) >= Math.abs(inc)) c += sum - t + inc;
  else c += inc - t + sum;
  kc = c;
  return t;
}

let resultPresent: bool = true;

// Counter resets of the series being run: the ascending indexes k with
// v[k] < v[k-1], found once per series so that each window adds the ones
// inside it without rescanning its samples. `resetCursor` is the first
// reset not left behind by the window start; windows only move forward
// (it is rewound with them).
let resets: usize = 0;
let resetCount: i32 = 0;
let resetCursor: i32 = 0;

function findResets(v: usize, n: i32, into: usize): void {
  resets = into;
  resetCount = 0;
  resetCursor = 0;
  for (let k = 1; k < n; k++) {
    if (T(v, k) < T(v, k - 1)) {
      store<i32>(into + (<usize>resetCount << 2), k);
      resetCount++;
    }
  }
}

// @ts-ignore: decorator
@inline function resetAt(r: i32): i32 {
  return load<i32>(resets + (<usize>r << 2));
}

function extrapolatedRate(t: usize, v: usize, lo: i32, hi: i32, rangeStart: f64, rangeEnd: f64, isCounter: bool, isRate: bool): f64 {
  const n = hi - lo;
  if (n < 2) {
    resultPresent = false;
    return 0;
  }
  const firstT = T(t, lo), lastT = T(t, hi - 1);
  let result = T(v, hi - 1) - T(v, lo);
  if (isCounter) {
    // The same additions, in the same order, as scanning k = lo+1 .. hi-1.
    while (resetCursor < resetCount && resetAt(resetCursor) <= lo) resetCursor++;
    for (let r = resetCursor; r < resetCount; r++) {
      const k = resetAt(r);
      if (k >= hi) break;
      result += T(v, k - 1);
    }
  }
  let durationToStart = (firstT - rangeStart) / 1000;
  let durationToEnd = (rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const averageDurationBetweenSamples = sampledInterval / <f64>(n - 1);
  const extrapolationThreshold = averageDurationBetweenSamples * 1.1;
  if (durationToStart >= extrapolationThreshold) durationToStart = averageDurationBetweenSamples / 2;
  if (isCounter) {
    let durationToZero = durationToStart;
    if (result > 0 && T(v, lo) >= 0) durationToZero = sampledInterval * (T(v, lo) / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= extrapolationThreshold) durationToEnd = averageDurationBetweenSamples / 2;
  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= (rangeEnd - rangeStart) / 1000;
  return result * factor;
}

function instantValue(t: usize, v: usize, lo: i32, hi: i32, isRate: bool): f64 {
  if (hi - lo < 2) {
    resultPresent = false;
    return 0;
  }
  const t0 = T(t, hi - 2), t1 = T(t, hi - 1), v0 = T(v, hi - 2), v1 = T(v, hi - 1);
  const interval = t1 - t0;
  if (interval == 0) {
    resultPresent = false;
    return 0;
  }
  let result = v1;
  if (!isRate || !(v1 < v0)) result = v1 - v0;
  if (isRate) result /= interval / 1000;
  return result;
}

let regSlope: f64 = 0;
let regIntercept: f64 = 0;

function linearRegression(t: usize, v: usize, lo: i32, hi: i32, interceptTime: f64): void {
  let n: f64 = 0, sumX: f64 = 0, sumY: f64 = 0, sumXY: f64 = 0, sumX2: f64 = 0;
  let cX: f64 = 0, cY: f64 = 0, cXY: f64 = 0, cX2: f64 = 0;
  const initY = T(v, lo);
  let constY = true;
  for (let i = lo; i < hi; i++) {
    const y = T(v, i);
    if (constY && i > lo && y != initY) constY = false;
    n += 1;
    const x = (T(t, i) - interceptTime) / 1e3;
    sumX = kahanInc(x, sumX, cX);
    cX = kc;
    sumY = kahanInc(y, sumY, cY);
    cY = kc;
    sumXY = kahanInc(x * y, sumXY, cXY);
    cXY = kc;
    sumX2 = kahanInc(x * x, sumX2, cX2);
    cX2 = kc;
  }
  if (constY) {
    if (initY == Infinity || initY == -Infinity) {
      regSlope = NaN;
      regIntercept = NaN;
    } else {
      regSlope = 0;
      regIntercept = initY;
    }
    return;
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  regSlope = covXY / varX;
  regIntercept = sumY / n - (regSlope * sumX) / n;
}

function sumOverTime(v: usize, lo: i32, hi: i32): f64 {
  let sum: f64 = 0, c: f64 = 0;
  for (let i = lo; i < hi; i++) {
    sum = kahanInc(T(v, i), sum, c);
    c = kc;
  }
  if (sum == Infinity || sum == -Infinity) return sum;
  return sum + c;
}

function avgOverTime(v: usize, lo: i32, hi: i32): f64 {
  let sum = T(v, lo), count: f64 = 1, mean: f64 = 0, c: f64 = 0;
  let incremental = false;
  for (let i = lo + 1; i < hi; i++) {
    const f = T(v, i);
    count = <f64>(i - lo + 1);
    if (!incremental) {
      const newSum = kahanInc(f, sum, c);
      if (newSum != Infinity && newSum != -Infinity) {
        sum = newSum;
        c = kc;
        continue;
      }
      incremental = true;
      mean = sum / (count - 1);
      c = c / (count - 1);
    }
    const q = (count - 1) / count;
    c = q * c;
    mean = kahanInc(f / count, q * mean, c);
    c = kc;
  }
  if (incremental) return mean + c;
  return sum / count + c / count;
}

function compareOverTime(t: usize, v: usize, lo: i32, hi: i32, kind: i32): f64 {
  let best = T(v, lo), bestT = T(t, lo);
  for (let i = lo; i < hi; i++) {
    const cur = T(v, i);
    let better: bool;
    if (kind == KERNEL_MAX) better = cur > best || isNaN(best);
    else if (kind == KERNEL_MIN) better = cur < best || isNaN(best);
    else if (kind == KERNEL_TS_MAX) better = cur >= best || isNaN(best);
    else better = cur <= best || isNaN(best);
    if (better) {
      best = cur;
      bestT = T(t, i);
    }
  }
  return kind == KERNEL_MAX || kind == KERNEL_MIN ? best : bestT / 1000;
}

function variance(v: usize, lo: i32, hi: i32): f64 {
  let count: f64 = 0, mean: f64 = 0, aux: f64 = 0, cMean: f64 = 0, cAux: f64 = 0;
  for (let i = lo; i < hi; i++) {
    const f = T(v, i);
    count++;
    const delta = f - (mean + cMean);
    mean = kahanInc(delta / count, mean, cMean);
    cMean = kc;
    aux = kahanInc(delta * (f - (mean + cMean)), aux, cAux);
    cAux = kc;
  }
  return (aux + cAux) / count;
}

// @ts-ignore: decorator
@inline function lessNaNFirst(a: f64, b: f64): bool {
  if (isNaN(a)) return !isNaN(b);
  if (isNaN(b)) return false;
  return a < b;
}

function siftDown(p: usize, start: i32, end: i32): void {
  let root = start;
  while (true) {
    let child = 2 * root + 1;
    if (child >= end) return;
    if (child + 1 < end && lessNaNFirst(T(p, child), T(p, child + 1))) child++;
    if (!lessNaNFirst(T(p, root), T(p, child))) return;
    const tmp = T(p, root);
    store<f64>(p + (<usize>root << 3), T(p, child));
    store<f64>(p + (<usize>child << 3), tmp);
    root = child;
  }
}

function sortNaNFirst(p: usize, n: i32): void {
  for (let i = n / 2 - 1; i >= 0; i--) siftDown(p, i, n);
  for (let end = n - 1; end > 0; end--) {
    const tmp = T(p, 0);
    store<f64>(p, T(p, end));
    store<f64>(p + (<usize>end << 3), tmp);
    siftDown(p, 0, end);
  }
}

function quantileSorted(q: f64, p: usize, n: i32): f64 {
  if (n == 0 || isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  sortNaNFirst(p, n);
  const rank = q * <f64>(n - 1);
  const lowerIndex = Math.max(0, Math.floor(rank));
  const upperIndex = Math.min(<f64>(n - 1), lowerIndex + 1);
  const weight = rank - Math.floor(rank);
  return T(p, <i32>lowerIndex) * (1 - weight) + T(p, <i32>upperIndex) * weight;
}

function quantileOverTime(q: f64, v: usize, lo: i32, hi: i32, scratch: usize): f64 {
  const n = hi - lo;
  memory.copy(scratch, v + (<usize>lo << 3), <usize>n << 3);
  return quantileSorted(q, scratch, n);
}

function madOverTime(v: usize, lo: i32, hi: i32, scratch: usize): f64 {
  const n = hi - lo;
  for (let i = lo; i < hi; i++) if (isNaN(T(v, i))) return NaN;
  memory.copy(scratch, v + (<usize>lo << 3), <usize>n << 3);
  const median = quantileSorted(0.5, scratch, n);
  for (let i = 0; i < n; i++) store<f64>(scratch + (<usize>i << 3), Math.abs(T(v, lo + i) - median));
  return quantileSorted(0.5, scratch, n);
}

function doubleExponentialSmoothing(v: usize, lo: i32, hi: i32, sf: f64, tf: f64): f64 {
  if (hi - lo < 2) {
    resultPresent = false;
    return 0;
  }
  let s0: f64 = 0, s1 = T(v, lo), b = T(v, lo + 1) - T(v, lo);
  for (let i = 1; i < hi - lo; i++) {
    const x = sf * T(v, lo + i);
    b = i - 1 == 0 ? b : tf * (s1 - s0) + (1 - tf) * b;
    const y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  return s1;
}

/**
 * Runs kernel `kind` for one series over `steps` windows. `p0`/`p1` hold a
 * per-step scalar parameter each (0 when unused); `evalStart`/`evalStep`
 * give each step's evaluation time. Returns the number of present points.
 */
export function rangeKernelRun(
  kind: i32, t: usize, v: usize, n: i32, refs: usize, steps: i32, range: f64,
  evalStart: f64, evalStep: f64, p0: usize, p1: usize, out: usize, present: usize,
): i32 {
  const needsScratch = kind == KERNEL_QUANTILE || kind == KERNEL_MAD;
  const countsResets = kind == KERNEL_RATE || kind == KERNEL_INCREASE;
  const scratch: usize = (needsScratch || countsResets) && n > 0 ? memAlloc(<usize>n << 3) : 0;
  if (countsResets) findResets(v, n, scratch);
  let lo: i32 = 0, hi: i32 = 0, count: i32 = 0;
  for (let i = 0; i < steps; i++) {
    const ref = T(refs, i);
    const from = ref - range;
    if (i > 0 && ref < T(refs, i - 1)) {
      lo = 0;
      hi = 0;
      resetCursor = 0;
    }
    while (lo < n && T(t, lo) <= from) lo++;
    if (hi < lo) hi = lo;
    while (hi < n && T(t, hi) <= ref) hi++;
    store<u8>(present + <usize>i, 0);
    if (hi <= lo) continue;
    resultPresent = true;
    let r: f64 = 0;
    switch (kind) {
      case KERNEL_RATE: r = extrapolatedRate(t, v, lo, hi, from, ref, true, true); break;
      case KERNEL_INCREASE: r = extrapolatedRate(t, v, lo, hi, from, ref, true, false); break;
      case KERNEL_DELTA: r = extrapolatedRate(t, v, lo, hi, from, ref, false, false); break;
      case KERNEL_IRATE: r = instantValue(t, v, lo, hi, true); break;
      case KERNEL_IDELTA: r = instantValue(t, v, lo, hi, false); break;
      case KERNEL_DERIV: {
        if (hi - lo < 2) resultPresent = false;
        else {
          linearRegression(t, v, lo, hi, T(t, lo));
          r = regSlope;
        }
        break;
      }
      case KERNEL_PREDICT_LINEAR: {
        if (hi - lo < 2) resultPresent = false;
        else {
          linearRegression(t, v, lo, hi, evalStart + <f64>i * evalStep);
          r = regSlope * T(p0, i) + regIntercept;
        }
        break;
      }
      case KERNEL_CHANGES: {
        let c: i32 = 0;
        for (let k = lo + 1; k < hi; k++) {
          const a = T(v, k - 1), b = T(v, k);
          if (a != b && !(isNaN(a) && isNaN(b))) c++;
        }
        r = <f64>c;
        break;
      }
      case KERNEL_RESETS: {
        let c: i32 = 0;
        for (let k = lo + 1; k < hi; k++) if (T(v, k) < T(v, k - 1)) c++;
        r = <f64>c;
        break;
      }
      case KERNEL_SUM: r = sumOverTime(v, lo, hi); break;
      case KERNEL_AVG: r = avgOverTime(v, lo, hi); break;
      case KERNEL_COUNT: r = <f64>(hi - lo); break;
      case KERNEL_PRESENT: r = 1; break;
      case KERNEL_LAST: r = T(v, hi - 1); break;
      case KERNEL_FIRST: r = T(v, lo); break;
      case KERNEL_TS_LAST: r = T(t, hi - 1) / 1000; break;
      case KERNEL_TS_FIRST: r = T(t, lo) / 1000; break;
      case KERNEL_MAX:
      case KERNEL_MIN:
      case KERNEL_TS_MAX:
      case KERNEL_TS_MIN: r = compareOverTime(t, v, lo, hi, kind); break;
      case KERNEL_STDVAR: r = variance(v, lo, hi); break;
      case KERNEL_STDDEV: r = Math.sqrt(variance(v, lo, hi)); break;
      case KERNEL_QUANTILE: r = quantileOverTime(T(p0, i), v, lo, hi, scratch); break;
      case KERNEL_MAD: r = madOverTime(v, lo, hi, scratch); break;
      case KERNEL_DES: r = doubleExponentialSmoothing(v, lo, hi, T(p0, i), T(p1, i)); break;
      default: resultPresent = false;
    }
    if (!resultPresent) continue;
    store<f64>(out + (<usize>i << 3), r);
    store<u8>(present + <usize>i, 1);
    count++;
  }
  if (scratch != 0) memFree(scratch);
  return count;
}
