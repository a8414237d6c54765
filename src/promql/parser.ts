/**
 * The PromQL parser (Prometheus 3 grammar): a recursive-descent parser with
 * precedence climbing for binary operators, followed by a type-checking pass
 * with Prometheus's error messages.
 *
 * @example
 * const e = parseExpr('sum by (job) (rate(http_requests_total[5m]))');
 * e.type; // "AggregateExpr"
 */
import { newMatcher, translateRE2, type Matcher, type MatchType } from "../model/index.ts";
import type {
  AggregateExpr,
  AggregateOp,
  BinaryExpr,
  BinaryOp,
  Call,
  Expr,
  MatrixSelector,
  PosRange,
  SubqueryExpr,
  ValueType,
  VectorMatching,
  VectorSelector,
} from "./ast.ts";
import { goQuote, Lexer, ParseError, unquoteString, type Token } from "./lexer.ts";
import { EXPERIMENTAL_FUNCTIONS, getFunction } from "./signatures.ts";

export { ParseError } from "./lexer.ts";

/** Options for `parseExpr`. */
export interface ParseOptions {
  /**
   * Accept the functions Prometheus 3 keeps behind
   * `--enable-feature=promql-experimental-functions` (default true).
   */
  experimentalFunctions?: boolean;
  /** Lines preceding the query in its document, added to error line numbers (default 0). */
  lineOffset?: number;
}

/**
 * Deepest expression tree accepted. Bounds the recursion of the parser and of
 * every later tree walk (type checks, printer, evaluator) so a hostile query
 * gets a parse error instead of exhausting the stack.
 */
export const MAX_EXPRESSION_DEPTH = 1000;

/**
 * Parses and type-checks a PromQL expression.
 * Throws `ParseError` (with position and Prometheus-style message) for any
 * syntax or type error; never throws anything else for string input.
 *
 * @example
 * parseExpr("up == 1");          // BinaryExpr
 * parseExpr("rate(up)");         // throws: 1:6: parse error: expected type range vector in call to function "rate", got instant vector
 */
export function parseExpr(query: string, opts: ParseOptions = {}): Expr {
  const lineOffset = opts.lineOffset ?? 0;
  try {
    const parser = new Parser(query, opts.experimentalFunctions ?? true);
    const expr = parser.parseQuery();
    new TypeChecker(query).check(expr, 0);
    return expr;
  } catch (e) {
    if (e instanceof ParseError && lineOffset !== 0) {
      throw new ParseError(e.detail, e.positionRange, query, lineOffset);
    }
    throw e;
  }
}

/** Duration units largest first, with their length in milliseconds. */
const DURATION_UNITS: readonly (readonly [string, number])[] = [
  ["y", 365 * 24 * 3600_000], ["w", 7 * 24 * 3600_000], ["d", 24 * 3600_000], ["h", 3600_000],
  ["m", 60_000], ["s", 1000], ["ms", 1],
];

/**
 * Parses a model duration such as `1h30m` or `500ms` into milliseconds.
 * Units must appear at most once each, largest first (y w d h m s ms).
 *
 * @example
 * parseDuration("1h30m"); // 5400000
 */
export function parseDuration(text: string): number {
  if (text === "") throw new Error("empty duration string");
  const units = DURATION_UNITS;
  let pos = 0;
  let unitIndex = 0;
  let total = 0;
  while (pos < text.length) {
    const numStart = pos;
    while (pos < text.length && text.charCodeAt(pos) >= 48 && text.charCodeAt(pos) <= 57) pos++;
    if (pos === numStart) throw new Error(`not a valid duration string: ${goQuote(text)}`);
    const amount = Number(text.slice(numStart, pos));
    let matched = false;
    for (; unitIndex < units.length; unitIndex++) {
      const [unit, mult] = units[unitIndex];
      const isMs = text.startsWith("ms", pos);
      if ((unit === "ms" && isMs) || (unit !== "ms" && !isMs && text.startsWith(unit, pos))) {
        total += amount * mult;
        pos += unit.length;
        unitIndex++;
        matched = true;
        break;
      }
    }
    if (!matched) throw new Error(`not a valid duration string: ${goQuote(text)}`);
  }
  if (!Number.isSafeInteger(total)) throw new Error(`duration out of range: ${goQuote(text)}`);
  return total;
}

