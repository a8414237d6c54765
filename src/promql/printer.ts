/**
 * The canonical PromQL printer, producing the same text as Prometheus's
 * `Expr.String()`: single spaces around binary operators, `by (…)` before
 * the aggregation body, durations as model.Duration (`1h30m`), `@` as
 * seconds with three decimals, numbers as Go's `%v`.
 *
 * Invariant (tested): `parseExpr(formatExpr(parseExpr(q)))` equals `parseExpr(q)`
 * apart from positions.
 *
 * @example
 * formatExpr(parseExpr("sum(rate(x{a='b'}[90m]))by(job)")); // 'sum by (job) (rate(x{a="b"}[1h30m]))'
 */
import { formatGoFloatG } from "../base/index.ts";
import type { Matcher } from "../model/index.ts";
import type { Expr, SubqueryExpr, VectorMatching, VectorSelector } from "./ast.ts";
import { goQuote } from "./lexer.ts";

export { decodeUTF8Escaping, goQuote } from "./lexer.ts";

/** Renders an expression as canonical PromQL. */
export function formatExpr(e: Expr): string {
  switch (e.type) {
    case "NumberLiteral":
      return formatFloat(e.val);
    case "StringLiteral":
      return goQuote(e.val);
    case "VectorSelector":
      return selectorText(e) + modifiersText(e);
    case "MatrixSelector":
      return `${selectorText(e.vectorSelector)}[${formatDuration(e.range)}]${modifiersText(e.vectorSelector)}`;
    case "SubqueryExpr":
      return `${formatExpr(e.expr)}[${formatDuration(e.range)}:${e.step ? formatDuration(e.step) : ""}]${modifiersText(e)}`;
    case "AggregateExpr": {
      let s: string = e.op;
      if (e.without) s += ` without (${e.grouping.map(formatLabelName).join(", ")}) `;
      else if (e.grouping.length > 0) s += ` by (${e.grouping.map(formatLabelName).join(", ")}) `;
      s += "(";
      if (e.param) s += `${formatExpr(e.param)}, `;
      return `${s}${formatExpr(e.expr)})`;
    }
    case "BinaryExpr":
      return `${formatExpr(e.lhs)} ${e.op}${e.returnBool ? " bool" : ""}${matchingText(e.matching)} ${formatExpr(e.rhs)}`;
    case "UnaryExpr":
      return `${e.op}${formatExpr(e.expr)}`;
    case "Call":
      return `${e.func.name}(${e.args.map(formatExpr).join(", ")})`;
    case "ParenExpr":
      return `(${formatExpr(e.expr)})`;
  }
}

function matchingText(vm: VectorMatching | null): string {
  if (!vm) return "";
  const grouped = vm.card === "many-to-one" || vm.card === "one-to-many";
  if (!vm.on && vm.matchingLabels.length === 0 && !grouped) return "";
  let s = ` ${vm.on ? "on" : "ignoring"} (${vm.matchingLabels.map(formatLabelName).join(", ")})`;
  if (grouped) {
    s += ` group_${vm.card === "many-to-one" ? "left" : "right"} (${vm.include.map(formatLabelName).join(", ")})`;
  }
  return s;
}

function selectorText(vs: VectorSelector): string {
  const parts: string[] = [];
  for (const m of vs.matchers) {
    if (m.name === "__name__" && m.type === "=" && m.value === vs.name && m.value !== "") continue;
    parts.push(formatMatcher(m));
  }
  if (parts.length === 0) return vs.name;
  return `${vs.name}{${parts.join(", ")}}`;
}

function modifiersText(x: VectorSelector | SubqueryExpr): string {
  let s = "";
  if (x.startOrEnd) s += ` @ ${x.startOrEnd}()`;
  else if (x.timestamp !== null) s += ` @ ${(x.timestamp / 1000).toFixed(3)}`;
  if (x.offset > 0) s += ` offset ${formatDuration(x.offset)}`;
  else if (x.offset < 0) s += ` offset -${formatDuration(-x.offset)}`;
  return s;
}

