import { describe, expect, test } from "bun:test";
import {
  type AggregateExpr,
  type BinaryExpr,
  type Call,
  type Expr,
  FUNCTIONS,
  formatExpr,
  type MatrixSelector,
  type NumberLiteral,
  ParseError,
  parseDuration,
  parseExpr,
  type StringLiteral,
  type SubqueryExpr,
  type UnaryExpr,
  valueType,
  type VectorSelector,
  walk,
} from "../../src/promql/index.ts";

function parseAs<T extends Expr>(q: string, type: T["type"]): T {
  const e = parseExpr(q);
  expect(e.type).toBe(type);
  return e as T;
}

function parseError(q: string): ParseError {
  try {
    parseExpr(q);
  } catch (e) {
    if (e instanceof ParseError) return e;
    throw new Error(`expected ParseError for ${JSON.stringify(q)}, got ${String(e)}`);
  }
  throw new Error(`expected ${JSON.stringify(q)} to fail`);
}

function matcherTexts(vs: VectorSelector): string[] {
  return vs.matchers.map((m) => `${m.name}${m.type}${m.value}`);
}

describe("literals", () => {
  const numbers: [string, number][] = [
    ["1", 1], ["1.5", 1.5], [".5", 0.5], ["1.", 1], ["1e3", 1000], ["1E-3", 0.001], ["2.5e+2", 250], ["0x1F", 31],
    ["0Xff", 255], ["010", 8], ["09", 9], ["1_000", 1000], ["Inf", Infinity], ["+inf", Infinity], ["-Inf", -Infinity],
    ["-1", -1], ["+1", 1], ["- -1", 1], ["1m", 60], ["1h30m", 5400], ["500ms", 0.5], ["1y", 31536000], ["2w", 1209600],
  ];
  for (const [q, v] of numbers) {
    test(`number ${q}`, () => {
      expect(parseAs<NumberLiteral>(q, "NumberLiteral").val).toBe(v);
    });
  }

  test("NaN in any case", () => {
    for (const q of ["NaN", "nan", "nAn", "-NaN"]) expect(parseAs<NumberLiteral>(q, "NumberLiteral").val).toBeNaN();
  });

  test("negated literal is folded and its position starts at the sign", () => {
    const n = parseAs<NumberLiteral>("  -  42", "NumberLiteral");
    expect(n.val).toBe(-42);
    expect(n.pos).toEqual({ start: 2, end: 7 });
  });

  const strings: [string, string][] = [
    [`"abc"`, "abc"], [`'abc'`, "abc"], ["`a\\nb`", "a\\nb"], [`"a\\nb\\t"`, "a\nb\t"], [`"\\x41\\101"`, "AA"],
    [`"\\u00e9\\U0001F600"`, "é😀"], [`"\\xc3\\xa9"`, "é"], [`'it\\'s'`, "it's"], [`"say \\"hi\\""`, 'say "hi"'],
    [`"\\a\\b\\f\\r\\v\\\\"`, "\x07\b\f\r\v\\"], ["`multi\nline`", "multi\nline"], [`"ünïcödé"`, "ünïcödé"],
  ];
  for (const [q, v] of strings) {
    test(`string ${q}`, () => {
      expect(parseAs<StringLiteral>(q, "StringLiteral").val).toBe(v);
    });
  }

  test("invalid UTF-8 from byte escapes stays detectable", () => {
    const s = parseAs<StringLiteral>(`"a\\xc5z\\xff"`, "StringLiteral");
    expect(s.val).toBe("a\udcc5z\udcff");
    expect(s.val.isWellFormed()).toBe(false);
    expect(parseAs<StringLiteral>(`"\\xe2\\x82\\xac"`, "StringLiteral").val.isWellFormed()).toBe(true);
  });

  test("string positions cover the quotes", () => {
    expect(parseAs<StringLiteral>(` "ab" `, "StringLiteral").pos).toEqual({ start: 1, end: 5 });
  });
});