const PRECEDENCE: Readonly<Record<string, number>> = {
  or: 1,
  and: 2, unless: 2,
  "==": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3,
  "+": 4, "-": 4,
  "*": 5, "/": 5, "%": 5, atan2: 5,
  "^": 6,
};
const POW_PRECEDENCE = 6;

const COMPARISON_OPS: ReadonlySet<string> = new Set(["==", "!=", "<", "<=", ">", ">="]);
const SET_OPS: ReadonlySet<string> = new Set(["and", "or", "unless"]);
const PARAM_AGGREGATORS: ReadonlySet<string> = new Set(["topk", "bottomk", "count_values", "quantile", "limitk", "limit_ratio"]);

const METRIC_NAME_KEYWORDS: ReadonlySet<string> = new Set(["offset", "by", "without", "start", "end"]);

const SELECTOR_MODIFIER_TARGET = "must be preceded by an instant vector selector or range vector selector or a subquery";

/** Describes a token the way Prometheus's `Item.desc()` does, for "unexpected …" messages. */
function describeToken(t: Token, input: string): string {
  const text = input.slice(t.start, t.end);
  switch (t.kind) {
    case "eof": return "end of input";
    case "ident": return `identifier ${goQuote(text)}`;
    case "metricIdent": return `metric identifier ${goQuote(text)}`;
    case "number": return `number ${quoteShort(text)}`;
    case "duration": return `duration ${quoteShort(text)}`;
    case "string": return `string ${quoteShort(text)}`;
    case "punct": return t.val === "@" ? "<op:@>" : goQuote(text);
    case "op": return `<op:${text}>`;
    case "aggr": return `<aggr:${text}>`;
    case "keyword": return `<${text}>`;
  }
}

/** Go's `%.10q`: at most 10 characters, quoted, with "..." when cut. */
function quoteShort(text: string): string {
  const chars = Array.from(text);
  return chars.length > 10 ? `${goQuote(chars.slice(0, 10).join(""))}...` : goQuote(text);
}

/** Go's strconv.ParseFloat/ParseInt(base 0) as Prometheus applies them to number tokens. */
function parseNumberText(text: string): number | string {
  const lower = text.toLowerCase();
  if (lower === "inf") return Infinity;
  if (lower === "nan") return NaN;
  const clean = text.replace(/_/g, "");
  let v: number;
  if (lower.startsWith("0x")) v = Number(BigInt(clean));
  else if (/^0[0-7]+$/.test(clean)) v = Number(BigInt(`0o${clean.slice(1)}`));
  else v = Number(clean);
  if (!Number.isFinite(v)) return `error parsing number: strconv.ParseFloat: parsing ${goQuote(text)}: value out of range`;
  return v;
}

/** Rounds half away from zero, like Go's math.Round. */
function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** Go's `%f` for the out-of-range timestamp message. */
function goFormatF(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return v.toFixed(6);
}

function isGroupingLabelToken(t: Token): boolean {
  switch (t.kind) {
    case "ident":
    case "keyword":
    case "aggr":
    case "metricIdent":
    case "string":
      return true;
    case "op":
      return t.val === "and" || t.val === "or" || t.val === "unless" || t.val === "atan2";
    default:
      return false;
  }
}

class Parser {
  private readonly lexer: Lexer;
  private readonly input: string;
  private readonly lookahead: Token[] = [];
  private depth = 0;

  constructor(input: string, private readonly experimentalFunctions: boolean) {
    this.input = input;
    this.lexer = new Lexer(input);
  }

  parseQuery(): Expr {
    if (this.peek().kind === "eof") this.fail("no expression found in input", { start: 0, end: 0 });
    const expr = this.parseBinary(0);
    const t = this.peek();
    if (t.kind !== "eof") this.unexpected(t);
    return expr;
  }

