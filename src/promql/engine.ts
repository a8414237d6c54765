/**
 * The PromQL evaluation engine. An expression is evaluated over all steps of
 * a query at once, node by node, as Prometheus does: every instant-vector
 * node yields a set of series with one point per step at which it has a
 * value; range functions run their kernels over windows of raw samples held
 * in Float64Arrays. Semantics follow Prometheus 3: left-open lookback and
 * range windows, staleness markers, `@`/offset resolution, subquery steps
 * aligned to absolute multiples of the step, delayed `__name__` removal, and
 * Prometheus's error and annotation texts.
 *
 * @example
 * const engine = new Engine();
 * const res = await engine.instantQuery(() => querier, "sum(rate(http_requests_total[5m]))", Date.now());
 */
import { expandRegexpTemplate, quoteMeta } from "../base/index.ts";
import { compileRE2, getLabel, labelsKey, METRIC_NAME, newMatcher, type Label, type Labels, type Matcher, type RE2Regexp, type Registry } from "../model/index.ts";
import type { Querier, StoredSeries } from "../tsdb/index.ts";
import type {
  AggregateExpr,
  BinaryExpr,
  BinaryOp,
  Call,
  Expr,
  MatrixSelector,
  PosRange,
  SubqueryExpr,
  VectorMatching,
  VectorSelector,
} from "./ast.ts";
import { children, valueType, walk } from "./ast.ts";
import {
  aggregate,
  aggregationSteps,
  isStepwiseAggregation,
  isValidLabelName,
  topBottomKSteps,
  type GroupKey,
  type AggregationSteps,
} from "./aggregations.ts";
import {
  bucketFraction,
  bucketQuantile,
  DATE_FUNCTIONS,
  formatFloatG,
  formatOpenMetricsFloat,
  bucketSeries,
  roundTo,
  SIMPLE_FUNCTIONS,
  sortByLabels,
  sortByValueAsc,
  sortByValueDesc,
  type BucketGroup,
  type Sample,
} from "./functions.ts";
import { JsKernelBatch, kernelWasm, RANGE_KERNELS, WasmKernelBatch, type KernelBatch, type KernelWasm } from "./kernels.ts";
import { parseExpr } from "./parser.ts";
import {
  EvalError,
  QueryCanceledError,
  QueryTimeoutError,
  TooManySamplesError,
  type MatrixSeries,
  type QueryResult,
  type Value,
  type VectorSample,
} from "./value.ts";

export * from "./value.ts";

/** Engine limits and defaults; all durations in milliseconds. */
export interface EngineOptions {
  /** How far back an instant selector looks for a sample (default 5m). */
  lookbackDelta?: number;
  /** Per-query evaluation time limit (default 2m). */
  timeout?: number;
  /** Most samples a query may hold in memory at once (default 50e6). */
  maxSamples?: number;
  /** Queries evaluated at the same time; more wait in a queue (default 20). */
  maxConcurrency?: number;
  /** Subquery step when none is given (default 1m). */
  defaultEvaluationInterval?: number;
  /**
   * Where range functions (rate, *_over_time, …) run: "wasm" (default; the
   * kernels in the promts WebAssembly module) or "js" (the TypeScript kernels).
   */
  rangeKernels?: "wasm" | "js";
  /** Longest stretch of synchronous evaluation before the event loop gets a turn, in ms (default 5). */
  sliceMs?: number;
  /** Where the engine's metrics go (prometheus_engine_queries, …); none when absent. */
  registry?: Registry;
}

/**
 * Default longest stretch of evaluation between event-loop turns, in ms:
 * half the server's 10 ms budget, since a request arriving mid-slice waits
 * for the rest of it.
 */
const DEFAULT_SLICE_MS = 5;

/** Opens a querier over [mint, maxt] (ms) for one query; the engine closes it when the query ends. */
export type QueryableFn = (mint: number, maxt: number) => Querier;

/**
 * One step of stepwise evaluation: `undefined` pauses (the driver may yield
 * to the event loop and checks the deadline and cancellation), a Promise is
 * awaited by the driver and its result sent back in.
 */
type Step = Promise<unknown> | undefined;
/** A stepwise computation of a T; see {@link Step}. */
type Steps<T> = Generator<Step, T, unknown>;

/** Waits for `p` inside a stepwise computation: `const x = yield* awaitStep(p)`. */
function* awaitStep<T>(p: Promise<T>): Steps<T> {
  return (yield p) as T;
}

/** Per-query settings: the API's `timeout` and `lookback_delta` parameters, and cancellation. */
export interface QueryOptions {
  /** Evaluation time limit in ms; the engine's timeout when absent or larger (as Prometheus, the lower wins). */
  timeout?: number;
  /** How far back instant selectors look, in ms; the engine's lookback delta when absent or 0. */
  lookbackDelta?: number;
  /** Cancels the query (the client went away): it stops at its next pause with a QueryCanceledError. */
  signal?: AbortSignal;
}

/** One evaluated series: points at step timestamps (ascending). */
interface Series {
  metric: Labels;
  ts: number[];
  fs: number[];
  dropName: boolean;
}

/** Raw samples of a range vector for one series (no staleness markers). */
interface RangeSeries {
  metric: Labels;
  t: Float64Array;
  v: Float64Array;
  dropName: boolean;
}

type Evaluated = { kind: "series"; series: Series[] } | { kind: "string"; value: string };

/** Query-wide facts shared by nested evaluators (subqueries). */
interface QueryContext {
  /** The one querier of the query, over the whole range its selectors read. */
  querier: Querier;
  signal: AbortSignal | undefined;
  query: string;
  start: number;
  end: number;
  step: number;
  lookback: number;
  defaultInterval: number;
  deadline: number;
  maxSamples: number;
  currentSamples: number;
  warnings: Set<string>;
  infos: Set<string>;
  loopCounter: number;
  /** The WebAssembly kernels, or null to use the TypeScript ones. */
  wasm: KernelWasm | null;
}

/**
 * True when `v[i]` is Prometheus's staleness marker (bits 0x7ff0000000000002).
 * The check reads the raw bits: JavaScript engines may canonicalise NaN
 * payloads once a value leaves the typed array, so it cannot be done on a
 * number. Assumes a little-endian host, as every supported platform is.
 */
export function isStaleAt(v: Float64Array, i: number): boolean {
  const x = v[i]!;
  if (x === x) return false;
  const bits = new Uint32Array(v.buffer, v.byteOffset + i * 8, 2);
  return bits[1] === 0x7ff00000 && bits[0] === 2;
}

/** "line:col" of a character offset, as Prometheus positions annotations. */
export function positionString(query: string, pos: number): string {
  let line = 1, lastBreak = -1;
  const end = Math.min(pos, query.length);
  for (let i = 0; i < end; i++) {
    if (query.charCodeAt(i) === 10) {
      line++;
      lastBreak = i;
    }
  }
  return `${line}:${pos - lastBreak}`;
}

const keyCache = new WeakMap<Labels, string>();

/** labelsKey, memoised per label-set object (series keep one object across all steps). */
function keyOf(ls: Labels): string {
  let k = keyCache.get(ls);
  if (k === undefined) {
    k = labelsKey(ls);
    keyCache.set(ls, k);
  }
  return k;
}

const namelessKeyCache = new WeakMap<Labels, string>();

/** The key of a label set once `__name__` is dropped, memoised like keyOf. */
function namelessKeyOf(ls: Labels): string {
  let k = namelessKeyCache.get(ls);
  if (k === undefined) {
    k = ls.some((l) => l.name === METRIC_NAME) ? labelsKey(ls.filter((l) => l.name !== METRIC_NAME)) : keyOf(ls);
    namelessKeyCache.set(ls, k);
  }
  return k;
}

const ARITHMETIC_OPS = new Set<BinaryOp>(["+", "-", "*", "/", "%", "^", "atan2"]);
const COMPARISON_OPS = new Set<BinaryOp>(["==", "!=", ">", "<", ">=", "<="]);

function goPow(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  if ((y === Infinity || y === -Infinity) && x === -1) return 1;
  return Math.pow(x, y);
}

/** Applies a float binary operator; `keep` is false when a comparison fails. */
function binop(op: BinaryOp, l: number, r: number): { v: number; keep: boolean } {
  switch (op) {
    case "+":
      return { v: l + r, keep: true };
    case "-":
      return { v: l - r, keep: true };
    case "*":
      return { v: l * r, keep: true };
    case "/":
      return { v: l / r, keep: true };
    case "%":
      return { v: l % r, keep: true };
    case "^":
      return { v: goPow(l, r), keep: true };
    case "atan2":
      return { v: Math.atan2(l, r), keep: true };
    case "==":
      return { v: l, keep: l === r };
    case "!=":
      return { v: l, keep: l !== r };
    case ">":
      return { v: l, keep: l > r };
    case "<":
      return { v: l, keep: l < r };
    case ">=":
      return { v: l, keep: l >= r };
    case "<=":
      return { v: l, keep: l <= r };
    default:
      throw new EvalError(`operator "${op}" not allowed for operations between scalars or vector and scalar`);
  }
}

function unwrapParens(e: Expr): Expr {
  while (e.type === "ParenExpr") e = e.expr;
  return e;
}

function stringArg(e: Expr): string {
  const u = unwrapParens(e);
  if (u.type !== "StringLiteral") throw new EvalError("expected string literal argument");
  return u.val;
}

/** The evaluation of one expression tree over the steps start..end. */
class Evaluator {
  readonly numSteps: number;

  constructor(
    private readonly ctx: QueryContext,
    readonly start: number,
    readonly end: number,
    readonly interval: number,
  ) {
    this.numSteps = Math.floor((end - start) / interval) + 1;
  }

  stepTime(i: number): number {
    return this.start + i * this.interval;
  }

  /**
   * Counts `work` units (steps, points) done; true every 256 of them, when
   * the caller should pause (`if (this.tick(n)) yield;`) so the driver can
   * check the deadline and cancellation and give the event loop its turn.
   * Whole-series loops report their steps at once.
   */
  private tick(work = 1): boolean {
    this.ctx.loopCounter += work;
    if (this.ctx.loopCounter < 256) return false;
    this.ctx.loopCounter = 0;
    return true;
  }

