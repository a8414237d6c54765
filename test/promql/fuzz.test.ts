import { describe, expect, test } from "bun:test";
import { type Expr, formatExpr, ParseError, parseExpr, prettyExpr } from "../../src/promql/index.ts";
import { seededRandom } from "../support/random.ts";

const CORPUS = [
  'sum by (job) (rate(http_requests_total{job="api", code=~"5.."}[5m]))',
  "histogram_quantile(0.99, sum without (instance) (rate(x_bucket[1h30m])))",
  "a + on (b) group_left (c) d * 2 ^ -3",
  "x offset -5m @ 100 > bool 1 or y unless z",
  "max_over_time(rate(x[1m])[10m:30s] offset 1h)",
  'label_replace(up, "dst", "$1", "src", "(.*)") and on () vector(1)',
  "topk(5, avg(x) without (a)) # comment\n + 0x1F",
  '{"my.metric", "my.label"="v"} @ end()',
  'count_values("v", x) / ignoring (le) group_right count(x)',
  "-(1 - -2) * time() % 3 atan2 scalar(y)",
  "label_join(x, `raw\\string`, 'single\\n', \"b\")",
  'quantile_over_time(0.5, x{a!~"b"}[5m] @ start())',
  "sum(x) by (a, b,) == bool on (a) group_left sum(y)",
  "clamp(x, -Inf, NaN) + 1e-3 + .5 + 1_000",
];

const TOKENS = [
  "(", ")", "{", "}", "[", "]", ",", "=", "==", "!=", "=~", "!~", ":", "@", "+", "-", "*", "/", "%", "^", "<", ">=",
  "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "start()", "end()", "and", "or",
  "unless", "atan2", "sum", "topk", "count_values", "rate", "abs", "time", "label_join", "x", "job", "5m", "1h30m", "0",
  "1e3", "0x", "0x1g", "Inf", "NaN", "1.5", '"', "'", "`", '"s"', "\\", "\\x", "\\u12", "#", "\n", " ", "\t", "$",
  "é", "😀", "[5m:]", "[1m]", "offset -", "@ 1", "\\U0011FFFF", "..", "_", "'\\'",
];

const CHARS = "(){}[],=!~:@+-*/%^<>#\"'`\\\n\t .0123456789abexyzABEXOIN_é";

function mutate(rand: () => number, query: string, donor: string): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const at = Math.floor(rand() * (query.length + 1));
  switch (Math.floor(rand() * 7)) {
    case 0: return query.slice(0, at) + pick([...CHARS]) + query.slice(at);
    case 1: return query.slice(0, at) + query.slice(at + 1 + Math.floor(rand() * 3));
    case 2: return query.slice(0, at) + pick([...CHARS]) + query.slice(at + 1);
    case 3: return query.slice(0, at) + pick(TOKENS) + query.slice(at);
    case 4: return query.slice(0, at) + pick(TOKENS) + query.slice(at + 1 + Math.floor(rand() * 4));
    case 5: {
      const from = Math.floor(rand() * donor.length);
      return query.slice(0, at) + donor.slice(from, from + 1 + Math.floor(rand() * 12)) + query.slice(at);
    }
    default: return query.slice(0, at);
  }
}

/** Parses `q`; returns the expression, or null after checking the error is a well-formed ParseError. */
function parseOrParseError(q: string): Expr | null {
  try {
    return parseExpr(q);
  } catch (e) {
    if (!(e instanceof ParseError)) {
      throw new Error(`non-ParseError for ${JSON.stringify(q)}: ${e instanceof Error ? e.stack : String(e)}`);
    }
    const { start, end } = e.positionRange;
    if (!(start >= 0 && start <= q.length && end >= start && end <= q.length)) {
      throw new Error(`position ${start}-${end} outside ${JSON.stringify(q)} (${q.length}): ${e.message}`);
    }
    if (!/^\d+:\d+: parse error: \S/.test(e.message)) throw new Error(`bad message format: ${e.message}`);
    return null;
  }
}

