/**
 * Runs a parsed conformance script against the engine and reports, per eval,
 * whether it passed, failed (with query, expected and got) or was skipped
 * because it involves native histograms. Instant evals are also re-run with
 * `@ <t>` on every selector at other times, and as a range query around
 * the evaluation time (step invariance), as Prometheus's promqltest does.
 *
 * @example
 * const report = await runScript(parseScript(text, "x.test"), "x.test", newMemBackend());
 */
import { getLabel, labelsKey, labelsFromPairs, type Labels } from "../../src/model/index.ts";
import { Engine, type QueryableFn, type QueryResult, type Value } from "../../src/promql/engine.ts";
import { parseExpr, walk, type Expr } from "../../src/promql/index.ts";
import type { Querier } from "../../src/tsdb/types.ts";
import type { Command, EvalCmd, Expectation, SeriesLine } from "./promqltest_script.ts";

/** Storage the runner loads script data into. */
export interface ScriptBackend {
  /** Appends one series' samples (values may include the staleness NaN). */
  append(labels: Labels, t: Float64Array, v: Float64Array): Promise<void> | void;
  clear(): Promise<void> | void;
  querier(mint: number, maxt: number): Querier;
  close?(): Promise<void> | void;
}

/** The outcome of one script. */
export interface ScriptReport {
  file: string;
  passed: number;
  failed: string[];
  nativeHistogramSkipped: string[];
}

const STALE_NAN_BITS = 0x7ff0000000000002n;

const AT_UNSAFE_FUNCTIONS = new Set([
  "days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour", "minute", "month", "year",
  "predict_linear", "time", "timestamp", "start", "end", "step", "range",
]);

/** Prometheus's almost.Equal with epsilon 1e-6; NaN equals NaN. */
export function almostEqual(a: number, b: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const minNormal = 2.2250738585072014e-308;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < minNormal) return diff < 1e-6 * minNormal;
  return diff / Math.min(absSum, Number.MAX_VALUE) < 1e-6;
}

function fmtValue(v: number): string {
  return Number.isNaN(v) ? "NaN" : v === Infinity ? "+Inf" : v === -Infinity ? "-Inf" : String(v);
}

function describeValue(v: Value): string {
  switch (v.type) {
    case "scalar":
      return `scalar ${fmtValue(v.v)}`;
    case "string":
      return `string ${JSON.stringify(v.v)}`;
    case "vector":
      return v.samples.length === 0 ? "empty vector" : v.samples.map((s) => `${labelsKey(s.metric)} ${fmtValue(s.v)}`).join("\n      ");
    case "matrix":
      return v.series.length === 0
        ? "empty matrix"
        : v.series.map((s) => `${labelsKey(s.metric)} ${s.t.map((t, i) => `${fmtValue(s.v[i]!)}@${t / 1000}`).join(" ")}`).join("\n      ");
  }
}

function describeExpected(cmd: EvalCmd): string {
  if (cmd.string !== null) return `string ${JSON.stringify(cmd.string)}`;
  if (cmd.scalar !== null) return `scalar ${fmtValue(cmd.scalar)}`;
  if (cmd.series.length === 0) return "empty";
  return cmd.series
    .map((s) => `${labelsKey(s.metric)} ${s.values.map((x) => (x.kind === "float" ? fmtValue(x.v) : x.kind === "omitted" ? "_" : x.kind)).join(" ")}`)
    .join("\n      ");
}