  private addSamples(n: number): void {
    this.ctx.currentSamples += n;
    if (this.ctx.currentSamples > this.ctx.maxSamples) throw new TooManySamplesError();
  }

  private releaseSamples(n: number): void {
    this.ctx.currentSamples = Math.max(0, this.ctx.currentSamples - n);
  }

  warn(message: string, pos: PosRange): void {
    this.ctx.warnings.add(`PromQL warning: ${message} (${positionString(this.ctx.query, pos.start)})`);
  }

  info(message: string, pos: PosRange): void {
    this.ctx.infos.add(`PromQL info: ${message} (${positionString(this.ctx.query, pos.start)})`);
  }

  /** The reference time of a selector at step time `ts`: `@` (or start/end) then offset. */
  private refTime(ts: number, timestamp: number | null, startOrEnd: "start" | "end" | null, offset: number): number {
    let t = ts;
    if (timestamp !== null) t = timestamp;
    else if (startOrEnd === "start") t = this.ctx.start;
    else if (startOrEnd === "end") t = this.ctx.end;
    return t - offset;
  }

  *eval(e: Expr): Steps<Evaluated> {
    if (this.tick()) yield;
    switch (e.type) {
      case "ParenExpr":
        return yield* this.eval(e.expr);
      case "NumberLiteral":
        return { kind: "series", series: [this.constantSeries(() => e.val)] };
      case "StringLiteral":
        return { kind: "string", value: e.val };
      case "VectorSelector":
        return { kind: "series", series: yield* this.evalVectorSelector(e, false) };
      case "MatrixSelector":
      case "SubqueryExpr":
        throw new EvalError(`unexpected range vector ${e.type === "MatrixSelector" ? "selector" : "subquery"} outside of a function`);
      case "UnaryExpr": {
        const inner = yield* this.evalSeries(e.expr);
        if (e.op === "+") return { kind: "series", series: inner };
        const isScalar = valueType(e.expr) === "scalar";
        for (const s of inner) {
          for (let i = 0; i < s.fs.length; i++) s.fs[i] = -s.fs[i]!;
          if (!isScalar) s.dropName = true;
        }
        return { kind: "series", series: rejectNameClashes(inner) };
      }
      case "BinaryExpr":
        return { kind: "series", series: rejectNameClashes(yield* this.evalBinary(e)) };
      case "AggregateExpr":
        return { kind: "series", series: yield* this.evalAggregate(e) };
      case "Call":
        return { kind: "series", series: rejectNameClashes(yield* this.evalCall(e)) };
    }
  }

  *evalSeries(e: Expr): Steps<Series[]> {
    const r = yield* this.eval(e);
    if (r.kind !== "series") throw new EvalError("unexpected string value");
    return r.series;
  }

  private constantSeries(valueAt: (ts: number) => number): Series {
    const ts: number[] = new Array(this.numSteps), fs: number[] = new Array(this.numSteps);
    for (let i = 0; i < this.numSteps; i++) {
      const t = this.stepTime(i);
      ts[i] = t;
      fs[i] = valueAt(t);
    }
    return { metric: [], ts, fs, dropName: false };
  }

  /** Evaluates a scalar-typed expression to one value per step. */
  private *evalScalarPerStep(e: Expr): Steps<Float64Array> {
    const series = yield* this.evalSeries(e);
    const out = new Float64Array(this.numSteps).fill(NaN);
    const s = series[0];
    if (s) for (let i = 0; i < s.ts.length; i++) out[Math.round((s.ts[i]! - this.start) / this.interval)] = s.fs[i]!;
    return out;
  }

  /** Walks series point lists step by step, giving each step's instant vector (callers pause between steps). */
  private *stepVectors(series: Series[]): Generator<[number, Sample[]]> {
    const pos = new Int32Array(series.length);
    for (let i = 0; i < this.numSteps; i++) {
      const ts = this.stepTime(i);
      const vec: Sample[] = [];
      for (let j = 0; j < series.length; j++) {
        const s = series[j]!;
        const p = pos[j]!;
        if (p < s.ts.length && s.ts[p] === ts) {
          vec.push({ metric: s.metric, f: s.fs[p]!, t: ts, dropName: s.dropName });
          pos[j] = p + 1;
        }
      }
      yield [i, vec];
    }
  }

  /** Collects per-step output vectors into series, rejecting duplicate label sets within a step. */
  private collector(): { add: (ts: number, v: Sample[]) => void; result: () => Series[] } {
    const byKey = new Map<string, Series>();
    const order: Series[] = [];
    let total = 0;
    return {
      add: (ts, v) => {
        for (const s of v) {
          const key = keyOf(s.metric);
          let out = byKey.get(key);
          if (out) {
            if (out.ts.length > 0 && out.ts[out.ts.length - 1] === ts) throw new EvalError("vector cannot contain metrics with the same labelset");
          } else {
            out = { metric: s.metric, ts: [], fs: [], dropName: s.dropName };
            byKey.set(key, out);
            order.push(out);
          }
          out.ts.push(ts);
          out.fs.push(s.f);
          out.dropName = s.dropName;
        }
        total += v.length;
        this.addSamples(v.length);
      },
      result: () => {
        this.releaseSamples(total);
        return order;
      },
    };
  }

  // ---------------------------------------------------------------- selectors

  private *selectSeries(vs: VectorSelector, mint: number, maxt: number): Steps<{ metric: Labels; t: Float64Array; v: Float64Array; length: number }[]> {
    const selected = yield* this.select(vs.matchers, mint, maxt);
    const out = [];
    for (const s of selected) {
      const b = s.samples();
      out.push({ metric: s.labels, t: b.t, v: b.v, length: b.length });
      if (this.tick(b.length >> 4)) yield;
    }
    return out;
  }

  /** Selects series from the query's querier, failing the query when the select does. */
  private *select(matchers: readonly Matcher[], mint: number, maxt: number): Steps<StoredSeries[]> {
    const signal = this.ctx.signal;
    return yield* awaitStep(this.ctx.querier.select(matchers, mint, maxt, { signal, onWarning: (m) => this.ctx.warnings.add(m) }));
  }

  /**
   * Instant-vector selector over all steps. With `sampleTime`, each point's
   * value is the chosen sample's own timestamp in seconds (for timestamp()).
   */
  *evalVectorSelector(vs: VectorSelector, sampleTime: boolean): Steps<Series[]> {
    const refs = new Float64Array(this.numSteps);
    let minRef = Infinity, maxRef = -Infinity;
    for (let i = 0; i < this.numSteps; i++) {
      const r = this.refTime(this.stepTime(i), vs.timestamp, vs.startOrEnd, vs.offset);
      refs[i] = r;
      if (r < minRef) minRef = r;
      if (r > maxRef) maxRef = r;
    }
    const lookback = this.ctx.lookback;
    const selected = yield* this.selectSeries(vs, minRef - lookback + 1, maxRef);
    const out: Series[] = [];
    const steps = this.numSteps;
    // Each series' points are gathered here first, then copied into arrays of
    // their exact size (filling those is faster than pushing).
    const foundStep = new Int32Array(steps), foundValue = new Float64Array(steps);
    for (const s of selected) {
      if (this.tick(steps)) yield;
      const st = s.t, sv = s.v, n = s.length;
      let points = 0;
      let j = 0;
      for (let i = 0; i < steps; i++) {
        const ref = refs[i]!;
        if (i > 0 && ref < refs[i - 1]!) j = 0;
        while (j < n && st[j]! <= ref) j++;
        const k = j - 1;
        if (k < 0) continue;
        const t = st[k]!;
        if (t <= ref - lookback) continue;
        const v = sv[k]!;
        if (v !== v && isStaleAt(sv, k)) continue;
        foundStep[points] = i;
        foundValue[points] = sampleTime ? t / 1000 : v;
        points++;
      }
      if (points === 0) continue;
      const ts: number[] = new Array(points), fs: number[] = new Array(points);
      for (let p = 0; p < points; p++) {
        ts[p] = this.stepTime(foundStep[p]!);
        fs[p] = foundValue[p]!;
      }
      this.addSamples(points);
      out.push({ metric: s.metric, ts, fs, dropName: sampleTime });
    }
    return out;
  }

  /** The raw samples and per-step windows of a range argument (matrix selector or subquery). */
  private *evalRangeArg(e: MatrixSelector | SubqueryExpr): Steps<{ series: RangeSeries[]; refs: Float64Array; range: number }> {
    const refs = new Float64Array(this.numSteps);
    let minRef = Infinity, maxRef = -Infinity;
    const sel = e.type === "MatrixSelector" ? e.vectorSelector : e;
    for (let i = 0; i < this.numSteps; i++) {
      const r = this.refTime(this.stepTime(i), sel.timestamp, sel.startOrEnd, sel.offset);
      refs[i] = r;
      if (r < minRef) minRef = r;
      if (r > maxRef) maxRef = r;
    }
    if (e.type === "MatrixSelector") {
      const selected = yield* this.selectSeries(e.vectorSelector, minRef - e.range + 1, maxRef);
      const series: RangeSeries[] = [];
      for (const s of selected) {
        let firstStale = -1;
        const sv = s.v;
        for (let i = 0; i < s.length; i++) {
          const x = sv[i]!;
          if (x !== x && isStaleAt(sv, i)) {
            firstStale = i;
            break;
          }
        }
        if (firstStale < 0) {
          this.addSamples(s.length);
          const whole = s.t.length === s.length && s.v.length === s.length;
          series.push({ metric: s.metric, t: whole ? s.t : s.t.subarray(0, s.length), v: whole ? s.v : s.v.subarray(0, s.length), dropName: false });
          continue;
        }
        let n = 0;
        const t = new Float64Array(s.length), v = new Float64Array(s.length);
        for (let i = 0; i < s.length; i++) {
          if (isStaleAt(s.v, i)) continue;
          t[n] = s.t[i]!;
          v[n] = s.v[i]!;
          n++;
        }
        this.addSamples(n);
        series.push({ metric: s.metric, t: t.subarray(0, n), v: v.subarray(0, n), dropName: false });
      }
      return { series, refs, range: e.range };
    }
    const step = e.step > 0 ? e.step : this.ctx.defaultInterval;
    const lowest = minRef - e.range;
    let innerStart = step * Math.trunc(lowest / step);
    if (innerStart <= lowest) innerStart += step;
    const series: RangeSeries[] = [];
    if (innerStart <= maxRef) {
      const inner = new Evaluator(this.ctx, innerStart, maxRef, step);
      const innerSeries = yield* inner.evalSeries(e.expr);
      // Copied into typed arrays by hand, pausing per series: Float64Array.from
      // over a subquery's millions of points held the event loop for ~60 ms.
      for (let k = 0; k < innerSeries.length; k++) {
        const s = innerSeries[k]!;
        const n = s.ts.length;
        const t = new Float64Array(n), v = new Float64Array(n);
        const sts = s.ts, sfs = s.fs;
        for (let i = 0; i < n; i++) {
          t[i] = sts[i]!;
          v[i] = sfs[i]!;
        }
        this.addSamples(n);
        series.push({ metric: s.metric, t, v, dropName: s.dropName });
        if (this.tick(n >> 2)) yield;
      }
    }
    return { series, refs, range: e.range };
  }