/**
 * Renders a matcher for PromQL: the label name bare when it is a classic
 * label name, quoted otherwise; the value always Go-quoted.
 *
 * @example
 * formatMatcher(newMatcher("=~", "job", "a|b")); // 'job=~"a|b"'
 */
export function formatMatcher(m: Matcher): string {
  return `${formatLabelName(m.name)}${m.type}${goQuote(m.value)}`;
}

function isLegacyLabelName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const alpha = c === 95 || (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
    if (!alpha && !(i > 0 && c >= 48 && c <= 57)) return false;
  }
  return true;
}

function formatLabelName(name: string): string {
  return isLegacyLabelName(name) ? name : goQuote(name);
}

/**
 * Formats milliseconds like Prometheus's model.Duration: `0s`, `1h30m`,
 * `1w`, `500ms`; years and weeks only when they divide exactly.
 *
 * @example
 * formatDuration(5_400_000); // "1h30m"
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  let rest = Math.trunc(ms);
  let out = "";
  const units: [string, number, boolean][] = [
    ["y", 365 * 24 * 3600_000, true], ["w", 7 * 24 * 3600_000, true], ["d", 24 * 3600_000, false],
    ["h", 3600_000, false], ["m", 60_000, false], ["s", 1000, false], ["ms", 1, false],
  ];
  for (const [unit, mult, exact] of units) {
    if (exact && rest % mult !== 0) continue;
    const v = Math.floor(rest / mult);
    if (v > 0) {
      out += `${v}${unit}`;
      rest -= v * mult;
    }
  }
  return out;
}

/**
 * Formats a float as Go's `%v` does (strconv 'g', shortest): `1`, `0.5`,
 * `1e+06`, `1.5e-05`, `+Inf`, `NaN` (the base room's formatGoFloatG).
 */
export const formatFloat: (v: number) => string = formatGoFloatG;

/** Longest line `prettyExpr` leaves unsplit, as in Prometheus's prettifier. */
export const PRETTY_MAX_LINE = 100;

/**
 * Formats an expression over several indented lines, the way Prometheus's
 * `Prettify` (and `/api/v1/format_query`) does: any node whose one-line form
 * exceeds 100 characters is split, its children indented by two spaces.
 *
 * @example
 * prettyExpr(parseExpr("up")); // "up"
 */
export function prettyExpr(e: Expr): string {
  return prettyAt(e, 0);
}

function indent(level: number): string {
  return "  ".repeat(level);
}

function prettyAt(e: Expr, level: number): string {
  const flat = formatExpr(e);
  if (flat.length <= PRETTY_MAX_LINE) return indent(level) + flat;
  const pad = indent(level);
  switch (e.type) {
    case "AggregateExpr": {
      let s = `${pad}${e.op}`;
      if (e.without) s += ` without (${e.grouping.map(formatLabelName).join(", ")}) `;
      else if (e.grouping.length > 0) s += ` by (${e.grouping.map(formatLabelName).join(", ")}) `;
      s += "(\n";
      if (e.param) s += `${prettyAt(e.param, level + 1)},\n`;
      return `${s}${prettyAt(e.expr, level + 1)}\n${pad})`;
    }
    case "BinaryExpr":
      return `${prettyAt(e.lhs, level + 1)}\n${pad}${e.op}${e.returnBool ? " bool" : ""}${matchingText(e.matching)}\n${prettyAt(e.rhs, level + 1)}`;
    case "Call":
      return `${pad}${e.func.name}(\n${e.args.map((a) => prettyAt(a, level + 1)).join(",\n")}\n${pad})`;
    case "ParenExpr":
      return `${pad}(\n${prettyAt(e.expr, level + 1)}\n${pad})`;
    case "SubqueryExpr":
      return `${prettyAt(e.expr, level)}[${formatDuration(e.range)}:${e.step ? formatDuration(e.step) : ""}]${modifiersText(e)}`;
    case "UnaryExpr":
      return `${pad}${e.op}${prettyAt(e.expr, level).trimStart()}`;
    default:
      return pad + flat;
  }
}
