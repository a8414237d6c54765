import { describe, expect, test } from "bun:test";
import { newMatcher } from "../../src/model/index.ts";
import {
  type Expr,
  formatDuration,
  formatExpr,
  formatFloat,
  formatMatcher,
  parseExpr,
  prettyExpr,
} from "../../src/promql/index.ts";

/** The AST as plain data without positions, for structural comparison. */
function shape(e: Expr): unknown {
  const norm = (v: unknown, key: string): unknown => {
    if (typeof v === "number") return Number.isNaN(v) ? "NaN" : Object.is(v, -0) ? "-0" : v;
    if (Array.isArray(v)) return v.map((x) => norm(x, key));
    if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      if (key === "func") return o.name;
      if (key === "matchers") return [o.type, o.name, o.value];
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(o)) {
        if (k === "pos" || typeof x === "function") continue;
        out[k] = norm(x, k === "matchers" || key === "matchers" ? "matchers" : k);
      }
      return out;
    }
    return v;
  };
  return norm(e, "");
}

describe("canonical output", () => {
  const cases: [string, string][] = [
    ["sum(rate(x{a='b'}[90m]))by(job)", 'sum by (job) (rate(x{a="b"}[1h30m]))'],
    ["sum without(a,b)(x)", "sum without (a, b) (x)"],
    ["sum by () (x)", "sum(x)"],
    ["topk(5,x)", "topk(5, x)"],
    ['count_values("v",x)', 'count_values("v", x)'],
    ["x{a='b',c!~\"d\",e=~`f`,g!=\"h\"}", 'x{a="b", c!~"d", e=~"f", g!="h"}'],
    ['{"my.metric", "my.label"="v"}', '{__name__="my.metric", "my.label"="v"}'],
    ['{__name__="x", a="b"}', '{__name__="x", a="b"}'],
    ["x offset 5m @ 100", "x @ 100.000 offset 5m"],
    ["x @ 1.2344 offset -1h30m", "x @ 1.234 offset -1h30m"],
    ["x[5m] offset 1w", "x[5m] offset 1w"],
    ["x[14d]", "x[2w]"],
    ["x[13d]", "x[13d]"],
    ["x[400d]", "x[400d]"],
    ["x[365d]", "x[1y]"],
    ["x[1500ms]", "x[1s500ms]"],
    ["x[90]", "x[1m30s]"],
    ["rate(x[5m])[30m:1m]", "rate(x[5m])[30m:1m]"],
    ["x[1h:] @ end()", "x[1h:] @ end()"],
    ["x @ start()", "x @ start()"],
    ["a+on(b)group_left(c)d", "a + on (b) group_left (c) d"],
    ["a+ignoring(b)group_right d", "a + ignoring (b) group_right () d"],
    ["a + ignoring() group_left b", "a + ignoring () group_left () b"],
    ["a + on() b", "a + on () b"],
    ["a + ignoring() b", "a + b"],
    ["a and on(x) b", "a and on (x) b"],
    ["a>bool 1", "a > bool 1"],
    ["-x", "-x"],
    ["-(1)", "-(1)"],
    ["- 1", "-1"],
    ["-2^2", "-2 ^ 2"],
    ["1e6", "1e+06"],
    ["123456", "123456"],
    ["1234567", "1.234567e+06"],
    ["0.0001", "0.0001"],
    ["0.00001", "1e-05"],
    ["1.5e-7", "1.5e-07"],
    ["1e100", "1e+100"],
    ["0x10", "16"],
    ["Inf", "+Inf"],
    ["-inf", "-Inf"],
    ["nan", "NaN"],
    ["-0", "-0"],
    ["1m", "60"],
    ['"a\\"b\\n\\u00e9"', '"a\\"b\\né"'],
    ["'single'", '"single"'],
    ["`raw \\ \"q\"`", '"raw \\\\ \\"q\\""'],
    ['"\\x01\\x7f"', '"\\x01\\x7f"'],
    ['"a\\xc5z\\377"', '"a\\xc5z\\xff"'],
    ['"\\xe2\\x82\\xac"', '"€"'],
    ["time()", "time()"],
    ["label_join(x,'a',',','b')", 'label_join(x, "a", ",", "b")'],
    ["(a + b) * c", "(a + b) * c"],
    ["sum by (\"my.label\") (x)", 'sum by ("my.label") (x)'],
  ];
  for (const [q, want] of cases) {
    test(`${q} → ${want}`, () => {
      expect(formatExpr(parseExpr(q))).toBe(want);
    });
  }
});

