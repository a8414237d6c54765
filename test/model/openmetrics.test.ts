import { describe, expect, test } from "bun:test";
import { labelsKey } from "../../src/model/labels.ts";
import { OpenMetricsParseError, OpenMetricsParser, parseOpenMetrics } from "../../src/model/openmetrics.ts";

function errorOf(text: string): string {
  try {
    parseOpenMetrics(text);
  } catch (err) {
    expect(err).toBeInstanceOf(OpenMetricsParseError);
    return (err as Error).message;
  }
  throw new Error("expected a parse error");
}

describe("parseOpenMetrics", () => {
  test("families, metadata, samples and timestamps", () => {
    const r = parseOpenMetrics(
      [
        "# TYPE http_requests counter",
        "# HELP http_requests Requests \\\"served\\\"\\nsecond line \\\\.",
        'http_requests_total{method="get",code="200"} 1027 1700000000.5',
        'http_requests_created{method="get",code="200"} 1699990000',
        "# TYPE temperature_celsius gauge",
        "# UNIT temperature_celsius celsius",
        "temperature_celsius -3.5e1",
        "# TYPE latency histogram",
        'latency_bucket{le="0.1"} 5 1700000000',
        'latency_bucket{le="+Inf"} 8 1700000000',
        "latency_count 8 1700000000",
        "latency_sum 1.25 1700000000",
        "# TYPE rpc summary",
        'rpc{quantile="0.5"} NaN',
        "rpc_count +Inf",
        "rpc_sum -inf",
        "# TYPE build info",
        'build_info{version="1.2"} 1',
        "# TYPE feature stateset",
        'feature{feature="a"} 1',
        "mystery 42",
        "# EOF",
        "",
      ].join("\n"),
    );
    expect(r.families.map((f) => [f.name, f.type, f.unit])).toEqual([
      ["http_requests", "counter", ""],
      ["temperature_celsius", "gauge", "celsius"],
      ["latency", "histogram", ""],
      ["rpc", "summary", ""],
      ["build", "info", ""],
      ["feature", "stateset", ""],
      ["mystery", "unknown", ""],
    ]);
    expect(r.families[0]!.help).toBe('Requests "served"\nsecond line \\.');
    expect(r.samples.length).toBe(13);
    expect(labelsKey(r.samples[0]!.labels)).toBe('{__name__="http_requests_total", code="200", method="get"}');
    expect(r.samples[0]!.v).toBe(1027);
    expect(r.samples[0]!.t).toBe(1700000000500);
    expect(r.samples[2]!.v).toBe(-35);
    expect(r.samples[2]!.t).toBeUndefined();
    expect(Number.isNaN(r.samples[7]!.v)).toBe(true);
    expect(r.samples[8]!.v).toBe(Infinity);
    expect(r.samples[9]!.v).toBe(-Infinity);
  });

  test("label escapes, empty label values and shared label sets", () => {
    const r = parseOpenMetrics('a{x="q\\"\\\\\\n",y=""} 1 1\na{x="q\\"\\\\\\n",y=""} 2 2\n# EOF');
    expect(r.samples[0]!.labels).toEqual([
      { name: "__name__", value: "a" },
      { name: "x", value: 'q"\\\n' },
    ]);
    expect(r.samples[1]!.labels).toBe(r.samples[0]!.labels);
    expect(r.samples[1]!.t).toBe(2000);
  });

  test("label values containing '} ' do not confuse the label-set cache", () => {
    const r = parseOpenMetrics('a{b="x} y"} 1 1\na{b="x"} 2 2\na{b="x} y"} 3 3\n# EOF\n');
    expect(r.samples.map((s) => labelsKey(s.labels))).toEqual(['{__name__="a", b="x} y"}', '{__name__="a", b="x"}', '{__name__="a", b="x} y"}']);
    expect(r.samples.map((s) => s.v)).toEqual([1, 2, 3]);
  });

  test("timestamps are truncated to milliseconds as Prometheus does", () => {
    const r = parseOpenMetrics("a 1 1700000000.0019\n# EOF\n");
    expect(r.samples[0]!.t).toBe(1700000000001);
  });

  test("exemplars are returned separately", () => {
    const r = parseOpenMetrics(
      '# TYPE foo histogram\nfoo_bucket{le="1"} 3 10 # {trace_id="abc"} 0.5 9.5\nfoo_bucket{le="+Inf"} 4 # {} 7\n# EOF\n',
    );
    expect(r.samples.length).toBe(2);
    expect(r.samples[0]!.t).toBe(10000);
    expect(r.samples[1]!.t).toBeUndefined();
    expect(r.exemplars).toEqual([
      { sampleIndex: 0, labels: [{ name: "trace_id", value: "abc" }], v: 0.5, t: 9500 },
      { sampleIndex: 1, labels: [], v: 7 },
    ]);
  });

  test("malformed input is rejected with the line number", () => {
    expect(errorOf("a 1\nb{c 1}\n# EOF\n")).toBe('line 2: expected equal, got " 1}"');
    expect(errorOf("a 1\n")).toBe("line 2: data does not end with # EOF");
    expect(errorOf("a 1\n# EOF\nb 2\n")).toBe("line 3: unexpected content after # EOF");
    expect(errorOf("a one\n# EOF")).toBe('line 1: invalid value "one"');
    expect(errorOf("a 1 soon\n# EOF")).toBe('line 1: invalid timestamp "soon"');
    expect(errorOf("# TYPE a countr\n# EOF")).toBe('line 1: invalid metric type "countr"');
    expect(errorOf("# TYPE a gauge\n# TYPE a gauge\n# EOF")).toBe("line 2: second TYPE line for metric family a");
    expect(errorOf('a{b="1",b="2"} 1\n# EOF')).toBe('line 1: duplicate label name "b"');
    expect(errorOf('a{b="1",} 1\n# EOF')).toBe('line 1: expected label name, got "} 1"');
    expect(errorOf('a{b="\\t"} 1\n# EOF')).toBe('line 1: invalid escape sequence "\\t" in label value');
    expect(errorOf("a 1\n\n# EOF")).toBe("line 2: unexpected empty line");
    expect(errorOf("# random comment\n# EOF")).toBe('line 1: expected TYPE, HELP, UNIT or EOF after #, got "random"');
    expect(errorOf('# TYPE h histogram\nh_bucket{x="1"} 1\n# EOF')).toBe("line 2: histogram bucket h_bucket without le label");
    expect(errorOf("# UNIT a_seconds bytes\n# EOF")).toBe('line 1: unit "bytes" is not a suffix of metric family a_seconds');
    expect(errorOf("a 1 # {x=1} 1\n# EOF")).toBe('line 1: expected label value, got "1} 1"');
    expect(errorOf("{} 1\n# EOF")).toBe('line 1: expected metric name, got "{} 1"');
  });
});

