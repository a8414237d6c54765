/**
 * The expression endpoints: /query, /query_range, /query_exemplars,
 * /format_query and /parse_query. Parameters are checked in Prometheus's
 * order with its error texts; evaluation errors map to Prometheus's error
 * types (parse → bad_data, timeout → timeout, evaluation → execution).
 */
import {
  EvalError,
  ParseError,
  QueryCanceledError,
  parseExpr,
  prettyExpr,
  QueryTimeoutError,
  valueType,
  type Expr,
  type QueryOptions,
  type QueryResult,
  type Value,
  type ValueType,
} from "../../promql/index.ts";
import { MAX_TIME, MIN_TIME } from "../../tsdb/index.ts";
import { astToJSON } from "./ast_json.ts";
import type { ApiContext } from "./context.ts";
import { goJSON, queryDataJSONParts } from "./json.ts";
import { limitParam, parseDurationParam, parseTime, timeParam, type RequestForm } from "./params.ts";
import { ApiError, invalidParam, successResponse, successResponseParts, successValue } from "./respond.ts";

/** Most points per series a range query may return, as in Prometheus. */
export const MAX_POINTS_PER_SERIES = 11_000;

/** Most warnings and infos returned before the rest are summarised, as Prometheus's API. */
export const MAX_ANNOTATIONS = 10;

/** The warning added when `limit` cut a result short. */
export const TRUNCATED_WARNING = "results truncated due to limit";

const DOCUMENTED_TYPE: Record<ValueType, string> = {
  scalar: "scalar",
  string: "string",
  vector: "instant vector",
  matrix: "range vector",
};

/** Maps anything a query throws to the API error Prometheus would answer with. */
export function queryError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof ParseError) return invalidParam("query", e);
  if (e instanceof QueryTimeoutError) return new ApiError("timeout", e.message);
  if (e instanceof QueryCanceledError) return new ApiError("canceled", e.message);
  if (e instanceof EvalError) return new ApiError("execution", e.message);
  return new ApiError("internal", e instanceof Error ? e.message : String(e));
}

function parseQueryParam(form: RequestForm): Expr {
  try {
    return parseExpr(form.get("query"));
  } catch (e) {
    throw invalidParam("query", e);
  }
}

/** An optional duration parameter in ms (`timeout`, `lookback_delta`); undefined when absent. */
function optionalDuration(form: RequestForm, name: string): number | undefined {
  const s = form.get(name);
  if (s === "") return undefined;
  try {
    return parseDurationParam(s);
  } catch (e) {
    throw invalidParam(name, e);
  }
}

/**
 * The per-query options: `timeout` (the lower of it and --query.timeout
 * wins), `lookback_delta`, and the request's signal, which aborts when the
 * client disconnects and cancels the query.
 */
function queryOptions(form: RequestForm, signal: AbortSignal | undefined): QueryOptions {
  const timeout = optionalDuration(form, "timeout");
  const lookbackDelta = optionalDuration(form, "lookback_delta");
  return { timeout, lookbackDelta, signal };
}

/**
 * Keeps the first MAX_ANNOTATIONS messages and summarises the rest as
 * Prometheus does: "N more warning annotations omitted".
 */
export function capAnnotations(list: readonly string[], kind: "warning" | "info"): string[] {
  if (list.length <= MAX_ANNOTATIONS) return [...list];
  return [...list.slice(0, MAX_ANNOTATIONS), `${list.length - MAX_ANNOTATIONS} more ${kind} annotations omitted`];
}

function truncate(value: Value, limit: number): { value: Value; truncated: boolean } {
  if (limit <= 0) return { value, truncated: false };
  if (value.type === "vector" && value.samples.length > limit) {
    return { value: { type: "vector", samples: value.samples.slice(0, limit) }, truncated: true };
  }
  if (value.type === "matrix" && value.series.length > limit) {
    return { value: { type: "matrix", series: value.series.slice(0, limit) }, truncated: true };
  }
  return { value, truncated: false };
}

async function queryResponse(res: QueryResult, limit: number): Promise<Response> {
  const { value, truncated } = truncate(res.value, limit);
  const warnings = capAnnotations(res.warnings, "warning");
  if (truncated) warnings.push(TRUNCATED_WARNING);
  return successResponseParts(await queryDataJSONParts(value), { warnings, infos: capAnnotations(res.infos, "info") });
}

/** GET/POST /query: query, time (default now), timeout, limit. */
export async function instantQuery(ctx: ApiContext, form: RequestForm, signal?: AbortSignal): Promise<Response> {
  const limit = limitParam(form);
  const time = timeParam(form, "time", (ctx.now ?? Date.now)());
  const opts = queryOptions(form, signal);
  const query = form.get("query");
  parseQueryParam(form);
  let res: QueryResult;
  try {
    res = await ctx.engine.instantQuery(ctx.queryable, query, time, opts);
  } catch (e) {
    throw queryError(e);
  }
  return queryResponse(res, limit);
}

function requiredTime(form: RequestForm, name: string): number {
  try {
    return parseTime(form.get(name));
  } catch (e) {
    throw invalidParam(name, e);
  }
}

/** GET/POST /query_range: query, start, end, step, timeout, limit. */
export async function rangeQuery(ctx: ApiContext, form: RequestForm, signal?: AbortSignal): Promise<Response> {
  const limit = limitParam(form);
  const start = requiredTime(form, "start");
  const end = requiredTime(form, "end");
  if (end < start) throw new ApiError("bad_data", "end timestamp must not be before start time");
  let step: number;
  try {
    step = parseDurationParam(form.get("step"));
  } catch (e) {
    throw invalidParam("step", e);
  }
  if (!(step > 0)) throw new ApiError("bad_data", "zero or negative query resolution step widths are not accepted. Try a positive integer");
  if (Math.floor((end - start) / step) > MAX_POINTS_PER_SERIES) {
    throw new ApiError("bad_data", "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)");
  }
  const opts = queryOptions(form, signal);
  const query = form.get("query");
  const type = valueType(parseQueryParam(form));
  if (type !== "vector" && type !== "scalar") {
    throw invalidParam("query", `invalid expression type "${DOCUMENTED_TYPE[type]}" for range query, must be Scalar or instant Vector`);
  }
  let res: QueryResult;
  try {
    res = await ctx.engine.rangeQuery(ctx.queryable, query, start, end, Math.max(1, Math.trunc(step)), opts);
  } catch (e) {
    throw queryError(e);
  }
  return queryResponse(res, limit);
}

/** GET/POST /query_exemplars: validates query, start and end; promts stores no exemplars, so data is []. */
export function queryExemplars(form: RequestForm): Response {
  const start = timeParam(form, "start", MIN_TIME);
  const end = timeParam(form, "end", MAX_TIME);
  if (end < start) throw new ApiError("bad_data", "end timestamp must not be before start timestamp");
  try {
    parseExpr(form.get("query"));
  } catch (e) {
    throw new ApiError("bad_data", (e as Error).message);
  }
  return successResponse("[]");
}

/** GET/POST /format_query: the query pretty-printed as Prometheus's formatter does. */
export function formatQuery(form: RequestForm): Response {
  return successResponse(goJSON(prettyExpr(parseQueryParam(form))));
}

/** GET/POST /parse_query: the query's syntax tree as JSON (Prometheus 3's shape). */
export function parseQuery(form: RequestForm): Response {
  return successValue(astToJSON(parseQueryParam(form)));
}