describe("vector selectors", () => {
  test("name only", () => {
    const vs = parseAs<VectorSelector>("http_requests_total", "VectorSelector");
    expect(vs.name).toBe("http_requests_total");
    expect(matcherTexts(vs)).toEqual(["__name__=http_requests_total"]);
    expect(vs.offset).toBe(0);
    expect(vs.timestamp).toBeNull();
    expect(vs.startOrEnd).toBeNull();
    expect(vs.pos).toEqual({ start: 0, end: 19 });
  });

  test("colons in names and keywords as label names", () => {
    const vs = parseAs<VectorSelector>('job:rate5m:sum{by="x", offset!="y", sum=~"a.*", on!~"b", inf="z",}', "VectorSelector");
    expect(vs.name).toBe("job:rate5m:sum");
    expect(matcherTexts(vs)).toEqual(["by=x", "offset!=y", "sum=~a.*", "on!~b", "inf=z", "__name__=job:rate5m:sum"]);
  });

  test("matchers evaluate with the model's semantics", () => {
    const vs = parseAs<VectorSelector>('x{a=~"b|c", d!~"e"}', "VectorSelector");
    expect(vs.matchers[0].matches("c")).toBe(true);
    expect(vs.matchers[0].matches("bc")).toBe(false);
    expect(vs.matchers[1].matches("e")).toBe(false);
  });

  test("quoted metric name and quoted label names", () => {
    const vs = parseAs<VectorSelector>('{"my.metric", "my.label"="v", job="x"}', "VectorSelector");
    expect(vs.name).toBe("");
    expect(matcherTexts(vs)).toEqual(["__name__=my.metric", "my.label=v", "job=x"]);
  });

  test("braces only with a non-empty matcher", () => {
    const vs = parseAs<VectorSelector>('{job=~".+"}', "VectorSelector");
    expect(vs.name).toBe("");
    expect(vs.pos).toEqual({ start: 0, end: 11 });
  });

  test("empty braces after a name", () => {
    expect(matcherTexts(parseAs<VectorSelector>("up{}", "VectorSelector"))).toEqual(["__name__=up"]);
  });

  test("offset and @ in either order, negative offset", () => {
    const a = parseAs<VectorSelector>("x offset 5m @ 100", "VectorSelector");
    expect(a.offset).toBe(300_000);
    expect(a.timestamp).toBe(100_000);
    const b = parseAs<VectorSelector>("x @ 1.5 offset -1h", "VectorSelector");
    expect(b.offset).toBe(-3_600_000);
    expect(b.timestamp).toBe(1500);
    expect(b.pos).toEqual({ start: 0, end: 18 });
    const c = parseAs<VectorSelector>("x @ start()", "VectorSelector");
    expect(c.startOrEnd).toBe("start");
    expect(c.timestamp).toBeNull();
    expect(parseAs<VectorSelector>("x @ end() offset 1m", "VectorSelector").startOrEnd).toBe("end");
    expect(parseAs<VectorSelector>("x @ -10", "VectorSelector").timestamp).toBe(-10_000);
    expect(parseAs<VectorSelector>("x offset 90", "VectorSelector").offset).toBe(90_000);
    expect(parseAs<VectorSelector>("x OFFSET 1m", "VectorSelector").offset).toBe(60_000);
    expect(parseAs<VectorSelector>("x offset +1m", "VectorSelector").offset).toBe(60_000);
    expect(parseAs<VectorSelector>("x offset 1.5", "VectorSelector").offset).toBe(1500);
    expect(parseAs<VectorSelector>("x @ 3.3335", "VectorSelector").timestamp).toBe(3334);
    expect(parseAs<VectorSelector>("x @ 1m", "VectorSelector").timestamp).toBe(60_000);
  });
});