/** Drives a cursor with guesses (series texts in the order given) and returns samples or the error message. */
function driveWithGuesses(text: string, guesses: readonly string[]): string[] | string {
  const p = new OpenMetricsParser(text);
  const out: string[] = [];
  let k = 0;
  try {
    for (let e = k < guesses.length ? p.nextKnownSeries(guesses[k]!) : p.next(); e !== "eof"; e = k < guesses.length ? p.nextKnownSeries(guesses[k]!) : p.next()) {
      if (e !== "series") continue;
      k++;
      out.push(`${labelsKey(p.labels())} ${p.value} ${p.timestamp()} ${p.exemplar() ? labelsKey(p.exemplar()!.labels) : "-"}`);
    }
  } catch (err) {
    expect(err).toBeInstanceOf(OpenMetricsParseError);
    return (err as Error).message;
  }
  return out;
}

describe("OpenMetricsParser", () => {
  test("a known series skips the label scan; labels, family and value stay right", () => {
    const p = new OpenMetricsParser('# TYPE h histogram\n# HELP h Latency.\nh_bucket{le="1"} 3\nh_count 3\n# EOF\n');
    expect(() => p.next()).not.toThrow();
    expect(p.family().type).toBe("histogram");
    expect(p.nextKnownSeries('h_bucket{le="1"}')).toBe("help");
    expect(p.nextKnownSeries('h_bucket{le="1"}')).toBe("series");
    expect(p.knownSeries).toBe(true);
    expect(p.value).toBe(3);
    expect(p.family().name).toBe("h");
    expect(p.labels()).toEqual([{ name: "__name__", value: "h_bucket" }, { name: "le", value: "1" }]);
    expect(p.nextKnownSeries("h_bucket")).toBe("series");
    expect(p.knownSeries).toBe(false);
    expect(p.series()).toBe("h_count");
    expect(p.next()).toBe("eof");
  });

  test("a known bucket series still needs its le label when its family became a histogram", () => {
    const text = '# TYPE h histogram\nh_bucket{x="le=\\"1\\""} 1\n# EOF\n';
    expect(driveWithGuesses(text, ['h_bucket{x="le=\\"1\\""}'])).toBe("line 2: histogram bucket h_bucket without le label");
  });

  test("guessed and unguessed parsing agree on samples and errors", () => {
    const lines = [
      "# TYPE a counter", "a_total 1", 'a_total{x="1"} 2', 'a_total{x="1"} 2 17', "# TYPE h histogram", 'h_bucket{le="+Inf"} 4',
      'h_bucket{le="1"} 3 # {t="x"} 1', "h_count 4", "h_sum 1.5e3", 'g{y="a} b"} -Inf', "g 12345678901234567", "g 0012", "g one", "",
      'a_total{x="1",x="2"} 1', "# HELP a again", "u_total NaN",
    ];
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let round = 0; round < 400; round++) {
      const body: string[] = [];
      for (let i = 0, n = 1 + rand(8); i < n; i++) body.push(lines[rand(lines.length)]!);
      const text = body.join("\n") + (rand(5) === 0 ? "\n" : "\n# EOF\n");
      const plain = driveWithGuesses(text, []);
      const series = body.filter((l) => l !== "" && !l.startsWith("#")).map((l) => l.slice(0, l.indexOf(" ") < 0 ? l.length : l.indexOf(" ")));
      expect(driveWithGuesses(text, series)).toEqual(plain);
      expect(driveWithGuesses(text, series.slice(1))).toEqual(plain);
    }
  });
});
