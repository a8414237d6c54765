/**
 * PromQL result values in Prometheus's shapes: a scalar, a string, an instant
 * vector (one sample per series, all at the evaluation time) or a range
 * vector / matrix (a run of points per series). Timestamps are milliseconds.
 *
 * @example
 * const v: Value = { type: "scalar", t: 1000, v: 1.5 };
 */
import type { Labels } from "../model/index.ts";

/** A scalar result: one float at one time. */
export interface ScalarValue {
  type: "scalar";
  t: number;
  v: number;
}

/** A string result (only from a string literal at the top level). */
export interface StringValue {
  type: "string";
  t: number;
  v: string;
}

/** One element of an instant vector. */
export interface VectorSample {
  metric: Labels;
  t: number;
  v: number;
}

/** An instant vector result. */
export interface VectorValue {
  type: "vector";
  samples: VectorSample[];
}

/** One series of a matrix; `t` and `v` have equal length and ascend in time. */
export interface MatrixSeries {
  metric: Labels;
  t: number[];
  v: number[];
}

/** A range vector / range-query result, series sorted by labels unless the query's order matters. */
export interface MatrixValue {
  type: "matrix";
  series: MatrixSeries[];
}

/** Any query result value. */
export type Value = ScalarValue | StringValue | VectorValue | MatrixValue;

/** What a query returns: its value plus the annotations Prometheus would attach. */
export interface QueryResult {
  value: Value;
  /** Messages starting with "PromQL warning: …". */
  warnings: string[];
  /** Messages starting with "PromQL info: …". */
  infos: string[];
}

/**
 * An error raised while evaluating a query (bad argument, limit hit, label
 * clash). Its message is exactly Prometheus's text for the same condition.
 */
export class EvalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EvalError";
  }
}

/** The query ran longer than the engine's timeout. */
export class QueryTimeoutError extends EvalError {
  constructor() {
    super("query timed out in expression evaluation");
    this.name = "QueryTimeoutError";
  }
}

/** The query was cancelled (its client went away) before it finished. */
export class QueryCanceledError extends EvalError {
  constructor() {
    super("query was canceled in expression evaluation");
    this.name = "QueryCanceledError";
  }
}

/** The query would hold more samples in memory than the engine allows. */
export class TooManySamplesError extends EvalError {
  constructor() {
    super("query processing would load too many samples into memory in query execution");
    this.name = "TooManySamplesError";
  }
}