  /** A top-level range vector (instant query of `x[5m]` or a subquery). */
  *evalRangeVector(e: MatrixSelector | SubqueryExpr): Steps<MatrixSeries[]> {
    const { series, refs, range } = yield* this.evalRangeArg(e);
    const ref = refs[0]!;
    const out: MatrixSeries[] = [];
    for (const s of series) {
      const t: number[] = [], v: number[] = [];
      for (let i = 0; i < s.t.length; i++) {
        if (s.t[i]! > ref - range && s.t[i]! <= ref) {
          t.push(s.t[i]!);
          v.push(s.v[i]!);
        }
      }
      if (t.length > 0) out.push({ metric: s.dropName ? s.metric.filter((l) => l.name !== METRIC_NAME) : s.metric, t, v });
    }
    return out;
  }

  // ---------------------------------------------------------------- binary operators

  private *evalBinary(e: BinaryExpr): Steps<Series[]> {
    const lt = valueType(e.lhs), rt = valueType(e.rhs);
    if (lt === "scalar" && rt === "scalar") {
      const l = yield* this.evalScalarPerStep(e.lhs), r = yield* this.evalScalarPerStep(e.rhs);
      return [
        this.constantSeries((ts) => {
          const i = Math.round((ts - this.start) / this.interval);
          const res = binop(e.op, l[i]!, r[i]!);
          return e.returnBool ? (res.keep ? 1 : 0) : res.v;
        }),
      ];
    }
    if (lt === "scalar" || rt === "scalar") {
      const scalarOnLeft = lt === "scalar";
      const scalars = yield* this.evalScalarPerStep(scalarOnLeft ? e.lhs : e.rhs);
      const vec = yield* this.evalSeries(scalarOnLeft ? e.rhs : e.lhs);
      const isComparison = COMPARISON_OPS.has(e.op);
      const out: Series[] = [];
      for (const s of vec) {
        const ts: number[] = [], fs: number[] = [];
        for (let k = 0; k < s.ts.length; k++) {
          const i = Math.round((s.ts[k]! - this.start) / this.interval);
          const sv = scalars[i]!, x = s.fs[k]!;
          const res = scalarOnLeft ? binop(e.op, sv, x) : binop(e.op, x, sv);
          let v = res.v;
          if (isComparison && scalarOnLeft) v = x;
          if (e.returnBool) v = res.keep ? 1 : 0;
          else if (!res.keep) continue;
          ts.push(s.ts[k]!);
          fs.push(v);
        }
        if (ts.length > 0) out.push({ metric: s.metric, ts, fs, dropName: s.dropName || ARITHMETIC_OPS.has(e.op) || e.returnBool });
      }
      return out;
    }
    const lhs = yield* this.evalSeries(e.lhs), rhs = yield* this.evalSeries(e.rhs);
    const isSetOp = e.op === "and" || e.op === "or" || e.op === "unless";
    const matching: VectorMatching = e.matching ?? { card: isSetOp ? "many-to-many" : "one-to-one", matchingLabels: [], on: false, include: [] };
    if (isSetOp) {
      const bySeries = yield* this.setOperationBySeries(e.op as "and" | "or" | "unless", lhs, rhs, matching);
      if (bySeries) return bySeries;
    } else if (matching.card === "one-to-one") {
      const bySeries = yield* this.vectorBinopBySeries(e, lhs, rhs, matching);
      if (bySeries) return bySeries;
    }
    const col = this.collector();
    const metricCache = new WeakMap<Labels, WeakMap<Labels, Labels>>();
    const lIter = this.stepVectors(lhs), rIter = this.stepVectors(rhs);
    for (let i = 0; i < this.numSteps; i++) {
      const [, lv] = lIter.next().value as [number, Sample[]];
      const [, rv] = rIter.next().value as [number, Sample[]];
      const ts = this.stepTime(i);
      let out: Sample[];
      if (e.op === "and") out = this.vectorAnd(lv, rv, matching);
      else if (e.op === "or") out = this.vectorOr(lv, rv, matching);
      else if (e.op === "unless") out = this.vectorUnless(lv, rv, matching);
      else out = this.vectorBinop(e, lv, rv, matching, metricCache);
      col.add(ts, out);
    }
    return col.result();
  }

  /**
   * A one-to-one arithmetic or comparison between vectors, series by series:
   * when no two series of a side share a match signature, each left series
   * meets at most one right series at every step, so each pair is matched
   * once and their points joined, with no objects per step. The result is
   * what vectorBinop step by step gives, series in order of first
   * appearance. Returns null when a side repeats a signature (matching then
   * depends on the step, and may be an error) or two pairs give the same
   * label set, leaving those to the general path.
   */
  private *vectorBinopBySeries(e: BinaryExpr, lhs: Series[], rhs: Series[], m: VectorMatching): Steps<Series[] | null> {
    const rightBySig = new Map<string, Series>();
    for (const r of rhs) {
      const sig = this.signature(r.metric, m);
      if (rightBySig.has(sig)) return null;
      rightBySig.set(sig, r);
    }
    const leftSigs = new Set<string>(), outKeys = new Set<string>();
    const pairs: { out: Series; firstStep: number; index: number }[] = [];
    let total = 0;
    for (let index = 0; index < lhs.length; index++) {
      const l = lhs[index]!;
      const sig = this.signature(l.metric, m);
      if (leftSigs.has(sig)) return null;
      leftSigs.add(sig);
      const r = rightBySig.get(sig);
      if (!r) continue;
      if (this.tick(l.ts.length + r.ts.length)) yield;
      const ts: number[] = [], fs: number[] = [];
      let a = 0, b = 0;
      while (a < l.ts.length && b < r.ts.length) {
        const ta = l.ts[a]!, tb = r.ts[b]!;
        if (ta < tb) a++;
        else if (tb < ta) b++;
        else {
          const res = binop(e.op, l.fs[a]!, r.fs[b]!);
          if (e.returnBool || res.keep) {
            ts.push(ta);
            fs.push(e.returnBool ? (res.keep ? 1 : 0) : res.v);
          }
          a++;
          b++;
        }
      }
      if (ts.length === 0) continue;
      const metric = this.resultMetric(l.metric, r.metric, e.op, m);
      // Two pairs giving one label set (e.g. on(__name__, …) with the name dropped) clash only at shared steps.
      const key = keyOf(metric);
      if (outKeys.has(key)) return null;
      outKeys.add(key);
      const dropName = e.returnBool || (l.dropName && metric.some((x) => x.name === METRIC_NAME));
      pairs.push({ out: { metric, ts, fs, dropName }, firstStep: ts[0]!, index });
      total += ts.length;
    }
    this.addSamples(total);
    this.releaseSamples(total);
    return pairs.sort((x, y) => x.firstStep - y.firstStep || x.index - y.index).map((p) => p.out);
  }

  /**
   * and, or, unless series by series: a series keeps its points at the steps
   * where a series of the other side with its signature is present (and),
   * or absent (unless; or's right side, whose left side is kept whole).
   * The steps each signature is present at are marked once for all series
   * sharing it. The result is what the step-by-step set operations give,
   * series in order of first appearance; null (leaving it to the general
   * path) when two result series would share a label set.
   */
  private *setOperationBySeries(op: "and" | "or" | "unless", lhs: Series[], rhs: Series[], m: VectorMatching): Steps<Series[] | null> {
    const filtered = op === "or" ? rhs : lhs, other = op === "or" ? lhs : rhs;
    const keepWherePresent = op === "and";
    const otherBySig = new Map<string, Series[]>();
    for (const o of other) {
      const sig = this.signature(o.metric, m);
      const list = otherBySig.get(sig);
      if (list) list.push(o);
      else otherBySig.set(sig, [o]);
    }
    const filteredBySig = new Map<string, number[]>();
    filtered.forEach((f, j) => {
      const sig = this.signature(f.metric, m);
      const list = filteredBySig.get(sig);
      if (list) list.push(j);
      else filteredBySig.set(sig, [j]);
    });
    // presentAs[i] === mark: a series of the other side with the current signature has a point at step i.
    const presentAs = new Int32Array(this.numSteps).fill(-1);
    let mark = 0;
    const kept: (Series | null)[] = new Array(filtered.length).fill(null);
    for (const [sig, members] of filteredBySig) {
      mark++;
      for (const o of otherBySig.get(sig) ?? []) {
        if (this.tick(o.ts.length)) yield;
        for (const t of o.ts) presentAs[Math.round((t - this.start) / this.interval)] = mark;
      }
      for (const j of members) {
        const f = filtered[j]!;
        if (this.tick(f.ts.length)) yield;
        const ts: number[] = [], fs: number[] = [];
        for (let k = 0; k < f.ts.length; k++) {
          const present = presentAs[Math.round((f.ts[k]! - this.start) / this.interval)] === mark;
          if (present !== keepWherePresent) continue;
          ts.push(f.ts[k]!);
          fs.push(f.fs[k]!);
        }
        if (ts.length > 0) kept[j] = { metric: f.metric, ts, fs, dropName: f.dropName };
      }
    }
    // Within a step, or puts the left side first, then the right side's additions.
    const results: { out: Series; firstStep: number; side: number; index: number }[] = [];
    if (op === "or") lhs.forEach((l, index) => l.ts.length > 0 && results.push({ out: l, firstStep: l.ts[0]!, side: 0, index }));
    kept.forEach((k, index) => k && results.push({ out: k, firstStep: k.ts[0]!, side: 1, index }));
    const keys = new Set<string>();
    let total = 0;
    for (const r of results) {
      const key = keyOf(r.out.metric);
      if (keys.has(key)) return null;
      keys.add(key);
      total += r.out.ts.length;
    }
    this.addSamples(total);
    this.releaseSamples(total);
    return results.sort((x, y) => x.firstStep - y.firstStep || x.side - y.side || x.index - y.index).map((r) => r.out);
  }