describe("helpers", () => {
  test("formatDuration like model.Duration", () => {
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(1)).toBe("1ms");
    expect(formatDuration(61_001)).toBe("1m1s1ms");
    expect(formatDuration(90 * 86_400_000)).toBe("90d");
    expect(formatDuration(84 * 86_400_000)).toBe("12w");
    expect(formatDuration(366 * 86_400_000)).toBe("366d");
    expect(formatDuration(730 * 86_400_000)).toBe("2y");
  });

  test("formatFloat like Go %v", () => {
    expect(formatFloat(1)).toBe("1");
    expect(formatFloat(-2.5)).toBe("-2.5");
    expect(formatFloat(100000)).toBe("100000");
    expect(formatFloat(1e21)).toBe("1e+21");
    expect(formatFloat(123456789)).toBe("1.23456789e+08");
    expect(formatFloat(0.1 + 0.2)).toBe("0.30000000000000004");
    expect(formatFloat(5e-324)).toBe("5e-324");
    expect(formatFloat(1.7976931348623157e308)).toBe("1.7976931348623157e+308");
  });

  test("formatMatcher quotes unusual label names", () => {
    expect(formatMatcher(newMatcher("=~", "job", "a|b"))).toBe('job=~"a|b"');
    expect(formatMatcher(newMatcher("!=", "my.label", 'x"y'))).toBe('"my.label"!="x\\"y"');
  });
});

/** Valid queries covering the grammar; each must survive format → parse unchanged. */
const ROUND_TRIP = [
  "up", "up{}", 'up{job="node"}', 'up{job=~"node|api", instance!="a:9100", env!~"dev.*"}', '{__name__=~"up|down"}',
  '{"my.metric"}', '{"my.metric", "my.label"="v"}', "job:up:sum", ":colon_first", "x offset 5m", "x offset -5m",
  "x @ 100", "x @ -1.5", "x @ 1e3", "x @ start()", "x @ end() offset 1h", "x offset 1h @ end()", "x[5m]", "x[1h30m]",
  "x[90]", "x[1.5]", "x[5m] offset 1m", "x[5m] @ 10 offset 1d", "x[5m:]", "x[5m:30s]", "x[5m:30s] offset 1m @ start()",
  "rate(x[5m])[30m:1m]", "max_over_time(rate(x[1m])[10m:])", "sum(rate(x[5m])) by (job)", "sum without (a, b) (x)",
  "sum by () (x)", "avg(x) without (le)", "count(x)", "min(x)", "max(x)", "group(x)", "stddev(x)", "stdvar(x)",
  "topk(5, x)", "bottomk(3, x)", "quantile(0.99, x)", 'count_values("value", x)', "limitk(2, x)", "limit_ratio(0.5, x)",
  "topk by (job) (5, rate(x[5m]))", "1", "-1", "+1", "1.5", ".5", "1e-9", "0x1f", "Inf", "-Inf", "NaN", "1m", "1h30m",
  '"string"', "'single'", "`raw`", '"esc\\n\\t\\\\\\""', '"\\u00e9\\U0001F600"', "1 + 2", "1 - 2 - 3", "2 ^ 3 ^ 2",
  "-2 ^ 2", "(-2) ^ 2", "2 ^ -1", "-x", "-(x)", "+x", "- -x", "a * b + c / d % e", "a atan2 b", "a + b * c ^ d",
  "(a + b) * (c - d)", "a == b", "a != b", "a > b", "a < b", "a >= b", "a <= b", "a == bool b", "1 == bool 2",
  "a and b", "a or b", "a unless b", "a and on (x) b", "a or ignoring (x) b", "a or b and c unless d",
  "a + on (x, y) b", "a + ignoring (x) b", "a * on (x) group_left (y, z) b", "a * on (x) group_right b",
  "a * ignoring (x) group_left b", "a > bool on (x) group_left (y) b", "a + on () b", "abs(x)", "absent(nonexistent)",
  "absent_over_time(x[5m])", "ceil(x)", "changes(x[5m])", "clamp(x, 0, 1)", "clamp_max(x, 1)", "clamp_min(x, 0)",
  "day_of_month()", "day_of_week(x)", "days_in_month(x)", "delta(x[5m])", "deriv(x[5m])", "exp(x)", "floor(x)",
  "histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))", "histogram_fraction(0, 0.1, x)", "hour()", "idelta(x[1m])",
  "increase(x[1h])", "irate(x[1m])", 'label_join(x, "dst", ",", "a", "b")', 'label_replace(x, "dst", "$1", "src", "(.*)")',
  "ln(x)", "log2(x)", "log10(x)", "minute(x)", "month()", "predict_linear(x[1h], 3600)", "quantile_over_time(0.5, x[5m])",
  "rate(x[5m])", "resets(x[5m])", "round(x)", "round(x, 0.5)", "scalar(x)", "sgn(x)", "sort(x)", "sort_desc(x)",
  'sort_by_label(x, "a", "b")', "sqrt(x)", "time()", "timestamp(x)", "vector(1)", "year()", "pi()", "deg(x)", "rad(x)",
  "sin(x) + cos(x) * tan(x)", "double_exponential_smoothing(x[1h], 0.5, 0.5)", "mad_over_time(x[5m])",
  "vector(time()) - timestamp(x)", "sum(rate(http_requests_total{status=~\"5..\"}[5m])) / sum(rate(http_requests_total[5m]))",
  "100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode=\"idle\"}[5m])))",
  "count by (le) (x) > bool on (le) group_left () y", "sum(x offset 1h) / sum(x)", "x unless on (a) y or z",
  "((x))", "(((x)))[5m:]", "sum(x)[5m:1m]", "-sum(x)", "-x offset 1m", "x # trailing comment",
  "sum(\n  rate(x[5m])\n) by (\n  job,\n)", "SUM(x) BY (job)", "x OFFSET 1m", "a AND b", 'x{a="\\\\"}',
  '{a="b", c=~"d"}[5m]', "x[1y]", "x[2w]", "x[500ms]", "x offset 0s", "1 + -1", "1 - -x", "x ^ -y ^ z", "-1 ^ 2",
  "up{job=\"a\",}", "sum by (job,) (x)", "info(x)", 'info(x, {job="a"})', "first_over_time(x[5m])",
  "ts_of_max_over_time(x[5m])", "stddev_over_time(x[5m]) * 2", "x != bool 0 and y", "1 < bool 2 == bool 1",
  `sum by (job, instance) (rate(http_requests_total{job="api-server", code=~"5.."}[5m])) / on (job) group_left (x) ${"a".repeat(90)}`,
  `max_over_time((-${"b".repeat(120)} > bool 1)[5m:1m] offset 1m)`, `topk(3, count_values("v", ${"c".repeat(110)}))`,
  "step()", "range()", "start()", "(end() + start()) / 2", "x @ start() + start()", "min_of(1, 2)", "max_of(-2, NaN)",
  'histogram_quantiles(x, "q", 0.1, 0.5, 0.9)', "foo * sum", "sum(sum)", 'offset{step="1s"}[5m]', "start",
];