  private peek(ahead = 0): Token {
    while (this.lookahead.length <= ahead) this.lookahead.push(this.lexer.next());
    return this.lookahead[ahead];
  }

  private next(): Token {
    return this.lookahead.length > 0 ? (this.lookahead.shift() as Token) : this.lexer.next();
  }

  private is(t: Token, kind: Token["kind"], val?: string): boolean {
    return t.kind === kind && (val === undefined || t.val === val);
  }

  private fail(msg: string, pos: PosRange): never {
    throw new ParseError(msg, { start: pos.start, end: pos.end }, this.input);
  }

  private unexpected(t: Token, context = "", expected = ""): never {
    let msg = `unexpected ${describeToken(t, this.input)}`;
    if (context) msg += ` in ${context}`;
    if (expected) msg += `, expected ${expected}`;
    return this.fail(msg, t);
  }

  private expectPunct(val: string, context: string): Token {
    const t = this.next();
    if (!this.is(t, "punct", val)) this.unexpected(t, context, goQuote(val));
    return t;
  }

  private enter(at: Token): void {
    if (++this.depth > MAX_EXPRESSION_DEPTH) {
      this.fail(`expression nesting too deep (more than ${MAX_EXPRESSION_DEPTH} levels)`, at);
    }
  }

  private leave(): void {
    this.depth--;
  }

  /** Precedence climbing: parses operators binding at least as tightly as `minPrec`. */
  private parseBinary(minPrec: number): Expr {
    this.enter(this.peek());
    let lhs = this.parseUnary();
    for (;;) {
      const opTok = this.peek();
      if (opTok.kind !== "op") break;
      const prec = PRECEDENCE[opTok.val];
      if (prec === undefined || prec < minPrec) break;
      this.next();
      const op = opTok.val as BinaryOp;
      let returnBool = false;
      if (this.is(this.peek(), "keyword", "bool")) {
        this.next();
        returnBool = true;
      }
      const matching: VectorMatching = { card: "one-to-one", matchingLabels: [], on: false, include: [] };
      const m = this.peek();
      if (this.is(m, "keyword", "on") || this.is(m, "keyword", "ignoring")) {
        this.next();
        matching.on = m.val === "on";
        matching.matchingLabels = this.parseGroupingLabels().labels;
        const g = this.peek();
        if (this.is(g, "keyword", "group_left") || this.is(g, "keyword", "group_right")) {
          this.next();
          matching.card = g.val === "group_left" ? "many-to-one" : "one-to-many";
          if (this.is(this.peek(), "punct", "(")) matching.include = this.parseGroupingLabels().labels;
        }
      }
      const rhs = this.parseBinary(op === "^" ? prec : prec + 1);
      const bin: BinaryExpr = {
        type: "BinaryExpr", op, lhs, rhs, matching, returnBool,
        pos: { start: lhs.pos.start, end: rhs.pos.end },
      };
      lhs = bin;
    }
    this.leave();
    return lhs;
  }

  private parseUnary(): Expr {
    const t = this.peek();
    if (this.is(t, "op", "-") || this.is(t, "op", "+")) {
      this.next();
      const operand = this.parseBinary(POW_PRECEDENCE);
      if (operand.type === "NumberLiteral") {
        if (t.val === "-") operand.val = -operand.val;
        operand.pos = { start: t.start, end: operand.pos.end };
        return operand;
      }
      return { type: "UnaryExpr", op: t.val as "-" | "+", expr: operand, pos: { start: t.start, end: operand.pos.end } };
    }
    return this.parsePostfix(this.parsePrimary());
  }

