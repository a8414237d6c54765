/**
 * The PromQL function table of Prometheus 3: every function's argument types,
 * optional-argument rule and return type. The parser type-checks calls
 * against it; the engine implements each name in functions.ts.
 *
 * @example
 * FUNCTIONS.rate; // { name: "rate", argTypes: ["matrix"], variadic: 0, returnType: "vector" }
 */
import type { FunctionSignature, ValueType } from "./ast.ts";

const V: ValueType = "vector";
const M: ValueType = "matrix";
const S: ValueType = "scalar";
const STR: ValueType = "string";

function fn(name: string, argTypes: ValueType[], returnType: ValueType = V, variadic = 0): FunctionSignature {
  return Object.freeze({ name, argTypes: Object.freeze(argTypes) as ValueType[], variadic, returnType });
}

const vectorMath = [
  "abs", "absent", "acos", "acosh", "asin", "asinh", "atan", "atanh", "ceil", "cos", "cosh", "deg", "exp", "floor",
  "histogram_avg", "histogram_count", "histogram_stddev", "histogram_stdvar", "histogram_sum", "ln", "log10", "log2",
  "rad", "sgn", "sin", "sinh", "sort", "sort_desc", "sqrt", "tan", "tanh", "timestamp",
];
const rangeFunctions = [
  "absent_over_time", "avg_over_time", "changes", "count_over_time", "delta", "deriv", "idelta", "increase", "irate",
  "last_over_time", "max_over_time", "min_over_time", "present_over_time", "rate", "resets", "stddev_over_time",
  "stdvar_over_time", "sum_over_time",
];
const dateFunctions = ["day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute", "month", "year"];

const all: FunctionSignature[] = [
  ...vectorMath.map((n) => fn(n, [V])),
  ...rangeFunctions.map((n) => fn(n, [M])),
  ...dateFunctions.map((n) => fn(n, [V], V, 1)),
  fn("clamp", [V, S, S]),
  fn("clamp_max", [V, S]),
  fn("clamp_min", [V, S]),
  fn("histogram_fraction", [S, S, V]),
  fn("histogram_quantile", [S, V]),
  fn("label_join", [V, STR, STR, STR], V, -1),
  fn("label_replace", [V, STR, STR, STR, STR]),
  fn("pi", [], S),
  fn("predict_linear", [M, S]),
  fn("quantile_over_time", [S, M]),
  fn("round", [V, S], V, 1),
  fn("scalar", [V], S),
  fn("time", [], S),
  fn("vector", [S]),
  // Experimental in Prometheus 3 (behind feature flags): see EXPERIMENTAL_FUNCTIONS.
  fn("double_exponential_smoothing", [M, S, S]),
  fn("end", [], S),
  fn("histogram_quantiles", [V, STR, S, S], V, -1),
  fn("max_of", [S, S], S),
  fn("min_of", [S, S], S),
  fn("range", [], S),
  fn("start", [], S),
  fn("step", [], S),
  fn("first_over_time", [M]),
  fn("info", [V, V], V, 1),
  fn("mad_over_time", [M]),
  fn("sort_by_label", [V, STR], V, -1),
  fn("sort_by_label_desc", [V, STR], V, -1),
  fn("ts_of_first_over_time", [M]),
  fn("ts_of_last_over_time", [M]),
  fn("ts_of_max_over_time", [M]),
  fn("ts_of_min_over_time", [M]),
];

/** Every known function by name (frozen). */
export const FUNCTIONS: Readonly<Record<string, FunctionSignature>> = Object.freeze(
  Object.fromEntries(all.map((f) => [f.name, f])),
);

/**
 * Functions Prometheus 3 only accepts behind a feature flag
 * (`promql-experimental-functions`, `promql-duration-expr`). promts parses them by default; `parseExpr(q, { experimentalFunctions: false })`
 * rejects them as Prometheus does without the flag.
 */
export const EXPERIMENTAL_FUNCTIONS: ReadonlySet<string> = new Set([
  "double_exponential_smoothing", "end", "first_over_time", "histogram_quantiles", "info", "mad_over_time", "max_of",
  "min_of", "range", "sort_by_label", "sort_by_label_desc", "start", "step", "ts_of_first_over_time",
  "ts_of_last_over_time", "ts_of_max_over_time", "ts_of_min_over_time",
]);

/** Looks up a function signature by name; undefined when unknown. */
export function getFunction(name: string): FunctionSignature | undefined {
  return Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
}