describe("range selectors and subqueries", () => {
  test("range selector", () => {
    const m = parseAs<MatrixSelector>('x{a="b"}[1h30m]', "MatrixSelector");
    expect(m.range).toBe(5_400_000);
    expect(m.vectorSelector.name).toBe("x");
    expect(m.pos).toEqual({ start: 0, end: 15 });
    expect(parseAs<MatrixSelector>("x[90]", "MatrixSelector").range).toBe(90_000);
    expect(parseAs<MatrixSelector>("x[ 5m ]", "MatrixSelector").range).toBe(300_000);
  });

  test("modifiers after a range apply to its selector", () => {
    const m = parseAs<MatrixSelector>("x[5m] offset 1m @ end()", "MatrixSelector");
    expect(m.vectorSelector.offset).toBe(60_000);
    expect(m.vectorSelector.startOrEnd).toBe("end");
    expect(m.pos.end).toBe(23);
  });

  test("subqueries with and without step", () => {
    const s = parseAs<SubqueryExpr>("rate(x[5m])[30m:1m] offset 2m @ 50", "SubqueryExpr");
    expect(s.range).toBe(1_800_000);
    expect(s.step).toBe(60_000);
    expect(s.offset).toBe(120_000);
    expect(s.timestamp).toBe(50_000);
    expect(s.expr.type).toBe("Call");
    const d = parseAs<SubqueryExpr>("x[1h:]", "SubqueryExpr");
    expect(d.step).toBe(0);
    expect(valueType(d)).toBe("matrix");
    expect(parseAs<SubqueryExpr>("(a + b)[5m : 10s]", "SubqueryExpr").step).toBe(10_000);
  });
});

describe("operators", () => {
  const shape = (e: Expr): string => {
    switch (e.type) {
      case "BinaryExpr": return `(${shape(e.lhs)} ${e.op} ${shape(e.rhs)})`;
      case "UnaryExpr": return `(${e.op}${shape(e.expr)})`;
      case "ParenExpr": return shape(e.expr);
      case "NumberLiteral": return String(e.val);
      case "VectorSelector": return e.name;
      default: return e.type;
    }
  };
  const cases: [string, string][] = [
    ["1 + 2 * 3", "(1 + (2 * 3))"],
    ["1 * 2 + 3", "((1 * 2) + 3)"],
    ["1 - 2 - 3", "((1 - 2) - 3)"],
    ["2 ^ 3 ^ 2", "(2 ^ (3 ^ 2))"],
    ["-2 ^ 2", "(-(2 ^ 2))"],
    ["-a * b", "((-a) * b)"],
    ["-a ^ b", "(-(a ^ b))"],
    ["2 ^ -1", "(2 ^ -1)"],
    ["a atan2 b * c", "((a atan2 b) * c)"],
    ["a % b / c", "((a % b) / c)"],
    ["a + b > c - d", "((a + b) > (c - d))"],
    ["a > b and c < d", "((a > b) and (c < d))"],
    ["a or b and c", "(a or (b and c))"],
    ["a or b unless c", "(a or (b unless c))"],
    ["a and b unless c", "((a and b) unless c)"],
    ["a == b != c", "((a == b) != c)"],
    ["(1 + 2) * 3", "((1 + 2) * 3)"],
    ["a AND b OR c", "((a and b) or c)"],
  ];
  for (const [q, want] of cases) {
    test(`precedence: ${q}`, () => {
      expect(shape(parseExpr(q))).toBe(want);
    });
  }

  test("vector matching", () => {
    const b = parseAs<BinaryExpr>("a + on(x, y) group_left(z) b", "BinaryExpr");
    expect(b.matching).toEqual({ card: "many-to-one", matchingLabels: ["x", "y"], on: true, include: ["z"] });
    const r = parseAs<BinaryExpr>("a / ignoring(x) group_right b", "BinaryExpr");
    expect(r.matching).toEqual({ card: "one-to-many", matchingLabels: ["x"], on: false, include: [] });
    const plain = parseAs<BinaryExpr>("a - b", "BinaryExpr");
    expect(plain.matching).toEqual({ card: "one-to-one", matchingLabels: [], on: false, include: [] });
    const set = parseAs<BinaryExpr>("a and on() b", "BinaryExpr");
    expect(set.matching).toEqual({ card: "many-to-many", matchingLabels: [], on: true, include: [] });
    expect(parseAs<BinaryExpr>("a unless b", "BinaryExpr").matching?.card).toBe("many-to-many");
  });

  test("matching is null when a side is scalar", () => {
    expect(parseAs<BinaryExpr>("a * 2", "BinaryExpr").matching).toBeNull();
    expect(parseAs<BinaryExpr>("2 * on() a", "BinaryExpr").matching).toBeNull();
    expect(parseAs<BinaryExpr>("1 + 1", "BinaryExpr").matching).toBeNull();
  });

  test("bool on comparisons", () => {
    const b = parseAs<BinaryExpr>("1 == bool 2", "BinaryExpr");
    expect(b.returnBool).toBe(true);
    expect(valueType(b)).toBe("scalar");
    const v = parseAs<BinaryExpr>("a >= bool on(x) b", "BinaryExpr");
    expect(v.returnBool).toBe(true);
    expect(v.matching?.on).toBe(true);
  });

  test("unary on vectors keeps a UnaryExpr", () => {
    const u = parseAs<UnaryExpr>("-foo", "UnaryExpr");
    expect(u.op).toBe("-");
    expect(valueType(u)).toBe("vector");
    expect(parseAs<UnaryExpr>("+(1)", "UnaryExpr").expr.type).toBe("ParenExpr");
  });
});