  private parsePrimary(): Expr {
    const t = this.peek();
    switch (t.kind) {
      case "number": {
        this.next();
        const v = parseNumberText(t.val);
        if (typeof v === "string") this.fail(v, t);
        return { type: "NumberLiteral", val: v, pos: { start: t.start, end: t.end } };
      }
      case "duration":
        this.next();
        return { type: "NumberLiteral", val: this.durationMs(t) / 1000, pos: { start: t.start, end: t.end } };
      case "string":
        this.next();
        return { type: "StringLiteral", val: unquoteString(t.val), pos: { start: t.start, end: t.end } };
      case "punct":
        if (t.val === "(") {
          this.next();
          const inner = this.parseBinary(0);
          const close = this.next();
          if (!this.is(close, "punct", ")")) this.unexpected(close, "paren expression", `")"`);
          return { type: "ParenExpr", expr: inner, pos: { start: t.start, end: close.end } };
        }
        if (t.val === "{") return this.parseVectorSelector(null);
        break;
      case "ident":
        if (this.is(this.peek(1), "punct", "(")) return this.parseCall();
        return this.parseVectorSelector(this.next());
      case "metricIdent":
        return this.parseVectorSelector(this.next());
      case "aggr": {
        // An aggregator name not followed by its body or a grouping clause is a metric name (`foo * sum`).
        const after = this.peek(1);
        if (this.is(after, "punct", "(") || this.is(after, "keyword", "by") || this.is(after, "keyword", "without")) {
          return this.parseAggregate();
        }
        return this.parseVectorSelector(this.next());
      }
      case "keyword":
        // `start()` and `end()` are functions when not after `@`.
        if ((t.val === "start" || t.val === "end") && this.is(this.peek(1), "punct", "(")) return this.parseCall();
        // Some keywords in operand position are metric names (`offset{job="a"}`), as in Prometheus's grammar.
        if (METRIC_NAME_KEYWORDS.has(t.val)) return this.parseVectorSelector(this.next());
        break;
      default:
        break;
    }
    return this.unexpected(t);
  }

  private durationMs(t: Token): number {
    try {
      return parseDuration(t.val);
    } catch (e) {
      return this.fail((e as Error).message, t);
    }
  }

  private parseVectorSelector(nameTok: Token | null): VectorSelector {
    const matchers: Matcher[] = [];
    const start = nameTok ? nameTok.start : this.peek().start;
    let end = nameTok ? nameTok.end : start;
    if (this.is(this.peek(), "punct", "{")) {
      end = this.parseLabelMatchers(matchers);
    }
    if (nameTok) {
      for (const m of matchers) {
        if (m.name === "__name__") {
          this.fail(`metric name must not be set twice: ${goQuote(nameTok.val)} or ${goQuote(m.value)}`, { start, end });
        }
      }
      matchers.push(newMatcher("=", "__name__", nameTok.val));
    }
    return {
      type: "VectorSelector", name: nameTok ? nameTok.val : "", matchers, offset: 0, timestamp: null, startOrEnd: null,
      pos: { start, end },
    };
  }

  /** Parses `{…}` into `out`; returns the end offset of the closing brace. */
  private parseLabelMatchers(out: Matcher[]): number {
    this.next();
    for (;;) {
      const nameTok = this.next();
      if (this.is(nameTok, "punct", "}")) return nameTok.end;
      let name: string;
      if (nameTok.kind === "ident") name = nameTok.val;
      else if (nameTok.kind === "string") name = unquoteString(nameTok.val);
      else return this.unexpected(nameTok, "label matching", `identifier or "}"`);
      const opTok = this.peek();
      if (nameTok.kind === "string" && (this.is(opTok, "punct", ",") || this.is(opTok, "punct", "}"))) {
        out.push(newMatcher("=", "__name__", name));
      } else {
        this.next();
        let type: MatchType;
        if (this.is(opTok, "punct", "=")) type = "=";
        else if (opTok.kind === "op" && (opTok.val === "!=" || opTok.val === "=~" || opTok.val === "!~")) type = opTok.val;
        else return this.unexpected(opTok, "label matching", "label matching operator");
        const valueTok = this.next();
        if (valueTok.kind !== "string") this.unexpected(valueTok, "label matching", "string");
        try {
          const value = unquoteString(valueTok.val);
          out.push(newMatcher(type, name, value));
          // Prometheus 2.42 compiles ^(?:value)$, then also parses the value alone: `a)|(b` is refused.
          if (type === "=~" || type === "!~") translateRE2(value);
        } catch (e) {
          this.fail((e as Error).message, { start: nameTok.start, end: valueTok.end });
        }
      }
      const sep = this.next();
      if (this.is(sep, "punct", "}")) return sep.end;
      if (!this.is(sep, "punct", ",")) this.unexpected(sep, "label matching", `"," or "}"`);
    }
  }

