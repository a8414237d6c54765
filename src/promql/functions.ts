/**
 * Instant-vector PromQL functions and their helpers: element-wise math, date
 * functions, sorting, and the classic (`le`-bucket) histogram functions.
 * They work on one evaluation step at a time; the engine feeds them vectors
 * of `Sample`s. Range-vector functions live in kernels.ts.
 *
 * @example
 * SIMPLE_FUNCTIONS.abs!(-2); // 2
 */
import { formatGoFloatF, formatGoFloatG } from "../base/index.ts";
import { compareLabels, getLabel, METRIC_NAME, type Label, type Labels } from "../model/index.ts";

/**
 * One element of an instant vector during evaluation. `dropName` marks that
 * the metric name must be removed from the final result (Prometheus 3's
 * delayed name removal): functions and arithmetic set it instead of
 * removing `__name__` straight away.
 */
export interface Sample {
  metric: Labels;
  f: number;
  /** Sample time in ms (the step time, or the raw sample time where that matters, e.g. timestamp()). */
  t: number;
  dropName: boolean;
}

/** Element-wise float functions by name (each drops the metric name). */
export const SIMPLE_FUNCTIONS: Readonly<Record<string, (f: number) => number>> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  sqrt: Math.sqrt,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sinh: goSinh,
  cosh: goCosh,
  tanh: Math.tanh,
  asinh: Math.asinh,
  acosh: Math.acosh,
  atanh: Math.atanh,
  rad: (v) => (v * Math.PI) / 180,
  deg: (v) => (v * 180) / Math.PI,
  sgn: (v) => (v < 0 ? -1 : v > 0 ? 1 : v),
};

/** Go's math.Sinh: beyond |x| > 21 it is exp(|x|)/2, so it overflows to ±Inf just below where the true value would. */
function goSinh(x: number): number {
  if (x > 21) return Math.exp(x) * 0.5;
  if (x < -21) return -Math.exp(-x) * 0.5;
  return Math.sinh(x);
}

/**
 * Go's math.Cosh: exp(|x|)/2 beyond |x| > 21 (overflowing to +Inf for
 * |x| > ~709.78, where Math.cosh is still finite), else (e + 1/e)/2, which
 * is exactly 1 for tiny x where Math.cosh may round above 1 (acos(cosh(x))
 * is then 0 in Prometheus, not NaN).
 */
function goCosh(x: number): number {
  const a = Math.abs(x);
  if (a > 21) return Math.exp(a) * 0.5;
  const e = Math.exp(a);
  return (e + 1 / e) * 0.5;
}

/** Date functions by name, taking a Unix time in seconds (UTC), as Go's time package computes them. */
export const DATE_FUNCTIONS: Readonly<Record<string, (seconds: number) => number>> = {
  days_in_month: (s) => {
    const { date } = goCalendar(s);
    return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
  },
  day_of_month: (s) => goCalendar(s).date.getUTCDate(),
  day_of_week: (s) => goCalendar(s).date.getUTCDay(),
  day_of_year: (s) => {
    const { date } = goCalendar(s);
    return Math.floor((date.getTime() - Date.UTC(date.getUTCFullYear(), 0, 1)) / 86400000) + 1;
  },
  hour: (s) => goCalendar(s).date.getUTCHours(),
  minute: (s) => goCalendar(s).date.getUTCMinutes(),
  month: (s) => goCalendar(s).date.getUTCMonth() + 1,
  year: (s) => {
    const { date, extraYears } = goCalendar(s);
    return date.getUTCFullYear() + extraYears;
  },
};

const INT64_MIN = -(2n ** 63n);
/** Seconds in one 400-year Gregorian cycle (146097 days, a whole number of weeks). */
const GREGORIAN_CYCLE_SECONDS = 146097n * 86400n;
/** Go's unixToInternal + internalToAbsolute: Unix seconds plus this, as uint64, are Go's absolute seconds. */
const GO_UNIX_TO_ABSOLUTE = 9223372028715321600n;

/**
 * Go's `time.Unix(int64(f), 0).UTC()` as a JS date plus whole 400-year
 * cycles left out of it (JS dates only reach ±275k years). `int64(f)`
 * truncates toward zero; NaN, ±Inf and values outside int64 become the
 * minimum int64 as on amd64, where Prometheus is usually built, and Go's
 * calendar wraps times before its absolute epoch around 2^64 seconds, so
 * e.g. month(NaN) is 12 as in Prometheus.
 */
function goCalendar(seconds: number): { date: Date; extraYears: number } {
  const inRange = seconds >= -(2 ** 63) && seconds < 2 ** 63;
  const sec = inRange ? BigInt(Math.trunc(seconds)) : INT64_MIN;
  const unix = BigInt.asUintN(64, sec + GO_UNIX_TO_ABSOLUTE) - GO_UNIX_TO_ABSOLUTE;
  let cycles = unix / GREGORIAN_CYCLE_SECONDS;
  let rest = unix - cycles * GREGORIAN_CYCLE_SECONDS;
  if (rest < 0n) {
    rest += GREGORIAN_CYCLE_SECONDS;
    cycles -= 1n;
  }
  return { date: new Date(Number(rest) * 1000), extraYears: Number(cycles) * 400 };
}