describe("aggregations and calls", () => {
  test("grouping before and after the body", () => {
    const a = parseAs<AggregateExpr>("sum by (job, instance) (x)", "AggregateExpr");
    expect(a.grouping).toEqual(["job", "instance"]);
    expect(a.without).toBe(false);
    const b = parseAs<AggregateExpr>("avg(x) without (le)", "AggregateExpr");
    expect(b.grouping).toEqual(["le"]);
    expect(b.without).toBe(true);
    expect(b.pos).toEqual({ start: 0, end: 19 });
    expect(parseAs<AggregateExpr>("max by () (x)", "AggregateExpr").grouping).toEqual([]);
    expect(parseAs<AggregateExpr>("SUM BY (a,) (x)", "AggregateExpr").op).toBe("sum");
    expect(parseAs<AggregateExpr>('count by ("my.label", on, sum) (x)', "AggregateExpr").grouping).toEqual(["my.label", "on", "sum"]);
  });

  test("parameter aggregations", () => {
    for (const op of ["topk", "bottomk", "quantile", "limitk", "limit_ratio"] as const) {
      const a = parseAs<AggregateExpr>(`${op}(0.5, x)`, "AggregateExpr");
      expect(a.op).toBe(op);
      expect((a.param as NumberLiteral).val).toBe(0.5);
      expect((a.expr as VectorSelector).name).toBe("x");
    }
    const cv = parseAs<AggregateExpr>('count_values without (a) ("value", x)', "AggregateExpr");
    expect((cv.param as StringLiteral).val).toBe("value");
    for (const op of ["sum", "avg", "count", "min", "max", "group", "stddev", "stdvar"]) {
      expect(parseAs<AggregateExpr>(`${op}(x)`, "AggregateExpr").param).toBeNull();
    }
  });

  test("function calls", () => {
    const c = parseAs<Call>("histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))", "Call");
    expect(c.func).toBe(FUNCTIONS.histogram_quantile);
    expect(c.args.map((a) => a.type)).toEqual(["NumberLiteral", "AggregateExpr"]);
    expect(parseAs<Call>("time()", "Call").args).toEqual([]);
    expect(valueType(parseExpr("time()"))).toBe("scalar");
    expect(parseAs<Call>('label_join(x, "d", ",", "a", "b", "c")', "Call").args.length).toBe(6);
    expect(parseAs<Call>("round(x)", "Call").args.length).toBe(1);
    expect(parseAs<Call>("year()", "Call").args.length).toBe(0);
    expect(parseAs<Call>("rate (x[5m])", "Call").func.name).toBe("rate");
  });

  test("function, aggregator and keyword names without parentheses are metric names", () => {
    expect(parseAs<VectorSelector>("rate", "VectorSelector").name).toBe("rate");
    expect(parseAs<VectorSelector>("min", "VectorSelector").name).toBe("min");
    expect((parseAs<BinaryExpr>("foo * sum", "BinaryExpr").rhs as VectorSelector).name).toBe("sum");
    expect((parseAs<AggregateExpr>("sum(sum)", "AggregateExpr").expr as VectorSelector).name).toBe("sum");
    expect((parseAs<Call>("rate(avg[5m])", "Call").args[0] as MatrixSelector).vectorSelector.name).toBe("avg");
    const m = parseAs<MatrixSelector>('offset{step="1s"}[5m]', "MatrixSelector");
    expect(matcherTexts(m.vectorSelector)).toEqual(["step=1s", "__name__=offset"]);
    expect(parseAs<VectorSelector>("by", "VectorSelector").name).toBe("by");
  });

  test("experimental functions can be disabled", () => {
    expect(parseAs<Call>('sort_by_label(x, "a")', "Call").func.name).toBe("sort_by_label");
    expect(() => parseExpr('sort_by_label(x, "a")', { experimentalFunctions: false })).toThrow(
      '1:1: parse error: function "sort_by_label" is not enabled',
    );
  });

  test("every signature type-checks with well-typed arguments", () => {
    const argFor = { scalar: "1", vector: "x", matrix: "x[5m]", string: '"a"' } as const;
    for (const f of Object.values(FUNCTIONS)) {
      const args = f.argTypes.map((t) => argFor[t]);
      const e = parseAs<Call>(`${f.name}(${args.join(", ")})`, "Call");
      expect(valueType(e)).toBe(f.returnType);
    }
  });
});