describe("round trip: parse(format(parse(q))) equals parse(q)", () => {
  for (const q of ROUND_TRIP) {
    test(q, () => {
      const first = parseExpr(q);
      const printed = formatExpr(first);
      const second = parseExpr(printed);
      expect(shape(second)).toEqual(shape(first));
      expect(formatExpr(second)).toBe(printed);
      expect(shape(parseExpr(prettyExpr(first)))).toEqual(shape(first));
    });
  }
});

describe("prettyExpr", () => {
  test("short expressions stay on one line", () => {
    expect(prettyExpr(parseExpr("sum by (job) (rate(x[5m]))"))).toBe("sum by (job) (rate(x[5m]))");
  });

  test("long expressions split with two-space indents", () => {
    const q =
      'sum by (job, instance) (rate(http_requests_total{job="api-server", code=~"5.."}[5m])) / ' +
      'sum by (job, instance) (rate(http_requests_total{job="api-server"}[5m]))';
    const want = [
      '  sum by (job, instance) (rate(http_requests_total{job="api-server", code=~"5.."}[5m]))',
      "/",
      '  sum by (job, instance) (rate(http_requests_total{job="api-server"}[5m]))',
    ].join("\n");
    expect(prettyExpr(parseExpr(q))).toBe(want);
  });

  test("nested splits indent each level and keep parameters", () => {
    const long = `metric_with_a_rather_long_name_${"x".repeat(60)}{label="value"}`;
    const q = `topk(5, -histogram_quantile(0.9, ${long}))`;
    const want = [
      "topk(",
      "  5,",
      "  -histogram_quantile(",
      "    0.9,",
      `    ${long}`,
      "  )",
      ")",
    ].join("\n");
    const pretty = prettyExpr(parseExpr(q));
    expect(pretty).toBe(want);
    expect(formatExpr(parseExpr(pretty))).toBe(formatExpr(parseExpr(q)));
  });
});