  private readonly signatureCache = new WeakMap<VectorMatching, WeakMap<Labels, string>>();

  private signature(metric: Labels, matching: VectorMatching): string {
    let perMatching = this.signatureCache.get(matching);
    if (!perMatching) {
      perMatching = new WeakMap();
      this.signatureCache.set(matching, perMatching);
    }
    let sig = perMatching.get(metric);
    if (sig === undefined) {
      let parts: Label[];
      if (matching.on) parts = metric.filter((l) => matching.matchingLabels.includes(l.name));
      else parts = metric.filter((l) => l.name !== METRIC_NAME && !matching.matchingLabels.includes(l.name));
      sig = labelsKey(parts);
      perMatching.set(metric, sig);
    }
    return sig;
  }

  /** The match-group signature of a sample; a name awaiting delayed removal still takes part, as in Prometheus. */
  private sampleSignature(s: Sample, matching: VectorMatching): string {
    return this.signature(s.metric, matching);
  }

  private vectorAnd(lhs: Sample[], rhs: Sample[], m: VectorMatching): Sample[] {
    if (lhs.length === 0 || rhs.length === 0) return [];
    const right = new Set(rhs.map((s) => this.sampleSignature(s, m)));
    return lhs.filter((s) => right.has(this.sampleSignature(s, m)));
  }

  private vectorOr(lhs: Sample[], rhs: Sample[], m: VectorMatching): Sample[] {
    if (lhs.length === 0) return rhs;
    if (rhs.length === 0) return lhs;
    const left = new Set(lhs.map((s) => this.sampleSignature(s, m)));
    return [...lhs, ...rhs.filter((s) => !left.has(this.sampleSignature(s, m)))];
  }

  private vectorUnless(lhs: Sample[], rhs: Sample[], m: VectorMatching): Sample[] {
    if (lhs.length === 0 || rhs.length === 0) return lhs;
    const right = new Set(rhs.map((s) => this.sampleSignature(s, m)));
    return lhs.filter((s) => !right.has(this.sampleSignature(s, m)));
  }