describe("whitespace and comments", () => {
  test("comments run to end of line, also inside braces", () => {
    const e = parseAs<BinaryExpr>("foo # first\n  + # second\n bar{a='b' # in braces\n}", "BinaryExpr");
    expect(formatExpr(e)).toBe('foo + bar{a="b"}');
  });
});

describe("walk and valueType", () => {
  test("walk visits parents first with their ancestors", () => {
    const seen: string[] = [];
    walk(parseExpr("sum(rate(x[5m])) + 1"), (n, path) => seen.push(`${path.length}:${n.type}`));
    expect(seen).toEqual(["0:BinaryExpr", "1:AggregateExpr", "2:Call", "3:MatrixSelector", "4:VectorSelector", "1:NumberLiteral"]);
  });
});

describe("parseDuration", () => {
  test("units and errors", () => {
    expect(parseDuration("1y2w3d4h5m6s7ms")).toBe(((((365 + 14 + 3) * 24 + 4) * 60 + 5) * 60 + 6) * 1000 + 7);
    expect(() => parseDuration("1m1h")).toThrow('not a valid duration string: "1m1h"');
    expect(() => parseDuration("")).toThrow("empty duration string");
    expect(() => parseDuration("5")).toThrow("not a valid duration string");
  });
});

describe("errors", () => {
  const cases: [string, string][] = [
    ["", "1:1: parse error: no expression found in input"],
    ["1 +", "1:4: parse error: unexpected end of input"],
    ["(1", "1:3: parse error: unclosed left parenthesis"],
    ["((1)", "1:5: parse error: unclosed left parenthesis"],
    ["1)", "1:3: parse error: unexpected right parenthesis ')'"],
    ["(1))", "1:5: parse error: unexpected right parenthesis ')'"],
    [")", "1:2: parse error: unexpected right parenthesis ')'"],
    ["x[5m", "1:5: parse error: unclosed left bracket"],
    ["x]", "1:2: parse error: unexpected right bracket ']'"],
    ["x[5m[", "1:5: parse error: unexpected left bracket '['"],
    ["foo{", "1:5: parse error: unexpected end of input inside braces"],
    ["foo}", "1:4: parse error: unexpected character: '}'"],
    ["}", "1:1: parse error: unexpected character: '}'"],
    ["foo{{", "1:5: parse error: unexpected left brace '{'"],
    ["x $ y", "1:3: parse error: unexpected character: '$'"],
    ["foo{a*\"b\"}", "1:6: parse error: unexpected character inside braces: '*'"],
    ["foo{1}", "1:5: parse error: unexpected character inside braces: '1'"],
    ["foo{a!b}", "1:7: parse error: unexpected character after '!' inside braces: 'b'"],
    ["a !b", "1:4: parse error: unexpected character after '!': 'b'"],
    ["a =~ b", "1:4: parse error: unexpected character after '=': '~'"],
    ["foo{a}", '1:6: parse error: unexpected "}" in label matching, expected label matching operator'],
    ['foo{a="b" c="d"}', '1:11: parse error: unexpected identifier "c" in label matching, expected "," or "}"'],
    ["foo{a=b}", '1:7: parse error: unexpected identifier "b" in label matching, expected string'],
    ['foo{="b"}', '1:5: parse error: unexpected "=" in label matching, expected identifier or "}"'],
    ["{}", "1:1: parse error: vector selector must contain at least one non-empty matcher"],
    ['{a="", b=~".*", c!~".+"}', "1:1: parse error: vector selector must contain at least one non-empty matcher"],
    ['foo{__name__="bar"}', '1:1: parse error: metric name must not be set twice: "foo" or "bar"'],
    ['x{a=~"("}', "1:3: parse error: error parsing regexp"],
    ['"abc', "1:1: parse error: unterminated quoted string"],
    ['"ab\ncd"', "1:1: parse error: unterminated quoted string"],
    ["`abc", "1:1: parse error: unterminated raw string"],
    // Invalid UTF-8 (decoded from URLs and bodies as U+FFFD) and U+FFFD itself, as Prometheus 2.42 answers both.
    ['up{a="\ufffd"}', "1:6: parse error: invalid UTF-8 rune"],
    ['up{a="é\ufffd"}', "1:6: parse error: invalid UTF-8 rune"],
    ["up{a=`x\ufffd`}", "1:6: parse error: invalid UTF-8 rune"],
    ["`x\ufffd", "1:1: parse error: invalid UTF-8 rune"],
    ['label_replace(up,"a","\ufffd","b","c")', "1:22: parse error: invalid UTF-8 rune"],
    ['"\\q"', "1:2: parse error: unknown escape sequence U+0071 'q'"],
    [`"\\'"`, "1:2: parse error: unknown escape sequence U+0027 '''"],
    ['"\\xZZ"', "1:4: parse error: illegal character U+005A 'Z' in escape sequence"],
    ['"\\uD800"', "1:4: parse error: escape sequence is an invalid Unicode code point"],
    ['"\\400"', "1:3: parse error: escape sequence is an invalid Unicode code point"],
    ["1 2", '1:3: parse error: unexpected number "2"'],
    ["foo bar", '1:5: parse error: unexpected identifier "bar"'],
    ["a + b +", "1:8: parse error: unexpected end of input"],
    ["1 + )", "1:6: parse error: unexpected right parenthesis"],
    ["*1", "1:1: parse error: unexpected <op:*>"],
    ["@@", "1:1: parse error: unexpected <op:@>"],
    ["-=", '1:2: parse error: unexpected "="'],
    ["++-++-+-+-<", "1:11: parse error: unexpected <op:<>"],
    ["foo[-1]", "1:5: parse error: duration must be greater than 0"],
    ["MIN keep_common (x)", '1:5: parse error: unexpected identifier "keep_common"'],
    ['foo{"a"=}', '1:9: parse error: unexpected "}" in label matching, expected string'],
    ["sum without(,)(x)", '1:13: parse error: unexpected "," in grouping opts, expected label'],
    ["sum () by (test)", "1:1: parse error: no arguments for aggregate expression provided"],
    ['"\\', "1:3: parse error: escape sequence not terminated"],
    ["foo:bar(x)", '1:8: parse error: unexpected "("'],
    ["foo[5mm]", '1:5: parse error: bad number or duration syntax: "5mm"'],
    ["1.2.3", '1:1: parse error: bad number or duration syntax: "1.2.3"'],
    ["0x", '1:1: parse error: bad number or duration syntax: "0x"'],
    ["12abc", '1:1: parse error: bad number or duration syntax: "12abc"'],
    ["1e400", '1:1: parse error: error parsing number: strconv.ParseFloat: parsing "1e400": value out of range'],
    ["foo[1m1h]", '1:5: parse error: not a valid duration string: "1m1h"'],
    ["foo[0m]", "1:5: parse error: duration must be greater than 0"],
    ["foo[5m:0s]", "1:8: parse error: duration must be greater than 0"],
    ["foo[]", '1:5: parse error: unexpected "]" in subquery or range selector, expected number or duration'],
    ["foo[5m:1m:1m]", '1:10: parse error: unexpected ":" in subquery or range selector, expected "]"'],
    ["foo[5m x]", '1:8: parse error: unexpected identifier "x" in subquery or range selector, expected ":" or "]"'],
    ["(foo + bar)[5m]", "1:12: parse error: ranges only allowed for vector selectors"],
    ["rate(x[5m])[5m]", "1:12: parse error: ranges only allowed for vector selectors"],
    ["foo offset 1m [5m]", "1:15: parse error: no offset modifiers allowed before range"],
    ["foo @ 10 [5m]", "1:10: parse error: no @ modifiers allowed before range"],
    ["x offset 1m offset 2m", "1:1: parse error: offset may not be set multiple times"],
    ["x[5m] offset 1m offset 2m", "1:1: parse error: offset may not be set multiple times"],
    ["x @ 1 @ 2", "1:1: parse error: @ <timestamp> may not be set multiple times"],
    ["x @ start() @ end()", "1:1: parse error: @ <timestamp> may not be set multiple times"],
    ["1 offset 1d", "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery"],
    ["rate(x[5m]) offset 1m", "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery"],
    ["(x) @ 10", "1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery"],
    ["x offset", "1:9: parse error: unexpected end of input in offset, expected number or duration"],
    ["x @ foo", '1:5: parse error: unexpected identifier "foo" in @, expected timestamp'],
    ["x @ +Inf", "1:1: parse error: timestamp out of bounds for @ modifier: +Inf"],
    ["x @ NaN", "1:1: parse error: timestamp out of bounds for @ modifier: NaN"],
    ["x @ start(", "1:11: parse error: unclosed left parenthesis"],
    ["foo(x)", '1:1: parse error: unknown function with name "foo"'],
    ["rate(x)", '1:6: parse error: expected type range vector in call to function "rate", got instant vector'],
    ["abs(x[5m])", '1:5: parse error: expected type instant vector in call to function "abs", got range vector'],
    ['label_replace(x, "a", "b", "c", 1)', '1:33: parse error: expected type string in call to function "label_replace", got scalar'],
    ["floor()", '1:1: parse error: expected 1 argument(s) in call to "floor", got 0'],
    ["time(1)", '1:1: parse error: expected 0 argument(s) in call to "time", got 1'],
    ["round(x, 1, 2)", '1:1: parse error: expected at most 2 argument(s) in call to "round", got 3'],
    ['label_join(x, "a")', '1:1: parse error: expected at least 3 argument(s) in call to "label_join", got 2'],
    ["abs(x,)", "1:6: parse error: trailing commas not allowed in function call args"],
    ["abs(x y)", '1:7: parse error: unexpected identifier "y" in function call, expected "," or ")"'],
    ["sum x", '1:5: parse error: unexpected identifier "x"'],
    ["sum(x) by", '1:10: parse error: unexpected end of input in grouping opts, expected "("'],
    ["sum()", "1:1: parse error: no arguments for aggregate expression provided"],
    ["sum(x, y)", "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 1, got 2"],
    ["topk(x)", "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1"],
    ["topk(x, y)", "1:6: parse error: expected type scalar in aggregation parameter, got instant vector"],
    ["count_values(5, x)", "1:14: parse error: expected type string in aggregation parameter, got scalar"],
    ["sum(x[5m])", "1:5: parse error: expected type instant vector in aggregation expression, got range vector"],
    ["sum(1)", "1:5: parse error: expected type instant vector in aggregation expression, got scalar"],
    ["sum by x (y)", '1:8: parse error: unexpected identifier "x" in grouping opts, expected "("'],
    ["sum without(==)(x)", "1:13: parse error: unexpected <op:==> in grouping opts, expected label"],
    ["sum by (a b) (x)", '1:11: parse error: unexpected identifier "b" in grouping opts, expected "," or ")"'],
    ["sum by (a:b) (x)", '1:9: parse error: invalid label name for grouping: "a:b"'],
    ["sum(x) by (a) by (b)", "1:15: parse error: unexpected <by>"],
    ["1 == 1", "1:3: parse error: comparisons between scalars must use BOOL modifier"],
    ["a + bool b", "1:3: parse error: bool modifier can only be used on comparison operators"],
    ["a and bool b", "1:3: parse error: bool modifier can only be used on comparison operators"],
    ["1 and 1", '1:1: parse error: set operator "and" not allowed in binary scalar expression'],
    ["a or 1", '1:1: parse error: set operator "or" not allowed in binary scalar expression'],
    ["a and on(x) group_left b", '1:1: parse error: no grouping allowed for "and" operation'],
    ["1 + on(x) a", "1:1: parse error: vector matching only allowed between instant vectors"],
    ["a + on(x) group_left(x) b", '1:3: parse error: label "x" must not occur in ON and GROUP clause at once'],
    ['"a" + 1', "1:1: parse error: binary expression must contain only scalar and instant vector types"],
    ["1 + x[5m]", "1:5: parse error: binary expression must contain only scalar and instant vector types"],
    ["a + ignoring(b) on(c) d", "1:17: parse error: unexpected <on>"],
    ['-"s"', '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "string"'],
    ["-x[5m]", '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "range vector"'],
    ["x[5m][10m:]", "1:1: parse error: subquery is only allowed on instant vector, got matrix instead"],
    ['"a"[5m:]', "1:1: parse error: subquery is only allowed on instant vector, got string instead"],
    ["a\n  + $", "2:5: parse error: unexpected character: '$'"],
    ["a +\n\n  sum(", "3:7: parse error: unclosed left parenthesis"],
  ];
  for (const [q, want] of cases) {
    test(`${JSON.stringify(q)} → ${want}`, () => {
      const err = parseError(q);
      expect(err.message.startsWith(want)).toBe(true);
      if (!err.message.startsWith(want)) throw new Error(`got: ${err.message}`);
      expect(err.query).toBe(q);
      expect(err.positionRange.start).toBeGreaterThanOrEqual(0);
      expect(err.positionRange.start).toBeLessThanOrEqual(q.length);
      expect(err.positionRange.end).toBeGreaterThanOrEqual(err.positionRange.start);
    });
  }

  test("lineOffset shifts the reported line", () => {
    const err = (() => {
      try {
        parseExpr("a +\n)", { lineOffset: 4 });
      } catch (e) {
        return e as ParseError;
      }
      throw new Error("expected failure");
    })();
    expect(err).toBeInstanceOf(ParseError);
    expect(err.lineOffset).toBe(4);
    expect(err.message).toBe("6:2: parse error: unexpected right parenthesis ')'");
    expect(err.detail).toBe("unexpected right parenthesis ')'");
  });

  test("deep nesting is bounded, not a stack overflow", () => {
    const deep = `${"(".repeat(10_000)}1${")".repeat(10_000)}`;
    expect(parseError(deep).detail).toContain("expression nesting too deep");
    const longChain = Array.from({ length: 5000 }, () => "a").join(" + ");
    expect(parseError(longChain).detail).toContain("expression nesting too deep");
    const unary = `${"-".repeat(20_000)}x`;
    expect(parseError(unary).detail).toContain("expression nesting too deep");
    const pow = Array.from({ length: 5000 }, () => "2").join("^");
    expect(parseError(pow).detail).toContain("expression nesting too deep");
  });

  test("moderate nesting parses", () => {
    const e = parseExpr(`${"(".repeat(300)}up${")".repeat(300)}`);
    expect(valueType(e)).toBe("vector");
    const chain = parseExpr(Array.from({ length: 500 }, (_, i) => `m${i}`).join(" or "));
    expect(chain.type).toBe("BinaryExpr");
  });
});
