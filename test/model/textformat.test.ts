import { describe, expect, test } from "bun:test";
import { labelsFromRecord, parseText, TextParseError, TextParser, type Labels } from "../../src/model/index.ts";

function rec(ls: Labels): Record<string, string> {
  const r: Record<string, string> = {};
  for (const l of ls) r[l.name] = l.value;
  return r;
}

describe("TextParser entries", () => {
  const body = [
    "# HELP go_gc_duration_seconds A summary of the GC invocation durations.",
    "# \tTYPE go_gc_duration_seconds summary",
    'go_gc_duration_seconds{quantile="0"} 4.9351e-05',
    'go_gc_duration_seconds{quantile="0.25",} 7.424100000000001e-05',
    'go_gc_duration_seconds{ quantile = "0.5", a= "b" } 8.3835e-05',
    "# Hrandom comment starting with prefix of HELP",
    "#",
    "",
    "   ",
    'wind_speed{A="2",c="3"} 12345',
    "# HELP nohelp1",
    "# HELP escaped a\\\\b\\nc\\x",
    "go_gc_duration_seconds_count 99",
    'some:aggregate:rate5m{a_b="c"}\t1',
    "# TYPE go_goroutines gauge",
    "go_goroutines 33  \t123123",
    'testmetric{label="\\"bar\\"",nl="a\\nb",bs="x\\\\y",other="\\q"} 1',
    "empty{} -Inf",
    "nanv NaN",
    "posinf +Inf",
    "neg -1.5e3 -5",
    'dropped_empty{a="",b="x"} .5',
    '{"utf8.metric", "a.b"="c"} 2',
    "trailing_space 3   ",
  ].join("\n");

  test("yields each entry with its data", () => {
    const p = new TextParser(body);
    const got: unknown[] = [];
    for (let e = p.next(); e !== "eof"; e = p.next()) {
      if (e === "series") got.push({ s: p.series(), l: rec(p.labels()), v: p.value, t: p.timestamp(), line: p.line });
      else if (e === "help") got.push({ help: p.metricName(), text: p.help() });
      else if (e === "type") got.push({ type: p.metricName(), is: p.type() });
      else got.push({ comment: p.comment() });
    }
    expect(got).toEqual([
      { help: "go_gc_duration_seconds", text: "A summary of the GC invocation durations." },
      { type: "go_gc_duration_seconds", is: "summary" },
      { s: 'go_gc_duration_seconds{quantile="0"}', l: { __name__: "go_gc_duration_seconds", quantile: "0" }, v: 4.9351e-5, t: undefined, line: 3 },
      { s: 'go_gc_duration_seconds{quantile="0.25",}', l: { __name__: "go_gc_duration_seconds", quantile: "0.25" }, v: 7.424100000000001e-5, t: undefined, line: 4 },
      { s: 'go_gc_duration_seconds{ quantile = "0.5", a= "b" }', l: { __name__: "go_gc_duration_seconds", quantile: "0.5", a: "b" }, v: 8.3835e-5, t: undefined, line: 5 },
      { comment: "# Hrandom comment starting with prefix of HELP" },
      { comment: "#" },
      { s: 'wind_speed{A="2",c="3"}', l: { __name__: "wind_speed", A: "2", c: "3" }, v: 12345, t: undefined, line: 10 },
      { help: "nohelp1", text: "" },
      { help: "escaped", text: "a\\b\nc\\x" },
      { s: "go_gc_duration_seconds_count", l: { __name__: "go_gc_duration_seconds_count" }, v: 99, t: undefined, line: 13 },
      { s: 'some:aggregate:rate5m{a_b="c"}', l: { __name__: "some:aggregate:rate5m", a_b: "c" }, v: 1, t: undefined, line: 14 },
      { type: "go_goroutines", is: "gauge" },
      { s: "go_goroutines", l: { __name__: "go_goroutines" }, v: 33, t: 123123, line: 16 },
      { s: 'testmetric{label="\\"bar\\"",nl="a\\nb",bs="x\\\\y",other="\\q"}', l: { __name__: "testmetric", label: '"bar"', nl: "a\nb", bs: "x\\y", other: "\\q" }, v: 1, t: undefined, line: 17 },
      { s: "empty{}", l: { __name__: "empty" }, v: -Infinity, t: undefined, line: 18 },
      { s: "nanv", l: { __name__: "nanv" }, v: NaN, t: undefined, line: 19 },
      { s: "posinf", l: { __name__: "posinf" }, v: Infinity, t: undefined, line: 20 },
      { s: "neg", l: { __name__: "neg" }, v: -1500, t: -5, line: 21 },
      { s: 'dropped_empty{a="",b="x"}', l: { __name__: "dropped_empty", b: "x" }, v: 0.5, t: undefined, line: 22 },
      { s: '{"utf8.metric", "a.b"="c"}', l: { __name__: "utf8.metric", "a.b": "c" }, v: 2, t: undefined, line: 23 },
      { s: "trailing_space", l: { __name__: "trailing_space" }, v: 3, t: undefined, line: 24 },
    ]);
  });

  test("labels come back sorted by name", () => {
    const p = new TextParser('m{z="1",a="2",__x="3"} 1\n');
    expect(p.next()).toBe("series");
    expect(p.labels().map((l) => l.name)).toEqual(["__name__", "__x", "a", "z"]);
  });

  test("CRLF line endings and a missing final newline", () => {
    const r = parseText("# TYPE a counter\r\na 1\r\nb{x=\"y\"} 2 7");
    expect(r.samples).toEqual([
      { labels: labelsFromRecord({ __name__: "a" }), value: 1 },
      { labels: labelsFromRecord({ __name__: "b", x: "y" }), value: 2, timestampMs: 7 },
    ]);
    expect(r.metadata.get("a")).toEqual({ type: "counter", help: "" });
  });

  test("Go float syntax", () => {
    const cases: [string, number][] = [["1", 1], ["-0.5", -0.5], ["+.5", 0.5], ["5.", 5], ["1E3", 1000], ["1e-3", 0.001], ["inf", Infinity], ["-Infinity", -Infinity], ["nan", NaN]];
    for (const [tok, v] of cases) expect(parseText(`m ${tok}\n`).samples[0]!.value).toBe(v);
  });
});