/** Compares an instant-query result (vector or scalar) with the expectation; returns an error text or null. */
function compareInstant(cmd: EvalCmd, value: Value, ordered: boolean): string | null {
  if (cmd.string !== null) {
    if (value.type !== "string") return `expected string, got ${value.type}`;
    return value.v === cmd.string ? null : `expected string ${JSON.stringify(cmd.string)}, got ${JSON.stringify(value.v)}`;
  }
  if (value.type === "scalar") {
    if (cmd.scalar === null) return cmd.series.length === 0 ? "expected no result, got a scalar" : "expected a vector, got a scalar";
    return almostEqual(cmd.scalar, value.v) ? null : `expected scalar ${fmtValue(cmd.scalar)}, got ${fmtValue(value.v)}`;
  }
  if (cmd.scalar !== null) return `expected scalar, got ${value.type}`;
  if (value.type === "matrix") return "expected an instant vector, got a matrix";
  if (value.type !== "vector") return `expected a vector, got ${value.type}`;
  const got = value.samples;
  if (got.length !== cmd.series.length) return `expected ${cmd.series.length} samples, got ${got.length}`;
  const byKey = new Map(got.map((s, i) => [labelsKey(s.metric), { s, i }]));
  for (let i = 0; i < cmd.series.length; i++) {
    const exp = cmd.series[i]!;
    const key = labelsKey(exp.metric);
    const hit = byKey.get(key);
    if (!hit) return `expected series ${key} not found`;
    if (ordered && hit.i !== i) return `expected ${key} at position ${i}, got position ${hit.i}`;
    const ev = exp.values[0];
    if (!ev || ev.kind !== "float") return `expected value for ${key} is not a float`;
    if (!almostEqual(ev.v, hit.s.v)) return `${key}: expected ${fmtValue(ev.v)}, got ${fmtValue(hit.s.v)}`;
  }
  return null;
}

function compareRange(cmd: EvalCmd, value: Value, start: number, step: number): string | null {
  if (value.type !== "matrix") return `expected a matrix, got ${value.type}`;
  if (value.series.length !== cmd.series.length) return `expected ${cmd.series.length} series, got ${value.series.length}`;
  const byKey = new Map(value.series.map((s) => [labelsKey(s.metric), s]));
  for (const exp of cmd.series) {
    const key = labelsKey(exp.metric);
    const got = byKey.get(key);
    if (!got) return `expected series ${key} not found`;
    const expPoints: [number, number][] = [];
    exp.values.forEach((x, j) => {
      if (x.kind === "float") expPoints.push([start + j * step, x.v]);
    });
    if (expPoints.length !== got.t.length) return `${key}: expected ${expPoints.length} points, got ${got.t.length}`;
    for (let j = 0; j < expPoints.length; j++) {
      const [t, v] = expPoints[j]!;
      if (got.t[j] !== t) return `${key}: expected point at ${t / 1000}s, got ${got.t[j]! / 1000}s`;
      if (!almostEqual(v, got.v[j]!)) return `${key}@${t / 1000}s: expected ${fmtValue(v)}, got ${fmtValue(got.v[j]!)}`;
    }
  }
  return null;
}

function matchesExpectation(e: Expectation, message: string): boolean {
  if (e.msg !== undefined) return message === e.msg;
  if (e.regex) return e.regex.test(message);
  return true;
}

function checkAnnotations(cmd: EvalCmd, res: QueryResult): string | null {
  const warns = cmd.expectations.filter((e) => e.kind === "warn");
  const infos = cmd.expectations.filter((e) => e.kind === "info");
  const noWarn = cmd.expectations.some((e) => e.kind === "no_warn");
  const noInfo = cmd.expectations.some((e) => e.kind === "no_info");
  if (warns.length === 0 && res.warnings.length > 0) return `unexpected warnings: ${res.warnings.join("; ")}`;
  if (noWarn && res.warnings.length > 0) return `unexpected warnings: ${res.warnings.join("; ")}`;
  for (const w of warns) if (!res.warnings.some((m) => matchesExpectation(w, m))) return `expected warning ${w.msg ?? w.regex ?? "(any)"}, got [${res.warnings.join("; ")}]`;
  // As in Prometheus's runner, info annotations are only checked when the eval asks about them.
  if (noInfo && res.infos.length > 0) return `unexpected infos: ${res.infos.join("; ")}`;
  for (const i of infos) if (!res.infos.some((m) => matchesExpectation(i, m))) return `expected info ${i.msg ?? i.regex ?? "(any)"}, got [${res.infos.join("; ")}]`;
  return null;
}

function cloneExpr<T>(e: T): T {
  if (Array.isArray(e)) return e.map((x) => cloneExpr(x)) as T;
  if (e && typeof e === "object") {
    const proto = Object.getPrototypeOf(e);
    if (proto !== Object.prototype && proto !== null) return e;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e as Record<string, unknown>)) out[k] = k === "func" || k === "matchers" ? v : cloneExpr(v);
    return out as T;
  }
  return e;
}