describe("fuzz", () => {
  test("corpus queries are valid", () => {
    for (const q of CORPUS) expect(parseOrParseError(q)).not.toBeNull();
  });

  test("10000 mutated queries parse or fail with a ParseError inside the query", () => {
    const rand = seededRandom(20260101);
    let parsed = 0;
    let failed = 0;
    let slowest = 0;
    for (let i = 0; i < 10_000; i++) {
      let q = CORPUS[i % CORPUS.length];
      const rounds = 1 + Math.floor(rand() * 4);
      for (let r = 0; r < rounds; r++) q = mutate(rand, q, CORPUS[Math.floor(rand() * CORPUS.length)]);
      const t0 = performance.now();
      const e = parseOrParseError(q);
      slowest = Math.max(slowest, performance.now() - t0);
      if (e === null) {
        failed++;
        continue;
      }
      parsed++;
      const printed = formatExpr(e);
      const again = parseOrParseError(printed);
      if (again === null) throw new Error(`printed form does not parse: ${JSON.stringify(q)} → ${JSON.stringify(printed)}`);
      expect(formatExpr(again)).toBe(printed);
      const fromPretty = parseOrParseError(prettyExpr(e));
      if (fromPretty === null) throw new Error(`pretty form does not parse: ${JSON.stringify(q)}`);
      expect(formatExpr(fromPretty)).toBe(printed);
    }
    expect(parsed + failed).toBe(10_000);
    expect(parsed).toBeGreaterThan(100);
    expect(failed).toBeGreaterThan(1000);
    expect(slowest).toBeLessThan(1000);
  });

  test("random byte soup never escapes as a non-ParseError", () => {
    const rand = seededRandom(7);
    for (let i = 0; i < 3000; i++) {
      const len = Math.floor(rand() * 40);
      let q = "";
      for (let j = 0; j < len; j++) q += CHARS[Math.floor(rand() * CHARS.length)];
      parseOrParseError(q);
    }
  });

  const pathological: [string, string][] = [
    ["10k open parens", "(".repeat(10_000)],
    ["10k nested parens", `${"(".repeat(10_000)}1${")".repeat(10_000)}`],
    ["10k nested calls", `${"abs(".repeat(10_000)}x${")".repeat(10_000)}`],
    ["10k nested aggregations", `${"sum(".repeat(10_000)}x${")".repeat(10_000)}`],
    ["10k nested subqueries", `${"(".repeat(10_000)}x${")[5m:]".repeat(10_000)}`],
    ["50k unary minus", `${"-".repeat(50_000)}1`],
    ["20k chained additions", Array.from({ length: 20_000 }, () => "x").join(" + ")],
    ["20k chained powers", Array.from({ length: 20_000 }, () => "2").join(" ^ ")],
    ["10k closing parens", ")".repeat(10_000)],
    ["10k open braces", "x{".repeat(10_000)],
    ["10k brackets", "x[5m]".repeat(10_000)],
    ["100k-character identifier", "a".repeat(100_000)],
    ["100k-character string", `"${"a\\n".repeat(50_000)}"`],
    ["unterminated 100k string", `"${"a".repeat(100_000)}`],
    ["1MB of spaces", `${" ".repeat(1_000_000)}x`],
    ["10k matchers", `x{${Array.from({ length: 10_000 }, (_, i) => `l${i}="v"`).join(",")}}`],
    ["10k function args", `label_join(x, "a", ",", ${Array.from({ length: 10_000 }, () => '"b"').join(", ")})`],
    ["huge number", "9".repeat(5000)],
    ["long comment", `x # ${"c".repeat(100_000)}`],
  ];
  for (const [name, q] of pathological) {
    test(`pathological: ${name}`, () => {
      const t0 = performance.now();
      parseOrParseError(q);
      expect(performance.now() - t0).toBeLessThan(2000);
    });
  }
});