  private vectorBinop(e: BinaryExpr, lhsIn: Sample[], rhsIn: Sample[], m: VectorMatching, metricCache: WeakMap<Labels, WeakMap<Labels, Labels>>): Sample[] {
    if (lhsIn.length === 0 || rhsIn.length === 0) return [];
    let lhs = lhsIn, rhs = rhsIn;
    if (m.card === "one-to-many") [lhs, rhs] = [rhs, lhs];
    const rightSigs = new Map<string, Sample>();
    for (const rs of rhs) {
      const sig = this.sampleSignature(rs, m);
      const dup = rightSigs.get(sig);
      if (dup) {
        const oneSide = m.card === "one-to-many" ? "left" : "right";
        const matched = m.on ? rs.metric.filter((l) => m.matchingLabels.includes(l.name)) : rs.metric.filter((l) => l.name !== METRIC_NAME && !m.matchingLabels.includes(l.name));
        throw new EvalError(
          `found duplicate series for the match group ${labelsKey(matched)} on the ${oneSide} hand-side of the operation: [${labelsKey(dup.metric)}, ${labelsKey(rs.metric)}];many-to-many matching not allowed: matching labels must be unique on one side`,
        );
      }
      rightSigs.set(sig, rs);
    }
    const matchedSigs = new Map<string, Set<string> | null>();
    const out: Sample[] = [];
    for (const ls of lhs) {
      const sig = this.sampleSignature(ls, m);
      const rs = rightSigs.get(sig);
      if (!rs) continue;
      let fl = ls.f, fr = rs.f;
      if (m.card === "one-to-many") [fl, fr] = [fr, fl];
      const inserted = matchedSigs.get(sig);
      if (m.card === "one-to-one") {
        if (inserted !== undefined) throw new EvalError("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
        matchedSigs.set(sig, null);
      }
      const res = binop(e.op, fl, fr);
      let v = res.v;
      if (e.returnBool) v = res.keep ? 1 : 0;
      else if (!res.keep) continue;
      let byRight = metricCache.get(ls.metric);
      if (!byRight) {
        byRight = new WeakMap();
        metricCache.set(ls.metric, byRight);
      }
      let metric = byRight.get(rs.metric);
      if (!metric) {
        metric = this.resultMetric(ls.metric, rs.metric, e.op, m);
        byRight.set(rs.metric, metric);
      }
      if (m.card !== "one-to-one") {
        const insSig = keyOf(metric);
        let set = inserted;
        if (!set) {
          set = new Set();
          matchedSigs.set(sig, set);
        } else if (set.has(insSig)) throw new EvalError("multiple matches for labels: grouping labels must ensure unique matches");
        set.add(insSig);
      }
      out.push({ metric, f: v, t: ls.t, dropName: e.returnBool || (ls.dropName && metric.some((l) => l.name === METRIC_NAME)) });
    }
    return out;
  }

  private resultMetric(lhs: Labels, rhs: Labels, op: BinaryOp, m: VectorMatching): Labels {
    let out: Label[] = lhs.slice();
    if (ARITHMETIC_OPS.has(op)) out = out.filter((l) => l.name !== METRIC_NAME);
    if (m.card === "one-to-one") {
      if (m.on) out = out.filter((l) => m.matchingLabels.includes(l.name));
      else out = out.filter((l) => !m.matchingLabels.includes(l.name));
    }
    for (const name of m.include) {
      const v = getLabel(rhs, name);
      out = out.filter((l) => l.name !== name);
      if (v !== "") out.push({ name, value: v });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  // ---------------------------------------------------------------- aggregations

  private *evalAggregate(e: AggregateExpr): Steps<Series[]> {
    let params: Float64Array | null = null;
    let stringParam = "";
    if (e.op === "count_values") {
      stringParam = stringArg(e.param!);
      if (!isValidLabelName(stringParam)) throw new EvalError(`invalid label name ${JSON.stringify(stringParam)}`);
    } else if (e.param) {
      params = yield* this.evalScalarPerStep(e.param);
      if (e.op === "quantile") {
        for (const q of params) if (Number.isNaN(q) || q < 0 || q > 1) this.warn(`quantile value should be between 0 and 1, got ${formatFloatG(q)}`, e.param.pos);
      } else if (e.op === "limit_ratio") {
        for (const r of params) {
          if (r < -1 || r > 1) this.warn(`ratio value should be between -1 and 1, got ${formatFloatG(r)}, capping to ${formatFloatG(Math.max(-1, Math.min(1, r)))}`, e.param.pos);
        }
      }
    }
    const input = yield* this.evalSeries(e.expr);
    const instant = this.numSteps === 1;
    if (isStepwiseAggregation(e.op)) return yield* this.aggregateStepwise(aggregationSteps(e.op, input, this, e.grouping, e.without, params));
    if ((e.op === "topk" || e.op === "bottomk") && !instant) {
      return yield* this.aggregateStepwise(topBottomKSteps(e.op, input, this, e.grouping, e.without, params!, keyOf));
    }
    const col = this.collector();
    const groupCache = new WeakMap<Labels, GroupKey>();
    for (const [i, vec] of this.stepVectors(input)) {
      if (this.tick()) yield;
      if (vec.length === 0 && e.op !== "topk" && e.op !== "bottomk" && e.op !== "limitk" && e.op !== "limit_ratio") continue;
      let out: Sample[];
      try {
        out = aggregate(e.op, vec, { grouping: e.grouping, without: e.without, param: params ? params[i]! : NaN, stringParam, instant, groupCache });
      } catch (err) {
        if (err instanceof EvalError) throw err;
        throw new EvalError((err as Error).message);
      }
      col.add(this.stepTime(i), out);
    }
    return col.result();
  }

  /**
   * Runs a whole-range aggregation, checking the deadline each step and
   * holding its output points against the sample limit until it is done.
   */
  private *aggregateStepwise(steps: AggregationSteps): Steps<Series[]> {
    let total = 0;
    let out: Series[];
    try {
      for (;;) {
        const r = steps.next();
        if (r.done) {
          out = r.value;
          break;
        }
        const points = r.value;
        if (points < 0) {
          if (this.tick(-points)) yield;
          continue;
        }
        if (this.tick(1 + points)) yield;
        total += points;
        this.addSamples(points);
      }
    } catch (err) {
      if (err instanceof EvalError) throw err;
      throw new EvalError((err as Error).message);
    }
    this.releaseSamples(total);
    return out;
  }

  // ---------------------------------------------------------------- functions

  private *evalCall(e: Call): Steps<Series[]> {
    const name = e.func.name;
    const args = e.args;
    switch (name) {
      case "time":
        return [this.constantSeries((ts) => ts / 1000)];
      case "pi":
        return [this.constantSeries(() => Math.PI)];
      case "step":
        return [this.constantSeries(() => this.ctx.step / 1000)];
      case "range":
        return [this.constantSeries(() => (this.ctx.end - this.ctx.start) / 1000)];
      case "start":
        return [this.constantSeries(() => this.ctx.start / 1000)];
      case "end":
        return [this.constantSeries(() => this.ctx.end / 1000)];
      case "min_of":
      case "max_of": {
        const a = yield* this.evalScalarPerStep(args[0]!), b = yield* this.evalScalarPerStep(args[1]!);
        return [
          this.constantSeries((ts) => {
            const i = Math.round((ts - this.start) / this.interval);
            const x = a[i]!, y = b[i]!;
            if (Number.isNaN(x) || Number.isNaN(y)) return NaN;
            return name === "min_of" ? Math.min(x, y) : Math.max(x, y);
          }),
        ];
      }
      case "vector": {
        const v = yield* this.evalScalarPerStep(args[0]!);
        const s = this.constantSeries((ts) => v[Math.round((ts - this.start) / this.interval)]!);
        return [s];
      }
      case "scalar": {
        const input = yield* this.evalSeries(args[0]!);
        const values = new Float64Array(this.numSteps).fill(NaN);
        for (const [i, vec] of this.stepVectors(input)) if (vec.length === 1) values[i] = vec[0]!.f;
        return [this.constantSeries((ts) => values[Math.round((ts - this.start) / this.interval)]!)];
      }
      case "timestamp": {
        const arg = unwrapParens(args[0]!);
        if (arg.type === "VectorSelector") return yield* this.evalVectorSelector(arg, true);
        const input = yield* this.evalSeries(arg);
        return input.map((s) => ({ metric: s.metric, ts: s.ts, fs: s.ts.map((t) => t / 1000), dropName: true }));
      }
      case "label_replace":
        return yield* this.evalLabelReplace(e);
      case "label_join":
        return yield* this.evalLabelJoin(e);
      case "absent":
        return yield* this.evalAbsent(e);
      case "absent_over_time":
        return yield* this.evalAbsentOverTime(e);
      case "histogram_quantile":
      case "histogram_quantiles":
      case "histogram_fraction":
        return yield* this.evalHistogramFunction(e);
      case "sort":
      case "sort_desc":
      case "sort_by_label":
      case "sort_by_label_desc": {
        const input = yield* this.evalSeries(args[0]!);
        if (this.numSteps !== 1) return input;
        const vec: Sample[] = input.map((s) => ({ metric: s.metric, f: s.fs[0]!, t: s.ts[0]!, dropName: s.dropName }));
        let sorted: Sample[];
        if (name === "sort") sorted = sortByValueAsc(vec);
        else if (name === "sort_desc") sorted = sortByValueDesc(vec);
        else sorted = sortByLabels(vec, args.slice(1).map(stringArg), name === "sort_by_label_desc");
        return sorted.map((s) => ({ metric: s.metric, ts: [s.t], fs: [s.f], dropName: s.dropName }));
      }
      case "clamp":
      case "clamp_min":
      case "clamp_max": {
        const input = yield* this.evalSeries(args[0]!);
        const p1 = yield* this.evalScalarPerStep(args[1]!);
        const p2 = args[2] ? yield* this.evalScalarPerStep(args[2]) : null;
        return yield* this.mapSeries(input, (f, i) => {
          const lo = name === "clamp_max" ? -Infinity : p1[i]!;
          const hi = name === "clamp" ? p2![i]! : name === "clamp_max" ? p1[i]! : Infinity;
          if (hi < lo) return null;
          return Math.max(lo, Math.min(hi, f));
        });
      }
      case "round": {
        const input = yield* this.evalSeries(args[0]!);
        const p = args[1] ? yield* this.evalScalarPerStep(args[1]) : null;
        return yield* this.mapSeries(input, (f, i) => roundTo(f, p ? p[i]! : 1));
      }
    }
    const simple = SIMPLE_FUNCTIONS[name];
    if (simple) return yield* this.mapSeries(yield* this.evalSeries(args[0]!), (f) => simple(f));
    const date = DATE_FUNCTIONS[name];
    if (date) {
      if (args.length === 0) return [this.constantSeries((ts) => date(Math.trunc(ts / 1000)))];
      return yield* this.mapSeries(yield* this.evalSeries(args[0]!), (f) => date(f));
    }
    if (RANGE_KERNELS[name]) return yield* this.evalRangeFunction(e);
    if (name === "info") return yield* this.evalInfo(e);
    // The remaining histogram_* functions read native histograms only, which float data never are.
    if (name.startsWith("histogram_")) return [];
    throw new EvalError(`function "${name}" is not supported`);
  }

  /** Element-wise transform; `null` drops the point. Output drops the metric name. */
  private *mapSeries(input: Series[], fn: (f: number, step: number) => number | null): Steps<Series[]> {
    const out: Series[] = [];
    for (const s of input) {
      const ts: number[] = [], fs: number[] = [];
      for (let k = 0; k < s.ts.length; k++) {
        const step = Math.round((s.ts[k]! - this.start) / this.interval);
        const v = fn(s.fs[k]!, step);
        if (v === null) continue;
        ts.push(s.ts[k]!);
        fs.push(v);
      }
      if (ts.length > 0) out.push({ metric: s.metric, ts, fs, dropName: true });
    }
    return out;
  }

  private rangeArgIndex(e: Call): number {
    return e.args.findIndex((a) => {
      const u = unwrapParens(a);
      return u.type === "MatrixSelector" || u.type === "SubqueryExpr";
    });
  }

  private *evalRangeFunction(e: Call): Steps<Series[]> {
    const name = e.func.name;
    const idx = this.rangeArgIndex(e);
    if (idx < 0) throw new EvalError(`expected range vector argument for ${name}`);
    const rangeExpr = unwrapParens(e.args[idx]!) as MatrixSelector | SubqueryExpr;
    const paramExprs = e.args.filter((_, i) => i !== idx);
    const params: Float64Array[] = [];
    for (const p of paramExprs) params.push(yield* this.evalScalarPerStep(p));
    const { series, refs, range } = yield* this.evalRangeArg(rangeExpr);
    if (name === "quantile_over_time" && series.some((s) => s.t.length > 0)) {
      for (const q of params[0]!) if (Number.isNaN(q) || q < 0 || q > 1) this.warn(`quantile value should be between 0 and 1, got ${formatFloatG(q)}`, e.args[0]!.pos);
    }
    if (name === "double_exponential_smoothing" && series.length > 0) {
      for (let i = 0; i < this.numSteps; i++) {
        const sf = params[0]![i]!, tf = params[1]![i]!;
        if (!(sf > 0 && sf < 1)) throw new EvalError(`invalid smoothing factor. Expected: 0 < sf < 1, got: ${sf.toFixed(6)}`);
        if (!(tf > 0 && tf < 1)) throw new EvalError(`invalid trend factor. Expected: 0 < tf < 1, got: ${tf.toFixed(6)}`);
      }
    }
    const keepName = name === "last_over_time" || name === "first_over_time";
    const steps = this.numSteps;
    // Steps are run in blocks small enough that one kernel call stays a short slice of work.
    const blockSteps = kernelBlockSteps(name, series, range, refs);
    const batch: KernelBatch = this.ctx.wasm
      ? new WasmKernelBatch(name, refs, range, this.start, this.interval, params, this.ctx.wasm)
      : new JsKernelBatch(name, refs, range, this.start, this.interval, params);
    const out: Series[] = [];
    try {
      const values = new Float64Array(steps), present = new Uint8Array(steps);
      for (const s of series) {
        if (blockSteps >= steps) {
          if (this.tick(steps)) yield;
          const r = batch.run(s.t, s.v);
          values.set(r.values);
          present.set(r.present);
        } else {
          for (let first = 0; first < steps; first += blockSteps) {
            const count = Math.min(blockSteps, steps - first);
            let lo = Infinity, hi = -Infinity;
            for (let i = first; i < first + count; i++) {
              lo = Math.min(lo, refs[i]! - range);
              hi = Math.max(hi, refs[i]!);
            }
            // Only the samples the block's windows can see are copied in.
            const a = upperBound(s.t, lo), b = upperBound(s.t, hi);
            const r = batch.run(s.t.subarray(a, b), s.v.subarray(a, b), first, count);
            values.set(r.values, first);
            present.set(r.present, first);
            yield;
          }
        }
        let points = 0;
        for (let i = 0; i < steps; i++) points += present[i]!;
        // Sized up front: filling a preallocated array is about twice as fast as pushing.
        const ts: number[] = new Array(points), fs: number[] = new Array(points);
        for (let i = 0, k = 0; k < points; i++) {
          if (present[i] === 0) continue;
          ts[k] = this.stepTime(i);
          fs[k] = values[i]!;
          k++;
        }
        if (points > 0) {
          this.addSamples(ts.length);
          out.push({ metric: s.metric, ts, fs, dropName: keepName ? s.dropName : true });
        }
      }
    } finally {
      batch.close();
      this.releaseSamples(series.reduce((n, s) => n + s.t.length, 0));
    }
    this.nonCounterInfo(name, rangeExpr, out, e.args[idx]!.pos);
    return out;
  }

  /** rate()/increase() over a selector whose name does not look like a counter's: Prometheus's info annotation. */
  private nonCounterInfo(name: string, rangeExpr: MatrixSelector | SubqueryExpr, out: Series[], pos: PosRange): void {
    if ((name !== "rate" && name !== "increase") || rangeExpr.type !== "MatrixSelector") return;
    for (const s of out) {
      const metricName = getLabel(s.metric, METRIC_NAME);
      if (metricName && !/(_total|_sum|_count|_bucket)$/.test(metricName)) {
        this.info(`metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${JSON.stringify(metricName)}`, pos);
        return;
      }
    }
  }

  /**
   * info(v, [selector]): adds the data labels of info series (target_info
   * unless the selector names others) that share v's identifying labels
   * (instance, job); selector matchers on other labels choose which data
   * labels to add and drop series without a matching info series.
   */
  private *evalInfo(e: Call): Steps<Series[]> {
    const base = yield* this.evalSeries(e.args[0]!);
    const selector = e.args[1] ? unwrapParens(e.args[1]) : null;
    const selectorMatchers = selector && selector.type === "VectorSelector" ? selector.matchers : [];
    const infoNameMatchers = selector ? selectorMatchers.filter((m) => m.name === METRIC_NAME) : [newMatcher("=", METRIC_NAME, TARGET_INFO)];
    const dataMatchers = new Map<string, Matcher[]>();
    for (const m of selectorMatchers) if (m.name !== METRIC_NAME) dataMatchers.set(m.name, [...(dataMatchers.get(m.name) ?? []), m]);
    // Base series that are themselves info series (named by a positive name matcher) are passed through.
    const ignored = new Set<Series>();
    if (infoNameMatchers.some((m) => m.type === "=" || m.type === "=~")) {
      for (const s of base) if (infoNameMatchers.every((m) => m.matches(getLabel(s.metric, METRIC_NAME)))) ignored.add(s);
    }
    const idValues = new Map<string, Set<string>>();
    for (const s of base) {
      if (ignored.has(s)) continue;
      for (const l of IDENTIFYING_LABELS) {
        const v = getLabel(s.metric, l);
        if (v === "") continue;
        if (!idValues.has(l)) idValues.set(l, new Set());
        idValues.get(l)!.add(v);
      }
    }
    const infoSeries = idValues.size === 0 ? [] : yield* this.selectInfoSeries(e.args[0]!, idValues, selectorMatchers);
    const infoSig = (name: string, metric: Labels): string =>
      keyOf([{ name: METRIC_NAME, value: name }, ...metric.filter((l) => IDENTIFYING_LABELS.includes(l.name))]);
    const infoNames = [...new Set(infoSeries.map((s) => getLabel(s.metric, METRIC_NAME)))];
    const col = this.collector();
    const baseIter = this.stepVectors(base), infoIter = this.stepVectors(infoSeries);
    const baseBySample = new Map<Labels, Series>(base.map((s) => [s.metric, s]));
    for (let i = 0; i < this.numSteps; i++) {
      const [, bv] = baseIter.next().value as [number, Sample[]];
      const [, iv] = infoIter.next().value as [number, Sample[]];
      const newest = new Map<string, Sample>();
      for (const s of iv) {
        const sig = infoSig(getLabel(s.metric, METRIC_NAME), s.metric);
        const existing = newest.get(sig);
        if (!existing || existing.f < s.f) newest.set(sig, s);
        else if (existing.f === s.f) {
          throw new EvalError(`found duplicate series for info metric: existing ${labelsKey(existing.metric)} @ ${existing.f}, new ${labelsKey(s.metric)} @ ${s.f}`);
        }
      }
      const out: Sample[] = [];
      for (const b of bv) {
        if (ignored.has(baseBySample.get(b.metric)!)) {
          out.push(b);
          continue;
        }
        const added = new Map<string, string>();
        let matched = 0;
        for (const infoName of infoNames) {
          const info = newest.get(infoSig(infoName, b.metric));
          if (!info) continue;
          matched++;
          for (const l of info.metric) {
            if (l.name === METRIC_NAME) continue;
            if (dataMatchers.size > 0 && !dataMatchers.has(l.name)) continue;
            const prev = added.get(l.name);
            if (prev !== undefined && prev !== l.value) throw new EvalError(`conflicting label: ${l.name}`);
            if (getLabel(b.metric, l.name) !== "") continue;
            added.set(l.name, l.value);
          }
        }
        if (matched === 0 && [...dataMatchers.values()].some((ms) => ms.some((m) => !m.matches("")))) continue;
        let metric = b.metric;
        for (const [n, v] of added) metric = setLabelValue(metric, n, v);
        out.push({ metric, f: b.f, t: b.t, dropName: b.dropName });
      }
      col.add(this.stepTime(i), out);
    }
    return col.result();
  }

  /**
   * The info series for info(): selected over the lookback window of the
   * first selector in `arg` (honouring its `@` and offset), with each step's
   * value being the time (ms) of the sample in effect, to pick the newest.
   */
  private *selectInfoSeries(arg: Expr, idValues: Map<string, Set<string>>, selectorMatchers: Matcher[]): Steps<Series[]> {
    const matchers: Matcher[] = [];
    for (const [name, values] of idValues) matchers.push(newMatcher("=~", name, [...values].map(quoteMeta).join("|")));
    matchers.push(...selectorMatchers);
    const nameMatchers = selectorMatchers.filter((m) => m.name === METRIC_NAME);
    if (nameMatchers.length === 0) matchers.unshift(newMatcher("=", METRIC_NAME, TARGET_INFO));
    else if (!nameMatchers.some((m) => m.type === "=" || m.type === "=~")) matchers.unshift(newMatcher("=~", METRIC_NAME, ".+_info"));
    let pinned: number | null = null, offset = 0, found = false;
    walk(arg, (node) => {
      if (found || node.type !== "VectorSelector") return;
      found = true;
      pinned = node.timestamp ?? (node.startOrEnd === "start" ? this.ctx.start : node.startOrEnd === "end" ? this.ctx.end : null);
      offset = node.offset;
    });
    const from = (pinned ?? this.start) - this.ctx.lookback + 1 - offset;
    const to = (pinned ?? this.end) - offset;
    const out: Series[] = [];
    for (const s of yield* this.select(matchers, from, to)) {
      if (this.tick(this.numSteps)) yield;
      const b = s.samples();
      const ts: number[] = [], fs: number[] = [];
      let j = 0;
      for (let i = 0; i < this.numSteps; i++) {
        const ref = this.stepTime(i);
        while (j < b.length && b.t[j]! <= ref) j++;
        const k = j - 1;
        if (k < 0 || b.t[k]! <= ref - this.ctx.lookback || isStaleAt(b.v, k)) continue;
        ts.push(ref);
        fs.push(b.t[k]!);
      }
      if (ts.length > 0) out.push({ metric: s.labels, ts, fs, dropName: false });
    }
    return out;
  }

  private mergeSameLabelset(series: Series[]): Series[] {
    const byKey = new Map<string, Series>();
    const out: Series[] = [];
    for (const s of series) {
      const key = labelsKey(s.metric);
      const prev = byKey.get(key);
      if (!prev) {
        byKey.set(key, s);
        out.push(s);
        continue;
      }
      mergePointsInto(prev, s);
    }
    return out;
  }

  private *evalLabelReplace(e: Call): Steps<Series[]> {
    const [dst, repl, src, regexStr] = e.args.slice(1).map(stringArg) as [string, string, string, string];
    let re: RE2Regexp;
    try {
      re = compileRE2(regexStr);
    } catch {
      throw new EvalError(`invalid regular expression in label_replace(): ${regexStr}`);
    }
    if (!isValidLabelName(dst)) throw new EvalError(`invalid destination label name in label_replace(): ${dst}`);
    const input = yield* this.evalSeries(e.args[0]!);
    for (const s of input) {
      const srcVal = getLabel(s.metric, src);
      const m = re.exec(srcVal);
      if (!m) continue;
      const value = expandRegexpTemplate(repl, m);
      s.metric = setLabelValue(s.metric, dst, value);
      if (dst === METRIC_NAME) s.dropName = false;
    }
    return this.mergeSameLabelset(input);
  }

  private *evalLabelJoin(e: Call): Steps<Series[]> {
    const strs = e.args.slice(1).map(stringArg);
    const dst = strs[0]!, sep = strs[1]!, srcs = strs.slice(2);
    for (const src of srcs) if (!isValidLabelName(src)) throw new EvalError(`invalid source label name in label_join(): ${src}`);
    if (!isValidLabelName(dst)) throw new EvalError(`invalid destination label name in label_join(): ${dst}`);
    const input = yield* this.evalSeries(e.args[0]!);
    for (const s of input) {
      const value = srcs.map((n) => getLabel(s.metric, n)).join(sep);
      s.metric = setLabelValue(s.metric, dst, value);
      if (dst === METRIC_NAME) s.dropName = false;
    }
    return this.mergeSameLabelset(input);
  }

  private absentLabels(arg: Expr): Labels {
    const u = unwrapParens(arg);
    let matchers: Matcher[];
    if (u.type === "VectorSelector") matchers = u.matchers;
    else if (u.type === "MatrixSelector") matchers = u.vectorSelector.matchers;
    else return [];
    // In matcher order, as Prometheus: the first equality matcher of a name sets it, any
    // other matcher of that name removes it again, and only a first equality can set it —
    // so x{a!="1", a="2"} gives {a="2"} but x{a="2", a!="1"} and x{a="1", a="2"} give {}.
    const values = new Map<string, string>();
    const setOnce = new Set<string>();
    for (const m of matchers) {
      if (m.name === METRIC_NAME) continue;
      if (m.type === "=" && !setOnce.has(m.name)) {
        values.set(m.name, m.value);
        setOnce.add(m.name);
      } else values.delete(m.name);
    }
    const out: Label[] = [];
    for (const [name, value] of values) if (value !== "") out.push({ name, value });
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private *evalAbsent(e: Call): Steps<Series[]> {
    const input = yield* this.evalSeries(e.args[0]!);
    const present = new Uint8Array(this.numSteps);
    for (const s of input) for (const t of s.ts) present[Math.round((t - this.start) / this.interval)] = 1;
    const ts: number[] = [], fs: number[] = [];
    for (let i = 0; i < this.numSteps; i++) {
      if (!present[i]) {
        ts.push(this.stepTime(i));
        fs.push(1);
      }
    }
    return ts.length ? [{ metric: this.absentLabels(e.args[0]!), ts, fs, dropName: false }] : [];
  }

  private *evalAbsentOverTime(e: Call): Steps<Series[]> {
    const arg = unwrapParens(e.args[0]!) as MatrixSelector | SubqueryExpr;
    const { series, refs, range } = yield* this.evalRangeArg(arg);
    const ts: number[] = [], fs: number[] = [];
    for (let i = 0; i < this.numSteps; i++) {
      const ref = refs[i]!;
      let found = false;
      for (const s of series) {
        for (let k = 0; k < s.t.length && !found; k++) if (s.t[k]! > ref - range && s.t[k]! <= ref) found = true;
        if (found) break;
      }
      if (!found) {
        ts.push(this.stepTime(i));
        fs.push(1);
      }
    }
    return ts.length ? [{ metric: this.absentLabels(arg), ts, fs, dropName: false }] : [];
  }

  private *evalHistogramFunction(e: Call): Steps<Series[]> {
    const name = e.func.name;
    let vecArg: Expr;
    let quantileArgs: Expr[] = [];
    let quantileLabel = "";
    if (name === "histogram_quantile") {
      vecArg = e.args[1]!;
      quantileArgs = [e.args[0]!];
    } else if (name === "histogram_quantiles") {
      vecArg = e.args[0]!;
      quantileLabel = stringArg(e.args[1]!);
      quantileArgs = e.args.slice(2);
    } else vecArg = e.args[2]!;
    const qs: Float64Array[] = [];
    for (const a of quantileArgs) qs.push(yield* this.evalScalarPerStep(a));
    const lower = name === "histogram_fraction" ? yield* this.evalScalarPerStep(e.args[0]!) : null;
    const upper = name === "histogram_fraction" ? yield* this.evalScalarPerStep(e.args[1]!) : null;
    const input = yield* this.evalSeries(vecArg);
    // Each series' bucket bound and histogram are found once, not at every step.
    const perSeries = input.map((s) => bucketSeries(s.metric));
    const histogramOf = new Int32Array(input.length);
    const histograms: BucketGroup[] = [];
    const histogramByKey = new Map<string, number>();
    perSeries.forEach((b, j) => {
      if (b.upperBound === null) {
        histogramOf[j] = -1;
        return;
      }
      let h = histogramByKey.get(b.key);
      if (h === undefined) {
        h = histograms.length;
        histogramByKey.set(b.key, h);
        histograms.push({ metric: b.metric, buckets: [] });
      }
      histogramOf[j] = h;
    });
    const seenAt = new Int32Array(histograms.length).fill(-1);
    const warned = new Uint8Array(input.length);
    const pos = new Int32Array(input.length);
    const col = this.collector();
    for (let i = 0; i < this.numSteps; i++) {
      if (this.tick()) yield;
      const ts = this.stepTime(i);
      qs.forEach((q, k) => {
        const v = q[i]!;
        if (Number.isNaN(v) || v < 0 || v > 1) this.warn(`quantile value should be between 0 and 1, got ${formatFloatG(v)}`, quantileArgs[k]!.pos);
      });
      const groups: BucketGroup[] = [];
      for (let j = 0; j < input.length; j++) {
        const s = input[j]!;
        const p = pos[j]!;
        if (p >= s.ts.length || s.ts[p] !== ts) continue;
        pos[j] = p + 1;
        const h = histogramOf[j]!;
        const b = perSeries[j]!;
        if (h < 0) {
          // The warning is the same at every step: built once per series.
          if (warned[j] === 0) {
            warned[j] = 1;
            const metricName = getLabel(s.metric, METRIC_NAME);
            this.warn(`bucket label "le" is missing or has a malformed value of ${JSON.stringify(b.le)} for metric name ${JSON.stringify(metricName)}`, vecArg.pos);
          }
          continue;
        }
        const g = histograms[h]!;
        if (seenAt[h] !== i) {
          seenAt[h] = i;
          g.buckets = [];
          groups.push(g);
        }
        g.buckets.push({ upperBound: b.upperBound!, count: s.fs[p]! });
      }
      const out: Sample[] = [];
      if (lower && upper) {
        for (const g of groups) out.push({ metric: g.metric, f: bucketFraction(lower[i]!, upper[i]!, g.buckets), t: ts, dropName: true });
      } else {
        for (const q of qs) {
          for (const g of groups) {
            const r = bucketQuantile(q[i]!, g.buckets.map((b) => ({ ...b })));
            if (r.forcedMonotonicity) {
              this.info(
                `input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name ${JSON.stringify(getLabel(g.metric, METRIC_NAME))}`,
                vecArg.pos,
              );
            }
            const metric = quantileLabel ? setLabelValue(g.metric, quantileLabel, formatOpenMetricsFloat(q[i]!)) : g.metric;
            out.push({ metric, f: r.value, t: ts, dropName: true });
          }
        }
      }
      col.add(ts, out);
    }
    return col.result();
  }
}

/** Index of the first element of sorted `t` greater than `x`. */
function upperBound(t: Float64Array, x: number): number {
  let lo = 0, hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Work one kernel call may do (sample visits; a sort of n samples counts n·log2 n), about a millisecond. */
const KERNEL_CALL_WORK = 100_000;

/**
 * How many steps one kernel call covers: all of them, unless the windows
 * hold so many samples (long ranges over dense series, subqueries with fine
 * steps) that a call per series would hold the event loop too long.
 */
function kernelBlockSteps(name: string, series: readonly RangeSeries[], range: number, refs: Float64Array): number {
  const steps = refs.length;
  let densest = 0;
  for (const s of series) {
    const n = s.t.length;
    if (n < 2) continue;
    const span = s.t[n - 1]! - s.t[0]!;
    densest = Math.max(densest, span > 0 ? Math.min(n, (n * range) / span) : n);
  }
  const sorts = name === "quantile_over_time" || name === "mad_over_time";
  const perStep = densest * (sorts ? 2 * Math.max(1, Math.log2(densest)) : 1);
  if (perStep * steps <= KERNEL_CALL_WORK) return steps;
  return Math.max(1, Math.floor(KERNEL_CALL_WORK / Math.max(1, perStep)));
}

/** The info metric info() reads when its selector names none. */
const TARGET_INFO = "target_info";
/** Labels that tie a series to its info series. */
const IDENTIFYING_LABELS = ["instance", "job"];



function setLabelValue(ls: Labels, name: string, value: string): Labels {
  const out = ls.filter((l) => l.name !== name);
  if (value !== "") out.push({ name, value });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Rejects series that would share a label set at one step once their
 * `__name__` is dropped. promts removes names only at the end (finalizeSeries),
 * but Prometheus (delayed name removal off, as by default) drops them right
 * after the operator or function, and two series meeting there are an error
 * even if a later aggregation would merge them: `avg(exp({__name__=~"a|b"}))`
 * fails when a and b carry the same other labels.
 */
function rejectNameClashes(series: Series[]): Series[] {
  if (!series.some((s) => s.dropName && s.metric.some((l) => l.name === METRIC_NAME))) return series;
  // Series that were distinct and all lose the same name stay distinct (the common rate(x[5m])).
  const firstName = series[0]!.metric.find((l) => l.name === METRIC_NAME)?.value;
  if (series.every((s) => s.dropName && s.metric.find((l) => l.name === METRIC_NAME)?.value === firstName)) return series;
  // Step sets are built only for label sets seen more than once.
  const firstByKey = new Map<string, Series>();
  const stepsByKey = new Map<string, Set<number>>();
  for (const s of series) {
    const key = s.dropName ? namelessKeyOf(s.metric) : keyOf(s.metric);
    const first = firstByKey.get(key);
    if (!first) {
      firstByKey.set(key, s);
      continue;
    }
    let steps = stepsByKey.get(key);
    if (!steps) {
      steps = new Set(first.ts);
      stepsByKey.set(key, steps);
    }
    for (const t of s.ts) {
      if (steps.has(t)) throw new EvalError("vector cannot contain metrics with the same labelset");
      steps.add(t);
    }
  }
  return series;
}

/**
 * Interleaves `from`'s points into `into` (both sorted by time), for two
 * series that ended up with the same label set. A shared timestamp means
 * two samples for one series at one step, which PromQL rejects.
 */
function mergePointsInto(into: Series, from: Series): void {
  const ts: number[] = [], fs: number[] = [];
  let a = 0, b = 0;
  while (a < into.ts.length || b < from.ts.length) {
    if (b >= from.ts.length || (a < into.ts.length && into.ts[a]! < from.ts[b]!)) {
      ts.push(into.ts[a]!);
      fs.push(into.fs[a++]!);
    } else if (a >= into.ts.length || from.ts[b]! < into.ts[a]!) {
      ts.push(from.ts[b]!);
      fs.push(from.fs[b++]!);
    } else throw new EvalError("vector cannot contain metrics with the same labelset");
  }
  into.ts = ts;
  into.fs = fs;
}

/** Removes `__name__` where delayed removal asked for it, then rejects label-set clashes. */
function finalizeSeries(series: Series[], instant: boolean): Series[] {
  const byKey = new Map<string, Series>();
  const out: Series[] = [];
  for (const s of series) {
    const metric = s.dropName ? s.metric.filter((l) => l.name !== METRIC_NAME) : s.metric;
    const key = labelsKey(metric);
    const prev = byKey.get(key);
    if (!prev) {
      const copy = { metric, ts: s.ts, fs: s.fs, dropName: false };
      byKey.set(key, copy);
      out.push(copy);
      continue;
    }
    if (instant) throw new EvalError("vector cannot contain metrics with the same labelset");
    mergePointsInto(prev, s);
  }
  return out;
}

function compareMetrics(a: { metric: Labels }, b: { metric: Labels }): number {
  const n = Math.min(a.metric.length, b.metric.length);
  for (let i = 0; i < n; i++) {
    const x = a.metric[i]!, y = b.metric[i]!;
    if (x.name !== y.name) return x.name < y.name ? -1 : 1;
    if (x.value !== y.value) return x.value < y.value ? -1 : 1;
  }
  return a.metric.length - b.metric.length;
}

/**
 * The [mint, maxt] every selector of `expr` may read when evaluated over
 * start..end (ms), as Prometheus's FindMinMaxTime: offsets, `@`, ranges,
 * subquery ranges and the lookback delta widen it. Null when the
 * expression reads no series (a constant query opens no querier).
 */
export function selectedTimeRange(expr: Expr, start: number, end: number, lookback: number): [number, number] | null {
  let mint = Infinity, maxt = -Infinity;
  const refRange = (
    sel: { timestamp: number | null; startOrEnd: "start" | "end" | null; offset: number },
    lo: number,
    hi: number,
  ): [number, number] => {
    if (sel.timestamp !== null) return [sel.timestamp - sel.offset, sel.timestamp - sel.offset];
    if (sel.startOrEnd === "start") return [start - sel.offset, start - sel.offset];
    if (sel.startOrEnd === "end") return [end - sel.offset, end - sel.offset];
    return [lo - sel.offset, hi - sel.offset];
  };
  const visit = (e: Expr, lo: number, hi: number): void => {
    if (e.type === "VectorSelector") {
      const [a, b] = refRange(e, lo, hi);
      mint = Math.min(mint, a - lookback);
      maxt = Math.max(maxt, b);
    } else if (e.type === "MatrixSelector") {
      const [a, b] = refRange(e.vectorSelector, lo, hi);
      mint = Math.min(mint, a - e.range);
      maxt = Math.max(maxt, b);
    } else if (e.type === "SubqueryExpr") {
      const [a, b] = refRange(e, lo, hi);
      visit(e.expr, a - e.range, b);
    } else {
      for (const c of children(e)) visit(c, lo, hi);
    }
  };
  visit(expr, start, end);
  return mint <= maxt ? [mint, maxt] : null;
}

/**
 * Takes turns among running queries: each waiter gets one event-loop turn of
 * its own, in arrival order, so with N queries running the event loop still
 * gets a turn after every slice (not after N slices), and every query
 * progresses at the same pace.
 */
class TurnScheduler {
  private readonly queue: (() => void)[] = [];
  private scheduled = false;

  /** Resolves when the caller's turn comes, after the event loop has had its turn. */
  wait(): Promise<void> {
    return new Promise((resolve) => {
      this.queue.push(resolve);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const next = this.queue.shift();
      if (this.queue.length > 0) this.schedule();
      next?.();
    });
  }
}

/** A counting semaphore queueing queries beyond the concurrency limit; a cancelled wait leaves the queue. */
class QueryGate {
  private running = 0;
  private readonly waiting: { grant: () => void }[] = [];

  constructor(private readonly limit: number) {}

  /** Waits for a free slot; rejects with the signal's reason when it aborts first. */
  async acquire(signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw signal.reason;
    if (this.running < this.limit) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const entry = {
        grant: () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next.grant();
    else this.running--;
  }

  /** Queries running and waiting. */
  get load(): { running: number; queued: number } {
    return { running: this.running, queued: this.waiting.length };
  }
}

/**
 * Evaluates PromQL queries against storage without holding the event loop:
 * the evaluation runs in slices of at most `sliceMs` of synchronous work,
 * giving the event loop its turn between slices, so scrapes, appends, rules
 * and HTTP keep their timing while queries run; concurrent queries
 * interleave. Queries beyond `maxConcurrency` wait their turn; each query is
 * bounded by `timeout` (checked between slices, so it stops within a slice
 * of its deadline) and `maxSamples`, and stops when its `signal` aborts,
 * failing with Prometheus's messages.
 *
 * @example
 * const engine = new Engine({ lookbackDelta: 5 * 60_000 });
 * const { value } = await engine.rangeQuery(q, "rate(x_total[5m])", 0, 3600_000, 60_000);
 */
export class Engine {
  private readonly lookbackDelta: number;
  private readonly timeout: number;
  private readonly maxSamples: number;
  private readonly defaultEvaluationInterval: number;
  private readonly gate: QueryGate;
  private readonly wasm: KernelWasm | null;
  private readonly sliceMs: number;
  private readonly turns = new TurnScheduler();

  constructor(opts: EngineOptions = {}) {
    this.wasm = (opts.rangeKernels ?? "wasm") === "wasm" ? kernelWasm() : null;
    this.lookbackDelta = opts.lookbackDelta ?? 5 * 60_000;
    this.timeout = opts.timeout ?? 2 * 60_000;
    this.maxSamples = opts.maxSamples ?? 50_000_000;
    this.defaultEvaluationInterval = opts.defaultEvaluationInterval ?? 60_000;
    this.gate = new QueryGate(Math.max(1, opts.maxConcurrency ?? 20));
    this.sliceMs = opts.sliceMs ?? DEFAULT_SLICE_MS;
    const maxConcurrency = Math.max(1, opts.maxConcurrency ?? 20);
    opts.registry?.gaugeFunc("prometheus_engine_queries", "The current number of queries being executed or waiting.", () => {
      const { running, queued } = this.gate.load;
      return running + queued;
    });
    opts.registry?.gaugeFunc("prometheus_engine_queries_concurrent_max", "The max number of concurrent queries.", () => maxConcurrency);
  }

  /** Evaluates `query` at time `t` (ms). Parse errors throw the parser's ParseError. */
  async instantQuery(q: QueryableFn, query: string | Expr, t: number, opts: QueryOptions = {}): Promise<QueryResult> {
    return this.run(q, query, t, t, 0, opts);
  }

  /** Evaluates `query` at start, start+step, …, end (ms); the result is a matrix. */
  async rangeQuery(q: QueryableFn, query: string | Expr, start: number, end: number, step: number, opts: QueryOptions = {}): Promise<QueryResult> {
    if (!(step > 0)) throw new EvalError("zero or negative query resolution step widths are not accepted. Try a positive integer");
    if (end < start) throw new EvalError("end timestamp must not be before start time");
    return this.run(q, query, start, end, step, opts);
  }

  /** Queries running and queued now. */
  load(): { running: number; queued: number } {
    return this.gate.load;
  }

  private async run(q: QueryableFn, query: string | Expr, start: number, end: number, step: number, opts: QueryOptions): Promise<QueryResult> {
    const expr = typeof query === "string" ? parseExpr(query) : query;
    const text = typeof query === "string" ? query : "";
    const timeout = opts.timeout !== undefined && opts.timeout > 0 ? Math.min(opts.timeout, this.timeout) : this.timeout;
    const deadline = Date.now() + timeout;
    // One signal stops the query wherever it is (queued, selecting, evaluating): the deadline or the caller's.
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(new QueryTimeoutError()), timeout);
    const onCallerAbort = (): void => stop.abort(new QueryCanceledError());
    if (opts.signal?.aborted) onCallerAbort();
    else opts.signal?.addEventListener("abort", onCallerAbort, { once: true });
    try {
      await this.gate.acquire(stop.signal);
      try {
        const lookback = opts.lookbackDelta !== undefined && opts.lookbackDelta > 0 ? opts.lookbackDelta : this.lookbackDelta;
        const range = selectedTimeRange(expr, start, end, lookback);
        let querier: Querier | null = null;
        const ctx: QueryContext = {
          get querier(): Querier {
            // Opened on first use: a query reading no series (a constant) never opens one.
            querier ??= q(range ? range[0] : start, range ? range[1] : end);
            return querier;
          },
          signal: stop.signal,
          query: text,
          start,
          end,
          step,
          lookback,
          defaultInterval: this.defaultEvaluationInterval,
          deadline,
          maxSamples: this.maxSamples,
          currentSamples: 0,
          warnings: new Set(),
          infos: new Set(),
          loopCounter: 0,
          wasm: this.wasm,
        };
        try {
          return await this.drive(this.evaluate(ctx, expr), ctx, stop.signal);
        } finally {
          (querier as Querier | null)?.close();
        }
      } finally {
        this.gate.release();
      }
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onCallerAbort);
    }
  }

  /**
   * Runs a stepwise evaluation to its result: awaits the promises it
   * yields, and at each pause checks the deadline and the stop signal
   * (throwing the error into the evaluation, so its cleanup runs) and gives
   * the event loop a turn once the slice is used up.
   */
  private async drive<T>(steps: Steps<T>, ctx: QueryContext, stop: AbortSignal): Promise<T> {
    let sliceStart = performance.now();
    let input: unknown;
    let failure: { error: unknown } | null = null;
    for (;;) {
      const r = failure ? steps.throw(failure.error) : steps.next(input);
      failure = null;
      input = undefined;
      if (r.done) return r.value;
      if (r.value !== undefined) {
        try {
          input = await r.value;
        } catch (error) {
          failure = { error: stop.aborted ? stop.reason : error };
        }
        sliceStart = performance.now();
        continue;
      }
      if (stop.aborted) failure = { error: stop.reason };
      else if (Date.now() > ctx.deadline) failure = { error: new QueryTimeoutError() };
      else if (performance.now() - sliceStart >= this.sliceMs) {
        await this.turns.wait();
        sliceStart = performance.now();
        if (stop.aborted) failure = { error: stop.reason };
      }
    }
  }

  private *evaluate(ctx: QueryContext, expr: Expr): Steps<QueryResult> {
    const { start, end, step } = ctx;
    const instant = step === 0;
    const ev = new Evaluator(ctx, start, end, instant ? 1 : step);
    const type = valueType(expr);
    const annotations = (): { warnings: string[]; infos: string[] } => ({ warnings: [...ctx.warnings], infos: [...ctx.infos] });
    if (type === "matrix") {
      if (!instant) throw new EvalError(`invalid expression type "range vector" for range query, must be Scalar or instant Vector`);
      const inner = unwrapParens(expr) as MatrixSelector | SubqueryExpr;
      const series = yield* ev.evalRangeVector(inner);
      return { value: { type: "matrix", series: series.sort(compareMetrics) }, ...annotations() };
    }
    if (type === "string") {
      if (!instant) throw new EvalError(`invalid expression type "string" for range query, must be Scalar or instant Vector`);
      const r = yield* ev.eval(expr);
      return { value: { type: "string", t: start, v: r.kind === "string" ? r.value : "" }, ...annotations() };
    }
    const series = yield* ev.evalSeries(expr);
    let value: Value;
    if (type === "scalar") {
      if (instant) value = { type: "scalar", t: start, v: series[0]?.fs[0] ?? NaN };
      else {
        const s = series[0];
        value = { type: "matrix", series: s ? [{ metric: [], t: s.ts, v: s.fs }] : [] };
      }
    } else if (instant) {
      const final = finalizeSeries(series, true);
      const samples: VectorSample[] = final.map((s) => ({ metric: s.metric, t: start, v: s.fs[0]! }));
      value = { type: "vector", samples };
    } else {
      yield;
      const final = finalizeSeries(series, false);
      yield;
      value = { type: "matrix", series: final.map((s) => ({ metric: s.metric, t: s.ts, v: s.fs })).sort(compareMetrics) };
    }
    return { value, ...annotations() };
  }
}