/** The expression with `@ t` on every selector and subquery not already pinned; null when not step-invariant-safe. */
function withAtModifier(expr: Expr, t: number): Expr | null {
  const copy = cloneExpr(expr);
  let unsafe = false;
  walk(copy, (node, path) => {
    if (path.some((p) => p.type === "SubqueryExpr" && (p.timestamp !== null || p.startOrEnd !== null))) return;
    if (node.type === "VectorSelector" || node.type === "SubqueryExpr") {
      if (node.startOrEnd !== null) unsafe = true;
      if (node.timestamp === null && node.startOrEnd === null) node.timestamp = t;
    } else if (node.type === "Call" && AT_UNSAFE_FUNCTIONS.has(node.func.name)) unsafe = true;
  });
  return unsafe ? null : copy;
}

/** step(), range(), start() and end() describe the query itself, so a range query gives other values by design. */
function usesQueryRangeFunctions(expr: Expr): boolean {
  let found = false;
  walk(expr, (node) => {
    if (node.type === "Call" && ["step", "range", "start", "end"].includes(node.func.name)) found = true;
  });
  return found;
}

/** Labels of the native-histogram series a load creates (explicit `{{…}}` series and NHCB conversions). */
function nativeHistogramLabels(line: SeriesLine, withNHCB: boolean): Labels | null {
  if (line.hasHistogram) return line.metric;
  if (!withNHCB) return null;
  const name = getLabel(line.metric, "__name__");
  const m = /^(.*)_(bucket|count|sum)$/.exec(name);
  if (!m) return null;
  return labelsFromPairs(line.metric.filter((l) => l.name !== "le").map((l) => [l.name, l.name === "__name__" ? m[1]! : l.value] as [string, string]));
}

function touchesHistograms(expr: Expr, histogramSeries: Labels[]): boolean {
  let hit = false;
  walk(expr, (node) => {
    if (hit || node.type !== "VectorSelector") return;
    hit = histogramSeries.some((ls) => node.matchers.every((m) => m.matches(getLabel(ls, m.name))));
  });
  return hit;
}

/** Executes a script's commands in order against `backend`. */
export async function runScript(cmds: Command[], file: string, backend: ScriptBackend, engine = new Engine({ timeout: 60_000 })): Promise<ScriptReport> {
  const report: ScriptReport = { file, passed: 0, failed: [], nativeHistogramSkipped: [] };
  let histogramSeries: Labels[] = [];
  const queryable: QueryableFn = (mint, maxt) => backend.querier(mint, maxt);
  for (const cmd of cmds) {
    if (cmd.type === "clear") {
      await backend.clear();
      histogramSeries = [];
      continue;
    }
    if (cmd.type === "load") {
      // A series may appear on several lines of one load; as in Prometheus's
      // test storage, a later line's point replaces an earlier one at the same time.
      const points = new Map<string, { metric: Labels; byTime: Map<number, number | "stale"> }>();
      for (const s of cmd.series) {
        const h = nativeHistogramLabels(s, cmd.withNHCB);
        if (h) histogramSeries.push(h);
        if (s.hasHistogram) continue;
        const key = labelsKey(s.metric);
        let entry = points.get(key);
        if (!entry) {
          entry = { metric: s.metric, byTime: new Map() };
          points.set(key, entry);
        }
        s.values.forEach((x, i) => {
          if (x.kind === "float") entry.byTime.set(i * cmd.interval, x.v);
          else if (x.kind === "stale") entry.byTime.set(i * cmd.interval, "stale");
        });
      }
      for (const { metric, byTime } of points.values()) {
        const times = [...byTime.keys()].sort((a, b) => a - b);
        if (times.length === 0) continue;
        const t = Float64Array.from(times), v = new Float64Array(times.length);
        const vBits = new BigUint64Array(v.buffer);
        times.forEach((time, n) => {
          const x = byTime.get(time)!;
          if (x === "stale") vBits[n] = STALE_NAN_BITS;
          else v[n] = x;
        });
        await backend.append(metric, t, v);
      }
      continue;
    }
    const where = `${file}:${cmd.line}`;
    const title = `${where} eval ${cmd.mode}${cmd.mode === "instant" ? ` at ${cmd.start / 1000}s` : ` from ${cmd.start / 1000}s to ${cmd.end / 1000}s step ${cmd.step / 1000}s`} ${cmd.expr}`;
    let expr: Expr | null = null;
    try {
      expr = parseExpr(cmd.expr);
    } catch {
      expr = null;
    }
    if (cmd.series.some((s) => s.hasHistogram) || (expr && touchesHistograms(expr, histogramSeries))) {
      report.nativeHistogramSkipped.push(title);
      continue;
    }
    const error = await runEval(engine, queryable, cmd);
    if (error === null) report.passed++;
    else report.failed.push(`${title}\n    ${error}\n    expected: ${describeExpected(cmd)}`);
  }
  return report;
}