  private parseCall(): Call {
    const nameTok = this.next();
    const func = getFunction(nameTok.val);
    if (!func) this.fail(`unknown function with name ${goQuote(nameTok.val)}`, nameTok);
    if (!this.experimentalFunctions && EXPERIMENTAL_FUNCTIONS.has(func.name)) {
      this.fail(`function ${goQuote(func.name)} is not enabled`, nameTok);
    }
    const { args, end } = this.parseCallBody("function call");
    return { type: "Call", func, args, pos: { start: nameTok.start, end } };
  }

  /** Parses `( expr, expr … )`; returns the arguments and the end of `)`. */
  private parseCallBody(context: string): { args: Expr[]; end: number } {
    this.expectPunct("(", context);
    const args: Expr[] = [];
    if (this.is(this.peek(), "punct", ")")) return { args, end: this.next().end };
    for (;;) {
      args.push(this.parseBinary(0));
      const sep = this.next();
      if (this.is(sep, "punct", ")")) return { args, end: sep.end };
      if (!this.is(sep, "punct", ",")) this.unexpected(sep, context, `"," or ")"`);
      if (this.is(this.peek(), "punct", ")")) this.fail("trailing commas not allowed in function call args", sep);
    }
  }

  private parseAggregate(): AggregateExpr {
    const opTok = this.next();
    const op = opTok.val as AggregateOp;
    let grouping: string[] = [];
    let without = false;
    let hasModifier = false;
    const parseModifier = (): number => {
      const kw = this.next();
      without = kw.val === "without";
      const parsed = this.parseGroupingLabels();
      grouping = parsed.labels;
      hasModifier = true;
      return parsed.end;
    };
    const first = this.peek();
    if (this.is(first, "keyword", "by") || this.is(first, "keyword", "without")) parseModifier();
    else if (!this.is(first, "punct", "(")) this.unexpected(first, "aggregation");
    const body = this.parseCallBody("aggregation");
    let end = body.end;
    const after = this.peek();
    if (!hasModifier && (this.is(after, "keyword", "by") || this.is(after, "keyword", "without"))) {
      end = parseModifier();
    }
    const pos = { start: opTok.start, end };
    const args = body.args;
    if (args.length === 0) this.fail("no arguments for aggregate expression provided", pos);
    const wanted = PARAM_AGGREGATORS.has(op) ? 2 : 1;
    if (args.length !== wanted) {
      this.fail(`wrong number of arguments for aggregate expression provided, expected ${wanted}, got ${args.length}`, pos);
    }
    return {
      type: "AggregateExpr", op, expr: args[wanted - 1], param: wanted === 2 ? args[0] : null, grouping, without, pos,
    };
  }

  /** Parses `(label, …)` after by/without/on/ignoring/group_x; returns the labels and the end of `)`. */
  private parseGroupingLabels(): { labels: string[]; end: number } {
    this.expectPunct("(", "grouping opts");
    const labels: string[] = [];
    for (;;) {
      const t = this.next();
      if (this.is(t, "punct", ")")) return { labels, end: t.end };
      if (!isGroupingLabelToken(t)) this.unexpected(t, "grouping opts", "label");
      if (t.kind === "metricIdent") this.fail(`invalid label name for grouping: ${goQuote(t.val)}`, t);
      labels.push(t.kind === "string" ? unquoteString(t.val) : this.input.slice(t.start, t.end));
      const sep = this.next();
      if (this.is(sep, "punct", ")")) return { labels, end: sep.end };
      if (!this.is(sep, "punct", ",")) this.unexpected(sep, "grouping opts", `"," or ")"`);
    }
  }