/** Rounds to the nearest multiple of `toNearest`, ties up, as Prometheus's round(). */
export function roundTo(f: number, toNearest: number): number {
  const inverse = 1 / toNearest;
  return Math.floor(f * inverse + 0.5) / inverse;
}

/** Ascending by value with NaN last (sort()). */
export function sortByValueAsc(v: Sample[]): Sample[] {
  return v.sort((a, b) => {
    const an = Number.isNaN(a.f), bn = Number.isNaN(b.f);
    if (an || bn) return an === bn ? 0 : an ? 1 : -1;
    return a.f - b.f;
  });
}

/** Descending by value with NaN last (sort_desc()). */
export function sortByValueDesc(v: Sample[]): Sample[] {
  return v.sort((a, b) => {
    const an = Number.isNaN(a.f), bn = Number.isNaN(b.f);
    if (an || bn) return an === bn ? 0 : an ? 1 : -1;
    return b.f - a.f;
  });
}

/**
 * Natural ("human") order of two strings: runs of digits compare as
 * numbers, everything else byte-wise.
 */
export function naturalCompare(a: string, b: string): number {
  const chunk = /(\d+|\D+)/g;
  const ca = a.match(chunk) ?? [], cb = b.match(chunk) ?? [];
  const n = Math.min(ca.length, cb.length);
  for (let i = 0; i < n; i++) {
    const x = ca[i]!, y = cb[i]!;
    if (x === y) continue;
    const xd = /^\d/.test(x), yd = /^\d/.test(y);
    if (xd && yd) {
      const xi = BigInt(x), yi = BigInt(y);
      if (xi !== yi) return xi < yi ? -1 : 1;
      return x.length < y.length ? -1 : 1;
    }
    return x < y ? -1 : 1;
  }
  return ca.length - cb.length;
}

/** sort_by_label(_desc): natural order on the given labels, then the full label set. */
export function sortByLabels(v: Sample[], names: string[], desc: boolean): Sample[] {
  const sign = desc ? -1 : 1;
  return v.sort((a, b) => {
    for (const n of names) {
      const x = getLabel(a.metric, n), y = getLabel(b.metric, n);
      if (x === y) continue;
      return sign * naturalCompare(x, y);
    }
    return sign * compareLabels(a.metric, b.metric);
  });
}

/**
 * Parses a float as Go's strconv.ParseFloat does for the inputs Prometheus
 * meets (decimal, exponent, hex, Inf/NaN spellings); NaN-with-ok=false as null.
 */
export function parseGoFloat(s: string): number | null {
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith("-") ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(s)) return NaN;
  if (/^[+-]?(\d+(_?\d)*(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s)) return Number(s.replace(/_/g, ""));
  if (/^[+-]?0x[0-9a-f]+$/i.test(s)) {
    const neg = s.startsWith("-");
    const v = parseInt(s.replace(/^[+-]/, ""), 16);
    return neg ? -v : v;
  }
  return null;
}

/** Formats a float as Go's strconv.FormatFloat(f, 'f', -1, 64) (the base room's formatGoFloatF). */
export const formatFloatPlain: (f: number) => string = formatGoFloatF;

