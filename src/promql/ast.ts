/**
 * The PromQL abstract syntax tree shared by the parser, the printer and the
 * engine. Nodes are plain data (no methods) so they can be built, compared
 * and walked by any room; every node carries the character range of the query
 * text it came from, so errors and annotations can point at it.
 *
 * @example
 * const e = parseExpr('rate(http_requests_total{job="api"}[5m])');
 * e.type;        // "Call"
 * valueType(e);  // "vector"
 */
import type { Matcher } from "../model/index.ts";

/** The four PromQL value types an expression can evaluate to. */
export type ValueType = "scalar" | "vector" | "matrix" | "string";

/** 0-based character offsets into the query text; `end` is exclusive. */
export interface PosRange {
  start: number;
  end: number;
}

/** Any PromQL expression node. */
export type Expr =
  | NumberLiteral
  | StringLiteral
  | VectorSelector
  | MatrixSelector
  | SubqueryExpr
  | AggregateExpr
  | BinaryExpr
  | UnaryExpr
  | Call
  | ParenExpr;

/** A float literal: `1`, `0x1f`, `1e3`, `Inf`, `NaN`, or a duration such as `5m` (as seconds). */
export interface NumberLiteral {
  type: "NumberLiteral";
  val: number;
  pos: PosRange;
}

/**
 * A string literal with escapes already resolved. Bytes that are not valid
 * UTF-8 (from `\x`/octal escapes) are kept as lone surrogates U+DC80–U+DCFF,
 * so `val.isWellFormed()` is false exactly when Go would see invalid UTF-8.
 */
export interface StringLiteral {
  type: "StringLiteral";
  val: string;
  pos: PosRange;
}

/**
 * An instant vector selector such as `up{job="node"} offset 5m @ 100`.
 * Invariant: when `name` is non-empty, `matchers` contains `__name__="name"`.
 */
export interface VectorSelector {
  type: "VectorSelector";
  /** The metric name, or "" when the selector is only `{…}`. */
  name: string;
  /** All matchers, including the `__name__` matcher when a name is given. */
  matchers: Matcher[];
  /** Offset in milliseconds; negative values look into the future. */
  offset: number;
  /** Milliseconds from `@ <t>`, or null. */
  timestamp: number | null;
  /** Set by `@ start()` / `@ end()`; the engine resolves it per query. */
  startOrEnd: "start" | "end" | null;
  pos: PosRange;
}

/** A range vector selector: `x[5m]`. `range` is in milliseconds. */
export interface MatrixSelector {
  type: "MatrixSelector";
  vectorSelector: VectorSelector;
  range: number;
  pos: PosRange;
}

/** A subquery: `expr[range:step]`; `step` 0 means the default evaluation interval. */
export interface SubqueryExpr {
  type: "SubqueryExpr";
  expr: Expr;
  range: number;
  step: number;
  offset: number;
  timestamp: number | null;
  startOrEnd: "start" | "end" | null;
  pos: PosRange;
}

/** An aggregation such as `sum by (job) (x)` or `topk(5, x)`; `param` is set for parameterised ops. */
export interface AggregateExpr {
  type: "AggregateExpr";
  op: AggregateOp;
  expr: Expr;
  param: Expr | null;
  grouping: string[];
  without: boolean;
  pos: PosRange;
}

/** Aggregation operator names. */
export type AggregateOp =
  | "sum"
  | "avg"
  | "count"
  | "min"
  | "max"
  | "group"
  | "stddev"
  | "stdvar"
  | "topk"
  | "bottomk"
  | "count_values"
  | "quantile"
  | "limitk"
  | "limit_ratio";

/** Binary operator tokens. */
export type BinaryOp =
  | "+"
  | "-"
  | "*"
  | "/"
  | "%"
  | "^"
  | "atan2"
  | "=="
  | "!="
  | ">"
  | "<"
  | ">="
  | "<="
  | "and"
  | "or"
  | "unless";

/** How the two sides of a vector/vector binary expression are matched. */
export interface VectorMatching {
  card: "one-to-one" | "many-to-one" | "one-to-many" | "many-to-many";
  /** Labels from `on(...)` or `ignoring(...)`. */
  matchingLabels: string[];
  /** True for `on(...)`, false for `ignoring(...)` or no clause. */
  on: boolean;
  /** Extra labels from `group_left(...)` / `group_right(...)`. */
  include: string[];
}

/** A binary expression; `matching` is null when either side is a scalar. */
export interface BinaryExpr {
  type: "BinaryExpr";
  op: BinaryOp;
  lhs: Expr;
  rhs: Expr;
  matching: VectorMatching | null;
  returnBool: boolean;
  pos: PosRange;
}

/** A unary `-x` or `+x`. */
export interface UnaryExpr {
  type: "UnaryExpr";
  op: "-" | "+";
  expr: Expr;
  pos: PosRange;
}

/** A function call; `func` is the signature from the function table. */
export interface Call {
  type: "Call";
  func: FunctionSignature;
  args: Expr[];
  pos: PosRange;
}

/** A parenthesised expression, kept so the printer can reproduce it. */
export interface ParenExpr {
  type: "ParenExpr";
  expr: Expr;
  pos: PosRange;
}

/**
 * A function's type signature.
 * `variadic`: 0 = exactly `argTypes.length` args; -1 = any number of extra
 * args of the last type; n > 0 = up to n trailing args are optional.
 */
export interface FunctionSignature {
  name: string;
  argTypes: ValueType[];
  variadic: number;
  returnType: ValueType;
}

/**
 * The type an expression evaluates to.
 *
 * @example
 * valueType(parseExpr("1 + 2")); // "scalar"
 */
export function valueType(e: Expr): ValueType {
  switch (e.type) {
    case "NumberLiteral":
      return "scalar";
    case "StringLiteral":
      return "string";
    case "VectorSelector":
    case "AggregateExpr":
      return "vector";
    case "MatrixSelector":
    case "SubqueryExpr":
      return "matrix";
    case "BinaryExpr":
      return valueType(e.lhs) === "scalar" && valueType(e.rhs) === "scalar" ? "scalar" : "vector";
    case "UnaryExpr":
    case "ParenExpr":
      return valueType(e.expr);
    case "Call":
      return e.func.returnType;
  }
}

/** The direct child expressions of a node, in source order. */
export function children(e: Expr): Expr[] {
  switch (e.type) {
    case "NumberLiteral":
    case "StringLiteral":
    case "VectorSelector":
      return [];
    case "MatrixSelector":
      return [e.vectorSelector];
    case "SubqueryExpr":
    case "UnaryExpr":
    case "ParenExpr":
      return [e.expr];
    case "AggregateExpr":
      return e.param ? [e.param, e.expr] : [e.expr];
    case "BinaryExpr":
      return [e.lhs, e.rhs];
    case "Call":
      return e.args;
  }
}

/**
 * Visits every node depth-first, parents before children. `path` holds the
 * ancestors of `node`, outermost first (empty for the root); it is a live
 * array, so copy it if it must outlive the callback.
 *
 * @example
 * const names: string[] = [];
 * walk(expr, (n) => { if (n.type === "VectorSelector") names.push(n.name); });
 */
export function walk(e: Expr, visit: (node: Expr, path: Expr[]) => void): void {
  const path: Expr[] = [];
  const visitNode = (node: Expr): void => {
    visit(node, path);
    path.push(node);
    for (const child of children(node)) visitNode(child);
    path.pop();
  };
  visitNode(e);
}