  /** Applies `[range]`, `[range:step]`, `offset` and `@` that follow an expression. */
  private parsePostfix(expr: Expr): Expr {
    let e = expr;
    for (;;) {
      const t = this.peek();
      if (this.is(t, "punct", "[")) e = this.parseRangeOrSubquery(e);
      else if (this.is(t, "keyword", "offset")) e = this.parseOffset(e);
      else if (this.is(t, "punct", "@")) e = this.parseAt(e);
      else return e;
    }
  }

  /** Reads a duration or a number of seconds; returns milliseconds (truncated like Go). */
  private parseDurationValue(context: string, expected: string): { ms: number; tok: Token } {
    const t = this.next();
    if (t.kind === "duration") return { ms: this.durationMs(t), tok: t };
    if (t.kind === "number") {
      const v = parseNumberText(t.val);
      if (typeof v === "string") this.fail(v, t);
      const ms = Math.trunc(v * 1000);
      if (!Number.isSafeInteger(ms)) this.fail(`duration out of range: ${goQuote(t.val)}`, t);
      return { ms, tok: t };
    }
    return this.unexpected(t, context, expected);
  }

  private parseRangeOrSubquery(e: Expr): Expr {
    const open = this.next();
    const context = "subquery or range selector";
    const sign = this.peek();
    if (this.is(sign, "op", "-")) {
      this.next();
      const negated = this.parseDurationValue(context, "number or duration");
      this.fail("duration must be greater than 0", { start: sign.start, end: negated.tok.end });
    }
    const range = this.parseDurationValue(context, "number or duration");
    const t = this.next();
    if (this.is(t, "punct", "]")) {
      const errRange = { start: open.start, end: t.end };
      if (e.type !== "VectorSelector") this.fail("ranges only allowed for vector selectors", errRange);
      if (e.offset !== 0) this.fail("no offset modifiers allowed before range", errRange);
      if (e.timestamp !== null || e.startOrEnd !== null) this.fail("no @ modifiers allowed before range", errRange);
      if (range.ms <= 0) this.fail("duration must be greater than 0", range.tok);
      const m: MatrixSelector = { type: "MatrixSelector", vectorSelector: e, range: range.ms, pos: { start: e.pos.start, end: t.end } };
      return m;
    }
    if (!this.is(t, "punct", ":")) this.unexpected(t, context, `":" or "]"`);
    if (range.ms <= 0) this.fail("duration must be greater than 0", range.tok);
    let step = 0;
    if (!this.is(this.peek(), "punct", "]")) {
      const s = this.parseDurationValue(context, "number or duration");
      if (s.ms <= 0) this.fail("duration must be greater than 0", s.tok);
      step = s.ms;
    }
    const close = this.next();
    if (!this.is(close, "punct", "]")) this.unexpected(close, context, `"]"`);
    const sq: SubqueryExpr = {
      type: "SubqueryExpr", expr: e, range: range.ms, step, offset: 0, timestamp: null, startOrEnd: null,
      pos: { start: e.pos.start, end: close.end },
    };
    return sq;
  }

  /** The node an offset/@ modifier applies to: the selector or subquery itself, or a range's inner selector. */
  private modifierTarget(e: Expr, what: string): VectorSelector | SubqueryExpr {
    if (e.type === "VectorSelector" || e.type === "SubqueryExpr") return e;
    if (e.type === "MatrixSelector") return e.vectorSelector;
    return this.fail(`${what} ${SELECTOR_MODIFIER_TARGET}`, e.pos);
  }

  private parseOffset(e: Expr): Expr {
    this.next();
    let negative = false;
    const sign = this.peek();
    if (this.is(sign, "op", "-") || this.is(sign, "op", "+")) {
      this.next();
      negative = sign.val === "-";
    }
    const { ms, tok } = this.parseDurationValue("offset", "number or duration");
    const target = this.modifierTarget(e, "offset modifier");
    if (target.offset !== 0) this.fail("offset may not be set multiple times", e.pos);
    target.offset = negative ? -ms : ms;
    e.pos = { start: e.pos.start, end: tok.end };
    return e;
  }