describe("TextParser errors", () => {
  const cases: [string, string][] = [
    ["a", 'expected value after metric, got EOF while parsing line 1: "a"'],
    ["a{b='c'} 1\n", `expected label value, got "'" ("INVALID") while parsing line 1: "a{b='"`],
    ["a{b=\n", 'expected label value, got "\\n" ("LINEBREAK") while parsing line 1: "a{b=\\n"'],
    ["ok 1\na{\u00ff=\"foo\"} 1\n", 'expected label name, got "ÿ" ("INVALID") while parsing line 2: "a{ÿ"'],
    ['{"a", "b = "c"}', 'expected equal, got "c" ("NAME") while parsing line 1: "{\\"a\\", \\"b = \\"c"'],
    ["a true\n", 'strconv.ParseFloat: parsing "true": invalid syntax while parsing line 1: "a true"'],
    ['something_weird{problem="', 'expected label value, got unterminated quoted string while parsing line 1: "something_weird{problem=\\""'],
    ['empty_label_name{=""} 0', 'expected label name, got "=" ("EQUAL") while parsing line 1: "empty_label_name{="'],
    ["foo 1_2\n", 'unsupported character in float while parsing line 1: "foo 1_2"'],
    ["foo 0x1p-3\n", 'unsupported character in float while parsing line 1: "foo 0x1p-3"'],
    ["foo 0x10\n", 'strconv.ParseFloat: parsing "0x10": invalid syntax while parsing line 1: "foo 0x10"'],
    ["foo 0 1_2\n", 'expected next entry after timestamp, got "_" ("NAME") while parsing line 1: "foo 0 1_"'],
    ["foo 1e400\n", 'strconv.ParseFloat: parsing "1e400": value out of range while parsing line 1: "foo 1e400"'],
    ["foo 1 99999999999999999999\n", 'strconv.ParseInt: parsing "99999999999999999999": value out of range while parsing line 1: "foo 1 99999999999999999999"'],
    ["foo 0 abc\n", 'expected timestamp or new record, got "a" ("NAME") while parsing line 1: "foo 0 a"'],
    ['{a="ok"} 1', 'metric name not set while parsing line 1: "{a=\\"ok\\"} "'],
    ["# TYPE #\n", 'expected metric name after TYPE, got "#" ("INVALID") while parsing line 1: "# TYPE #"'],
    ["# HELP #\n", 'expected metric name after HELP, got "#" ("INVALID") while parsing line 1: "# HELP #"'],
    ["# TYPE a foo\n", 'invalid metric type "foo" while parsing line 1: "# TYPE a foo"'],
    ["\n\n\u0000 1", 'expected a valid start token, got "\\u0000" ("INVALID") while parsing line 3: "\\u0000"'],
    ["a\u0000{b=\"ddd\"} 1", 'expected value after metric, got "\\u0000" ("INVALID") while parsing line 1: "a\\u0000"'],
    ["a{b\u0000=\"x\"} 1", 'expected equal, got "\\u0000" ("INVALID") while parsing line 1: "a{b\\u0000"'],
    ['a{b="c" 1', 'expected comma or closing brace, got "1" ("NUMBER") while parsing line 1: "a{b=\\"c\\" 1"'],
    ['a{b="c",,} 1', 'expected label name, got "," ("COMMA") while parsing line 1: "a{b=\\"c\\",,"'],
    ["a{b=\"c\"}1", 'expected value after metric, got "1" ("NUMBER") while parsing line 1: "a{b=\\"c\\"}1"'],
  ];
  for (const [input, msg] of cases) {
    test(JSON.stringify(input), () => {
      let err: unknown;
      try {
        parseText(input);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TextParseError);
      expect((err as Error).message).toBe(msg);
    });
  }

  test("duplicate label names are an error with the line number", () => {
    let err: unknown;
    try {
      parseText('ok 1\nm{a="1",b="2",a="3"} 1\n');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TextParseError);
    expect((err as TextParseError).line).toBe(2);
    expect((err as Error).message).toContain('label name "a" is not unique');
    expect(() => parseText('m{__name__="x"} 1')).toThrow(/"__name__" is not unique/);
  });
});