async function runEval(engine: Engine, q: QueryableFn, cmd: EvalCmd): Promise<string | null> {
  const fail = cmd.expectations.find((e) => e.kind === "fail");
  let res: QueryResult;
  try {
    res = cmd.mode === "instant" ? await engine.instantQuery(q, cmd.expr, cmd.start) : await engine.rangeQuery(q, cmd.expr, cmd.start, cmd.end, cmd.step);
  } catch (err) {
    const msg = (err as Error).message;
    if (!fail) return `unexpected error: ${msg}`;
    if (!matchesExpectation(fail, msg)) return `expected error ${fail.msg ?? fail.regex}, got ${JSON.stringify(msg)}`;
    return null;
  }
  if (fail) return `expected an error, got ${describeValue(res.value)}`;
  const annoErr = checkAnnotations(cmd, res);
  if (annoErr) return annoErr;
  if (cmd.mode === "range" || cmd.rangeVector) {
    const grid = cmd.rangeVector ?? { start: cmd.start, step: cmd.step };
    const err = compareRange(cmd, res.value, grid.start, grid.step);
    return err ? `${err}\n    got: ${describeValue(res.value)}` : null;
  }
  const err = compareInstant(cmd, res.value, cmd.ordered);
  if (err) return `${err}\n    got: ${describeValue(res.value)}`;
  return checkStepInvariance(engine, q, cmd, res.value);
}

async function checkStepInvariance(engine: Engine, q: QueryableFn, cmd: EvalCmd, value: Value): Promise<string | null> {
  if (value.type === "string" || value.type === "matrix") return null;
  const t = cmd.start;
  const expr = withAtModifier(parseExpr(cmd.expr), t);
  if (expr) {
    const times = t === 0 ? [-1000, 0, 1000] : [-10 * t, 0, Math.trunc(t / 5), t, 10 * t];
    for (const et of times) {
      let res: QueryResult;
      try {
        res = await engine.instantQuery(q, expr, et);
      } catch (err) {
        return `with @ ${t / 1000} evaluated at ${et / 1000}s: unexpected error: ${(err as Error).message}`;
      }
      const err = compareInstant(cmd, res.value, cmd.ordered);
      if (err) return `with @ ${t / 1000} evaluated at ${et / 1000}s: ${err}\n    got: ${describeValue(res.value)}`;
    }
  }
  if (cmd.ordered || usesQueryRangeFunctions(parseExpr(cmd.expr))) return null;
  let rangeRes: QueryResult;
  try {
    rangeRes = await engine.rangeQuery(q, cmd.expr, t - 60_000, t + 60_000, 60_000);
  } catch (err) {
    return `as range query: unexpected error: ${(err as Error).message}`;
  }
  if (rangeRes.value.type !== "matrix") return `as range query: expected a matrix, got ${rangeRes.value.type}`;
  const samples = [];
  for (const s of rangeRes.value.series) {
    const i = s.t.indexOf(t);
    if (i >= 0) samples.push({ metric: s.metric, t, v: s.v[i]! });
  }
  const asInstant: Value = value.type === "scalar" ? { type: "scalar", t, v: samples[0]?.v ?? NaN } : { type: "vector", samples };
  const err = compareInstant(cmd, asInstant, false);
  return err ? `as range query around ${t / 1000}s: ${err}\n    got: ${describeValue(asInstant)}` : null;
}