  private parseAt(e: Expr): Expr {
    this.next();
    const t = this.next();
    let timestamp: number | null = null;
    let startOrEnd: "start" | "end" | null = null;
    let end: number;
    if (this.is(t, "keyword", "start") || this.is(t, "keyword", "end")) {
      this.expectPunct("(", "@");
      end = this.expectPunct(")", "@").end;
      startOrEnd = t.val as "start" | "end";
    } else {
      let sign = 1;
      let numTok = t;
      if (this.is(t, "op", "-") || this.is(t, "op", "+")) {
        sign = t.val === "-" ? -1 : 1;
        numTok = this.next();
      }
      let seconds: number;
      if (numTok.kind === "number") {
        const v = parseNumberText(numTok.val);
        if (typeof v === "string") this.fail(v, numTok);
        seconds = v;
      } else if (numTok.kind === "duration") {
        seconds = this.durationMs(numTok) / 1000;
      } else {
        return this.unexpected(numTok, "@", "timestamp");
      }
      seconds *= sign;
      const ms = seconds * 1000;
      if (!Number.isFinite(ms) || ms >= 9.223372036854776e18 || ms <= -9.223372036854776e18) {
        this.fail(`timestamp out of bounds for @ modifier: ${goFormatF(seconds)}`, e.pos);
      }
      timestamp = roundHalfAway(ms);
      end = numTok.end;
    }
    const target = this.modifierTarget(e, "@ modifier");
    if (target.timestamp !== null || target.startOrEnd !== null) {
      this.fail("@ <timestamp> may not be set multiple times", e.pos);
    }
    target.timestamp = timestamp;
    target.startOrEnd = startOrEnd;
    e.pos = { start: e.pos.start, end };
    return e;
  }
}

/** Prometheus's user-facing names for value types. */
function documentedType(t: ValueType): string {
  switch (t) {
    case "vector": return "instant vector";
    case "matrix": return "range vector";
    default: return t;
  }
}

/** The type-checking pass (Prometheus's checkAST): validates operand types and fixes up vector matching. */
class TypeChecker {
  constructor(private readonly input: string) {}

  private fail(msg: string, pos: PosRange): never {
    throw new ParseError(msg, { start: pos.start, end: pos.end }, this.input);
  }

  private expectType(e: Expr, want: ValueType, context: string, depth: number): void {
    const got = this.check(e, depth);
    if (got !== want) {
      this.fail(`expected type ${documentedType(want)} in ${context}, got ${documentedType(got)}`, e.pos);
    }
  }

  /** Checks `e` and returns its type. */
  check(e: Expr, depth: number): ValueType {
    if (depth > MAX_EXPRESSION_DEPTH) {
      this.fail(`expression nesting too deep (more than ${MAX_EXPRESSION_DEPTH} levels)`, e.pos);
    }
    const d = depth + 1;
    switch (e.type) {
      case "NumberLiteral":
        return "scalar";
      case "StringLiteral":
        return "string";
      case "VectorSelector":
        if (e.name === "" && e.matchers.every((m) => m.matches(""))) {
          this.fail("vector selector must contain at least one non-empty matcher", e.pos);
        }
        return "vector";
      case "MatrixSelector":
        this.check(e.vectorSelector, d);
        return "matrix";
      case "SubqueryExpr": {
        const t = this.check(e.expr, d);
        if (t !== "vector") this.fail(`subquery is only allowed on instant vector, got ${t} instead`, e.pos);
        return "matrix";
      }
      case "ParenExpr":
        return this.check(e.expr, d);
      case "UnaryExpr": {
        const t = this.check(e.expr, d);
        if (t !== "scalar" && t !== "vector") {
          this.fail(`unary expression only allowed on expressions of type scalar or instant vector, got ${goQuote(documentedType(t))}`, e.pos);
        }
        return t;
      }
      case "AggregateExpr":
        if (e.param) {
          this.expectType(e.param, e.op === "count_values" ? "string" : "scalar", "aggregation parameter", d);
        }
        this.expectType(e.expr, "vector", "aggregation expression", d);
        return "vector";
      case "Call":
        return this.checkCall(e, d);
      case "BinaryExpr":
        return this.checkBinary(e, d);
    }
  }