describe("TextParser fuzz", () => {
  // Deterministic PRNG (mulberry32) so failures reproduce.
  function rng(seed: number): () => number {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const seedBody = [
    "# HELP http_requests_total Total requests.",
    "# TYPE http_requests_total counter",
    'http_requests_total{method="post",code="200"} 1027 1395066363000',
    'http_requests_total{method="post",code="400"}    3 1395066363000',
    'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
    "metric_without_timestamp_and_labels 12.47",
    'something_weird{problem="division by zero"} +Inf -3982045',
    'rpc_duration_seconds{quantile="0.5",} 4773',
    "# comment",
    '{"utf8.name",x="y"} NaN',
    "",
  ].join("\n");
  const alphabet = ['"', "{", "}", "=", ",", " ", "\n", "\\", "#", "a", "1", ".", "e", "-", "+", "\t", "\u0000", "é", "_", ":"];

  test("random mutations either parse or raise TextParseError", () => {
    const rand = rng(20261121);
    let ok = 0, failed = 0;
    for (let iter = 0; iter < 3000; iter++) {
      const chars = [...seedBody];
      const edits = 1 + Math.floor(rand() * 6);
      for (let k = 0; k < edits; k++) {
        const at = Math.floor(rand() * chars.length);
        const op = rand();
        const ch = alphabet[Math.floor(rand() * alphabet.length)]!;
        if (op < 0.33) chars.splice(at, 1);
        else if (op < 0.66) chars.splice(at, 0, ch);
        else chars[at] = ch;
      }
      const body = chars.join("");
      try {
        const r = parseText(body);
        for (const s of r.samples) {
          expect(s.labels.length).toBeGreaterThan(0);
          expect(typeof s.value).toBe("number");
        }
        ok++;
      } catch (e) {
        if (!(e instanceof TextParseError)) throw new Error(`non-parse error for body ${JSON.stringify(body)}: ${e}`);
        expect(e.message).toMatch(/line \d+/);
        expect(e.line).toBeGreaterThan(0);
        failed++;
      }
    }
    expect(ok).toBeGreaterThan(0);
    expect(failed).toBeGreaterThan(0);
  });
});

describe("TextParser.nextKnownSeries", () => {
  test("a matching series skips the label scan but keeps value, timestamp and labels", () => {
    const p = new TextParser('# TYPE a gauge\na{x="1",y="2"} 17 1700000000000\na{x="1"} 3\n');
    expect(p.nextKnownSeries('a{x="1",y="2"}')).toBe("type");
    expect(p.knownSeries).toBe(false);
    expect(p.nextKnownSeries('a{x="1",y="2"}')).toBe("series");
    expect(p.knownSeries).toBe(true);
    expect(p.value).toBe(17);
    expect(p.timestamp()).toBe(1700000000000);
    expect(p.series()).toBe('a{x="1",y="2"}');
    expect(rec(p.labels())).toEqual({ __name__: "a", x: "1", y: "2" });
    expect(p.metricName()).toBe("a");
    expect(p.nextKnownSeries('a{x="1",y="2"}')).toBe("series");
    expect(p.knownSeries).toBe(false);
    expect(p.series()).toBe('a{x="1"}');
    expect(p.value).toBe(3);
    expect(p.next()).toBe("eof");
  });

  test("a prefix of a longer series or of a name with labels does not match", () => {
    const p = new TextParser('ab 1\na {x="1"} 2\n');
    expect(p.nextKnownSeries("a")).toBe("series");
    expect(p.knownSeries).toBe(false);
    expect(p.metricName()).toBe("ab");
    expect(p.nextKnownSeries("a")).toBe("series");
    expect(p.knownSeries).toBe(false);
    expect(rec(p.labels())).toEqual({ __name__: "a", x: "1" });
    expect(p.value).toBe(2);
  });

  test("values of known series are parsed like any other, errors included", () => {
    const values = ["0", "00012", "123456789012345", "1234567890123456789", "-3", "1.5e3", "NaN", "+Inf"];
    for (const v of values) {
      const p = new TextParser(`m{a="b"} ${v}\n`);
      expect(p.nextKnownSeries('m{a="b"}')).toBe("series");
      expect(p.knownSeries).toBe(true);
      expect(Object.is(p.value, Number(v === "+Inf" ? "Infinity" : v))).toBe(true);
    }
    expect(() => new TextParser('m{a="b"} 1x\n').nextKnownSeries('m{a="b"}')).toThrow(TextParseError);
    expect(() => new TextParser('m{a="b"} 1 2 3\n').nextKnownSeries('m{a="b"}')).toThrow(TextParseError);
  });
});

describe("TextParser guessed and unguessed parsing agree", () => {
  /** Samples (labels, value, timestamp) or the error message, with series guesses offered in order. */
  function drive(text: string, guesses: readonly string[]): string[] | string {
    const p = new TextParser(text);
    const out: string[] = [];
    let k = 0;
    try {
      for (let e = k < guesses.length ? p.nextKnownSeries(guesses[k]!) : p.next(); e !== "eof"; e = k < guesses.length ? p.nextKnownSeries(guesses[k]!) : p.next()) {
        if (e !== "series") continue;
        k++;
        out.push(`${JSON.stringify(rec(p.labels()))} ${p.value} ${p.timestamp()} ${p.series()}`);
      }
    } catch (err) {
      expect(err).toBeInstanceOf(TextParseError);
      return (err as Error).message;
    }
    return out;
  }

  test("on random bodies", () => {
    const lines = [
      "# TYPE a counter", "a 1", 'a{x="1"} 2', 'a{x="1"}   2   17', 'a {x="1"} 3', "a\t4", 'b{y="a} b"} -Inf', "b 12345678901234567",
      "b 0012", "b one", "", '{"c.d", e="f"} 5', 'a{x="1",x="2"} 1', "a 1 2 3", "a 1\r",
    ];
    let seed = 11;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let round = 0; round < 400; round++) {
      const body: string[] = [];
      for (let i = 0, n = 1 + rand(8); i < n; i++) body.push(lines[rand(lines.length)]!);
      const text = body.join("\n") + "\n";
      const plain = drive(text, []);
      const series = typeof plain === "string" ? body.map((l) => l.split(/[ \t]/)[0]!) : plain.map((s) => s.slice(s.lastIndexOf(" ") + 1));
      expect(drive(text, series)).toEqual(plain);
      expect(drive(text, ["a", ...series])).toEqual(plain);
    }
  });
});
