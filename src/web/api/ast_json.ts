/**
 * The JSON form of a PromQL syntax tree served by `/api/v1/parse_query`, in
 * the shape Prometheus 3 uses (web/api/v1 translateAST): every node has a
 * `type` (`aggregation`, `binaryExpr`, `call`, `matrixSelector`, `subquery`,
 * `numberLiteral`, `parenExpr`, `stringLiteral`, `unaryExpr`,
 * `vectorSelector`), durations and offsets in milliseconds, number literals
 * as strings. Keys are in alphabetical order, as Go writes maps.
 *
 * @example
 * astToJSON(parseExpr("up"));
 * // {matchers:[{name:"__name__",type:"=",value:"up"}],name:"up",offset:0,startOrEnd:null,timestamp:null,type:"vectorSelector"}
 */
import type { Matcher } from "../../model/index.ts";
import type { Expr, VectorSelector } from "../../promql/index.ts";
import { formatGoFloatF } from "./json.ts";

/** A JSON value as produced for a syntax-tree node. */
export type AstJSON = null | string | number | boolean | AstJSON[] | { [key: string]: AstJSON };

function sortedObject(entries: Record<string, AstJSON>): { [key: string]: AstJSON } {
  const out: { [key: string]: AstJSON } = {};
  for (const k of Object.keys(entries).sort()) out[k] = entries[k]!;
  return out;
}

function matchersJSON(ms: readonly Matcher[]): AstJSON {
  return ms.map((m) => sortedObject({ name: m.name, type: m.type, value: m.value }));
}

function selectorFields(vs: VectorSelector): Record<string, AstJSON> {
  return {
    name: vs.name,
    offset: vs.offset,
    matchers: matchersJSON(vs.matchers),
    timestamp: vs.timestamp,
    startOrEnd: vs.startOrEnd,
  };
}

/** Converts a parsed expression to Prometheus 3's parse_query JSON. */
export function astToJSON(e: Expr): AstJSON {
  switch (e.type) {
    case "AggregateExpr":
      return sortedObject({
        type: "aggregation",
        op: e.op,
        expr: astToJSON(e.expr),
        param: e.param ? astToJSON(e.param) : null,
        grouping: [...e.grouping],
        without: e.without,
      });
    case "BinaryExpr":
      return sortedObject({
        type: "binaryExpr",
        op: e.op,
        lhs: astToJSON(e.lhs),
        rhs: astToJSON(e.rhs),
        matching: e.matching
          ? sortedObject({ card: e.matching.card, labels: [...e.matching.matchingLabels], on: e.matching.on, include: [...e.matching.include] })
          : null,
        bool: e.returnBool,
      });
    case "Call":
      return sortedObject({
        type: "call",
        func: sortedObject({ name: e.func.name, argTypes: [...e.func.argTypes], variadic: e.func.variadic, returnType: e.func.returnType }),
        args: e.args.map(astToJSON),
      });
    case "MatrixSelector":
      return sortedObject({ type: "matrixSelector", range: e.range, ...selectorFields(e.vectorSelector) });
    case "SubqueryExpr":
      return sortedObject({
        type: "subquery",
        expr: astToJSON(e.expr),
        range: e.range,
        offset: e.offset,
        step: e.step,
        timestamp: e.timestamp,
        startOrEnd: e.startOrEnd,
      });
    case "NumberLiteral":
      return sortedObject({ type: "numberLiteral", val: formatGoFloatF(e.val) });
    case "ParenExpr":
      return sortedObject({ type: "parenExpr", expr: astToJSON(e.expr) });
    case "StringLiteral":
      return sortedObject({ type: "stringLiteral", val: e.val });
    case "UnaryExpr":
      return sortedObject({ type: "unaryExpr", op: e.op, expr: astToJSON(e.expr) });
    case "VectorSelector":
      return sortedObject({ type: "vectorSelector", ...selectorFields(e) });
  }
}