/** Formats a float as Prometheus's FormatOpenMetricsFloat: integers get ".0" ("1.0"), infinities are "+Inf"/"-Inf". */
export function formatOpenMetricsFloat(f: number): string {
  if (Number.isNaN(f)) return "NaN";
  if (f === Infinity) return "+Inf";
  if (f === -Infinity) return "-Inf";
  const s = formatFloatG(f);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/** Formats a float as Go's %g would for annotation messages (the base room's formatGoFloatG). */
export const formatFloatG: (f: number) => string = formatGoFloatG;

/** One classic histogram bucket: cumulative count up to and including `upperBound`. */
export interface Bucket {
  upperBound: number;
  count: number;
}

/** What bucketQuantile found besides the value: whether monotonicity had to be forced. */
export interface BucketQuantileResult {
  value: number;
  forcedMonotonicity: boolean;
}

function prepareBuckets(buckets: Bucket[]): { buckets: Bucket[]; forced: boolean } | null {
  buckets.sort((a, b) => a.upperBound - b.upperBound);
  if (buckets.length === 0 || buckets[buckets.length - 1]!.upperBound !== Infinity) return null;
  const merged: Bucket[] = [];
  for (const b of buckets) {
    const last = merged[merged.length - 1];
    if (last && last.upperBound === b.upperBound) last.count += b.count;
    else merged.push({ upperBound: b.upperBound, count: b.count });
  }
  let prev = merged[0]!.count;
  for (let i = 1; i < merged.length; i++) {
    const curr = merged[i]!.count;
    const delta = Math.abs(curr - prev);
    if (delta === 0) continue;
    if (delta / curr <= 1e-12) merged[i]!.count = prev;
    else prev = curr;
  }
  let forced = false;
  let max = merged[0]!.count;
  for (let i = 1; i < merged.length; i++) {
    const c = merged[i]!.count;
    if (c > max) max = c;
    else if (c < max) {
      merged[i]!.count = max;
      forced = true;
    }
  }
  return { buckets: merged, forced };
}

/**
 * The φ-quantile of classic buckets, interpolating linearly inside a bucket
 * (lowest bucket from 0 when its bound is positive), as Prometheus's
 * BucketQuantile. NaN without a +Inf bucket or observations.
 */
export function bucketQuantile(q: number, input: Bucket[]): BucketQuantileResult {
  if (Number.isNaN(q)) return { value: NaN, forcedMonotonicity: false };
  if (q < 0) return { value: -Infinity, forcedMonotonicity: false };
  if (q > 1) return { value: Infinity, forcedMonotonicity: false };
  const prepared = prepareBuckets(input);
  if (!prepared) return { value: NaN, forcedMonotonicity: false };
  const { buckets, forced } = prepared;
  if (buckets.length < 2) return { value: NaN, forcedMonotonicity: false };
  const observations = buckets[buckets.length - 1]!.count;
  if (observations === 0) return { value: NaN, forcedMonotonicity: false };
  let rank = q * observations;
  let b = 0;
  while (b < buckets.length - 1 && !(buckets[b]!.count >= rank)) b++;
  if (b === buckets.length - 1) return { value: buckets[buckets.length - 2]!.upperBound, forcedMonotonicity: forced };
  if (b === 0 && buckets[0]!.upperBound <= 0) return { value: buckets[0]!.upperBound, forcedMonotonicity: forced };
  let bucketStart = 0;
  const bucketEnd = buckets[b]!.upperBound;
  let count = buckets[b]!.count;
  if (b > 0) {
    bucketStart = buckets[b - 1]!.upperBound;
    count -= buckets[b - 1]!.count;
    rank -= buckets[b - 1]!.count;
  }
  return { value: bucketStart + (bucketEnd - bucketStart) * (rank / count), forcedMonotonicity: forced };
}

/**
 * The fraction of observations between `lower` and `upper` in classic
 * buckets, interpolating inside finite buckets (never inside the +Inf one).
 */
export function bucketFraction(lower: number, upper: number, input: Bucket[]): number {
  const prepared = prepareBuckets(input);
  if (!prepared) return NaN;
  const { buckets } = prepared;
  const total = buckets[buckets.length - 1]!.count;
  if (total === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return NaN;
  if (lower >= upper) return 0;
  let rank = 0, lowerRank = 0, upperRank = 0;
  let lowerSet = false, upperSet = false;
  for (let i = 0; i < buckets.length; i++) {
    let bLower = i === 0 ? -Infinity : buckets[i - 1]!.upperBound;
    const bUpper = buckets[i]!.upperBound;
    if (i === 0 && bUpper > 0) bLower = 0;
    const count = i === 0 ? buckets[0]!.count : buckets[i]!.count - buckets[i - 1]!.count;
    if (!lowerSet && bLower >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && bLower >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    // No interpolation inside a bucket of infinite width: the part of it
    // between the bounds counts as empty.
    if (!lowerSet && bLower < lower && bUpper > lower) {
      lowerRank = bLower === -Infinity ? rank + count : rank + (count * (lower - bLower)) / (bUpper - bLower);
      lowerSet = true;
    }
    if (!upperSet && bLower < upper && bUpper > upper) {
      upperRank = bLower === -Infinity ? rank : rank + (count * (upper - bLower)) / (bUpper - bLower);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank += count;
  }
  if (!lowerSet || lowerRank > total) lowerRank = total;
  if (!upperSet || upperRank > total) upperRank = total;
  return Math.max(0, upperRank - lowerRank) / total;
}

/** A group of classic buckets of one histogram at one step. */
export interface BucketGroup {
  metric: Labels;
  buckets: Bucket[];
}

/** Where one `le` series belongs among classic histograms; computed once per series. */
export interface BucketSeries {
  /** The raw `le` label value. */
  le: string;
  /** The bucket's upper bound, or null when `le` is missing or malformed. */
  upperBound: number | null;
  /** Identifies the histogram: the series' labels without `le`. */
  key: string;
  /** The series' labels without `le`. */
  metric: Labels;
}

/**
 * The histogram identity of a bucket series: its parsed `le` and its labels
 * minus `le` (the name stays until delayed name removal, so two histograms
 * that differ only by name still clash in the result).
 *
 * @example
 * bucketSeries(labelsFromRecord({ __name__: "x_bucket", le: "0.5" })).upperBound; // 0.5
 */
export function bucketSeries(metric: Labels): BucketSeries {
  const le = getLabel(metric, "le");
  const upperBound = le === "" ? null : parseGoFloat(le);
  const withoutLe: Label[] = metric.filter((l) => l.name !== "le");
  return { le, upperBound, key: JSON.stringify(withoutLe), metric: withoutLe };
}