  private checkCall(e: Call, d: number): ValueType {
    const f = e.func;
    const nargs = f.argTypes.length;
    if (f.variadic === 0) {
      if (nargs !== e.args.length) {
        this.fail(`expected ${nargs} argument(s) in call to ${goQuote(f.name)}, got ${e.args.length}`, e.pos);
      }
    } else {
      const min = nargs - 1;
      if (min > e.args.length) {
        this.fail(`expected at least ${min} argument(s) in call to ${goQuote(f.name)}, got ${e.args.length}`, e.pos);
      } else if (f.variadic > 0 && min + f.variadic < e.args.length) {
        this.fail(`expected at most ${min + f.variadic} argument(s) in call to ${goQuote(f.name)}, got ${e.args.length}`, e.pos);
      }
    }
    for (let i = 0; i < e.args.length; i++) {
      const typeIndex = i < nargs ? i : nargs - 1;
      this.expectType(e.args[i], f.argTypes[typeIndex], `call to function ${goQuote(f.name)}`, d);
    }
    return f.returnType;
  }

  /** The operator's own range, without surrounding whitespace (for operator-level errors). */
  private opRange(e: BinaryExpr): PosRange {
    const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13;
    let start = e.lhs.pos.end;
    while (start < e.rhs.pos.start && isSpace(this.input.charCodeAt(start))) start++;
    let end = e.rhs.pos.start;
    while (end > start && isSpace(this.input.charCodeAt(end - 1))) end--;
    return { start, end };
  }

  private checkBinary(e: BinaryExpr, d: number): ValueType {
    const lt = this.check(e.lhs, d);
    const rt = this.check(e.rhs, d);
    const isComparison = COMPARISON_OPS.has(e.op);
    const isSet = SET_OPS.has(e.op);
    if (e.returnBool && !isComparison) this.fail("bool modifier can only be used on comparison operators", this.opRange(e));
    if (isComparison && !e.returnBool && lt === "scalar" && rt === "scalar") {
      this.fail("comparisons between scalars must use BOOL modifier", this.opRange(e));
    }
    const vm = e.matching;
    if (vm) {
      if (isSet && vm.card === "one-to-one") vm.card = "many-to-many";
      if (vm.on) {
        for (const label of vm.matchingLabels) {
          if (vm.include.includes(label)) {
            this.fail(`label ${goQuote(label)} must not occur in ON and GROUP clause at once`, this.opRange(e));
          }
        }
      }
    }
    if (lt !== "scalar" && lt !== "vector") this.fail("binary expression must contain only scalar and instant vector types", e.lhs.pos);
    if (rt !== "scalar" && rt !== "vector") this.fail("binary expression must contain only scalar and instant vector types", e.rhs.pos);
    if ((lt !== "vector" || rt !== "vector") && vm) {
      if (vm.matchingLabels.length > 0) this.fail("vector matching only allowed between instant vectors", e.pos);
      e.matching = null;
    } else if (isSet && vm) {
      if (vm.card === "one-to-many" || vm.card === "many-to-one") this.fail(`no grouping allowed for ${goQuote(e.op)} operation`, e.pos);
      if (vm.card !== "many-to-many") this.fail("set operations must always be many-to-many", e.pos);
    }
    if ((lt === "scalar" || rt === "scalar") && isSet) {
      this.fail(`set operator ${goQuote(e.op)} not allowed in binary scalar expression`, e.pos);
    }
    return lt === "scalar" && rt === "scalar" ? "scalar" : "vector";
  }
}

