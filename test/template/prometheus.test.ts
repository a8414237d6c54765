import { describe, expect, test } from "bun:test";
import {
  checkRuleTemplate,
  expandRuleTemplate,
  humanize,
  humanize1024,
  humanizeDuration,
  humanizePercentage,
  humanizeTimestamp,
  prometheusFuncs,
  RULE_TEMPLATE_PREAMBLE,
  TemplateError,
  TemplateSet,
  type PrometheusFuncOptions,
} from "../../src/template/index.ts";

async function run(text: string, data: unknown = null, opts: PrometheusFuncOptions = {}): Promise<string> {
  return new TemplateSet(prometheusFuncs(opts)).parse("t", text).execute("t", data);
}

describe("humanizing functions", () => {
  const cases: [string, (v: unknown) => string, unknown, string][] = [
    ["humanize", humanize, 0, "0"],
    ["humanize", humanize, 1, "1"],
    ["humanize", humanize, 1234567, "1.235M"],
    ["humanize", humanize, 0.12, "120m"],
    ["humanize", humanize, 0.001234, "1.234m"],
    ["humanize", humanize, 999.99, "1000"],
    ["humanize", humanize, 1e30, "1e+06Y"],
    ["humanize", humanize, -1234, "-1.234k"],
    ["humanize", humanize, 1.5e-26, "0.015y"],
    ["humanize", humanize, "1234567", "1.235M"],
    ["humanize", humanize, 2048n, "2.048k"],
    ["humanize", humanize, NaN, "NaN"],
    ["humanize", humanize, Infinity, "+Inf"],
    ["humanize", humanize, -Infinity, "-Inf"],
    ["humanize1024", humanize1024, 0, "0"],
    ["humanize1024", humanize1024, 1, "1"],
    ["humanize1024", humanize1024, 1048576, "1Mi"],
    ["humanize1024", humanize1024, 0.12, "0.12"],
    ["humanize1024", humanize1024, 1536, "1.5Ki"],
    ["humanize1024", humanize1024, -1099511627776, "-1Ti"],
    ["humanizeDuration", humanizeDuration, 0, "0s"],
    ["humanizeDuration", humanizeDuration, 1, "1s"],
    ["humanizeDuration", humanizeDuration, 60, "1m 0s"],
    ["humanizeDuration", humanizeDuration, 3600, "1h 0m 0s"],
    ["humanizeDuration", humanizeDuration, 86400, "1d 0h 0m 0s"],
    ["humanizeDuration", humanizeDuration, 86400 + 3600, "1d 1h 0m 0s"],
    ["humanizeDuration", humanizeDuration, 90061, "1d 1h 1m 1s"],
    ["humanizeDuration", humanizeDuration, -(86400 * 2 + 3600 * 3 + 60 * 4 + 5), "-2d 3h 4m 5s"],
    ["humanizeDuration", humanizeDuration, 899.99, "14m 59s"],
    ["humanizeDuration", humanizeDuration, 0.1, "100ms"],
    ["humanizeDuration", humanizeDuration, 0.0001, "100us"],
    ["humanizeDuration", humanizeDuration, 0.12345, "123.5ms"],
    ["humanizeDuration", humanizeDuration, 0.1234, "123.4ms"],
    ["humanizeDuration", humanizeDuration, 60.1, "1m 0s"],
    ["humanizeDuration", humanizeDuration, 1.2345, "1.234s"],
    ["humanizeDuration", humanizeDuration, 12.345, "12.35s"],
    ["humanizeDuration", humanizeDuration, "3600", "1h 0m 0s"],
    ["humanizeDuration", humanizeDuration, NaN, "NaN"],
    ["humanizePercentage", humanizePercentage, 0, "0%"],
    ["humanizePercentage", humanizePercentage, 0.1234, "12.34%"],
    ["humanizePercentage", humanizePercentage, 0.1234567, "12.35%"],
    ["humanizePercentage", humanizePercentage, 1.23456, "123.5%"],
    ["humanizePercentage", humanizePercentage, 12.3456, "1235%"],
    ["humanizeTimestamp", humanizeTimestamp, 1435065584.128, "2015-06-23 13:19:44.128 +0000 UTC"],
    ["humanizeTimestamp", humanizeTimestamp, "1435065584.128", "2015-06-23 13:19:44.128 +0000 UTC"],
    ["humanizeTimestamp", humanizeTimestamp, 0, "1970-01-01 00:00:00 +0000 UTC"],
    ["humanizeTimestamp", humanizeTimestamp, -1.5, "1969-12-31 23:59:58.5 +0000 UTC"],
    ["humanizeTimestamp", humanizeTimestamp, Infinity, "+Inf"],
  ];
  for (const [name, fn, input, want] of cases) {
    test(`${name}(${typeof input === "bigint" ? `${input}n` : JSON.stringify(input) ?? String(input)}) = ${want}`, () => {
      expect(fn(input)).toBe(want);
    });
  }

  test("bad input is an error naming the problem", () => {
    expect(() => humanize("abc")).toThrow('strconv.ParseFloat: parsing "abc": invalid syntax');
    expect(() => humanize(true)).toThrow("can't convert bool to float");
  });

  test("in templates, through pipelines", async () => {
    expect(await run("{{ range . }}{{ humanize . }}:{{ end }}", [0, 1, 1234567, 0.12])).toBe("0:1:1.235M:120m:");
    expect(await run("{{ range . }}{{ humanize1024 . }}:{{ end }}", [0, 1, 1048576, 0.12])).toBe("0:1:1Mi:0.12:");
    expect(await run("{{ . | humanizeDuration }} {{ 1435065584.128 | humanizeTimestamp }}", 90061)).toBe("1d 1h 1m 1s 2015-06-23 13:19:44.128 +0000 UTC");
  });
});

describe("string, link and time functions", () => {
  const cases: [string, string][] = [
    ['{{ "aa bb CC" | title }}', "Aa Bb CC"],
    ['{{ "aa bb CC" | toUpper }} {{ "aA bB CC" | toLower }}', "AA BB CC aa bb cc"],
    ['{{ match "a+" "baab" }} {{ match "^b" "ab" }} {{ match "a.b" "a\\nb" }} {{ match "(?s)a.b" "a\\nb" }}', "true false false true"],
    ['{{ reReplaceAll "localhost:(.*)" "my.domain:$1" "localhost:3000" }}', "my.domain:3000"],
    ['{{ reReplaceAll "(a)b" "x$1" "abab" }} {{ reReplaceAll "b*" "X" "abc" }} {{ reReplaceAll "(?P<h>[a-z]+):(\\\\d+)" "${2}@$h$$" "host:80" }}', "xaxa XaXcX 80@host$"],
    ['{{ reReplaceAll "(a)" "$1x" "a" }} {{ reReplaceAll "(a)" "${1}x" "a" }} {{ reReplaceAll "a" "$" "a" }}', " ax $"],
    ['{{ graphLink "up == 0" }} {{ tableLink "rate(x[5m])" }}', "/graph?g0.expr=up+%3D%3D+0&g0.tab=0 /graph?g0.expr=rate%28x%5B5m%5D%29&g0.tab=1"],
    ['{{ stripPort "foo.com:9090" }} {{ stripPort "[::1]:9090" }} {{ stripPort "foo.com" }} {{ stripPort "::1" }}', "foo.com ::1 foo.com ::1"],
    [
      '{{ stripDomain "foo.example.com:12345" }} {{ stripDomain "foo.example.com" }} {{ stripDomain "192.0.2.1:12345" }} {{ stripDomain "[2001:db8::1]:12345" }} {{ stripDomain "localhost" }}',
      "foo:12345 foo 192.0.2.1:12345 [2001:db8::1]:12345 localhost",
    ],
    ['{{ parseDuration "1h2m10ms" }} {{ parseDuration "0" }}', "3720.01 0"],
    ["{{ toTime 1435065584.128 }} {{ (toTime 1435065584.128).Unix }} {{ (toTime 1435065584).Format \"2006-01-02\" }}", "2015-06-23 13:19:44.128 +0000 UTC 1435065584 2015-06-23"],
    ["{{ toDuration 1.5 }} {{ toDuration 90061 }} {{ (toDuration 0.25).Seconds }}", "1.5s 25h1m1s 0.25"],
    ['{{ safeHtml "<b>" }}', "<b>"],
    ['{{ define "x" }}[{{ .arg0 }}|{{ .arg1 }}]{{ end }}{{ tmpl "x" (args 1 "b") }}', "[1|b]"],
    ["{{ externalURL }}|{{ pathPrefix }}", "http://testhost:9090/path/prefix|/path/prefix"],
    ['{{ urlQueryEscape "a b&c=d/é" }}', "a+b%26c%3Dd%2F%C3%A9"],
    ["{{ now }} {{ now | humanizeTimestamp }}", "1.435065584128e+09 2015-06-23 13:19:44.128 +0000 UTC"],
  ];
  for (const [text, want] of cases) {
    test(text, async () => expect(await run(text, null, { externalURL: "http://testhost:9090/path/prefix", timestamp: 1435065584128 })).toBe(want));
  }

  test("bad regexps report Go's errors", async () => {
    await expect(run('{{ match "(" "x" }}')).rejects.toThrow("error calling match: error parsing regexp: missing closing ): `(`");
    await expect(run('{{ reReplaceAll "a(" "" "x" }}')).rejects.toThrow("error calling reReplaceAll: regexp: Compile(`a(`): error parsing regexp: missing closing ): `a(`");
  });

  test("parseDuration rejects bad durations", async () => {
    await expect(run('{{ parseDuration "1x" }}')).rejects.toThrow('error calling parseDuration: not a valid duration string: "1x"');
  });
});

describe("query functions", () => {
  const query = async (q: string) => {
    if (q === "none") return [];
    if (q === "bad{") throw new Error('1:5: parse error: unexpected end of input');
    return [
      { labels: { __name__: "up", instance: "b", job: "node" }, value: 21 },
      { labels: { __name__: "up", instance: "a", job: "node" }, value: 11 },
    ];
  };
  const cases: [string, string][] = [
    ['{{ query "up" | first | value }}', "21"],
    ['{{ range query "up" }}{{ .Labels.instance }}:{{ .Value }} {{ end }}', "b:21 a:11 "],
    ['{{ range sortByLabel "instance" (query "up") }}{{ .Labels.instance }}{{ end }}', "ab"],
    ['{{ with query "up" }}{{ . | first | label "instance" }} {{ . | first | label "nope" }}|{{ len . }}{{ end }}', "b |2"],
    ['{{ with query "none" }}some{{ else }}none{{ end }}', "none"],
    ['{{ with printf "up{job=%q}" "node" | query }}{{ . | first | value | humanize }}{{ end }}', "21"],
    ['{{ query "up" | first | strvalue }}|', "|"],
  ];
  for (const [text, want] of cases) test(text, async () => expect(await run(text, null, { query })).toBe(want));

  test("errors from the query and from first", async () => {
    await expect(run('{{ query "bad{" }}', null, { query })).rejects.toThrow('template: t:1:3: executing "t" at <query>: error calling query: 1:5: parse error: unexpected end of input');
    await expect(run('{{ query "none" | first }}', null, { query })).rejects.toThrow("error calling first: first() called on vector with no elements");
    await expect(run('{{ query "up" }}')).rejects.toThrow("error calling query: no query function configured");
  });
});

describe("alert rule templates", () => {
  const data = {
    labels: { alertname: "HighLoad", instance: "host.example.com:9100", job: "node" },
    externalLabels: { cluster: "eu-1" },
    externalURL: "http://prom.example.com:9090",
    value: 1234567,
  };

  test("the preamble variables and the dot", async () => {
    const text = "{{ $labels.instance }} of {{ $labels.job }} in {{ $externalLabels.cluster }} is {{ $value }} ({{ humanize $value }}, {{ printf \"%.1f\" .Value }}) see {{ $externalURL }}{{ graphLink \"up\" }}";
    expect(await expandRuleTemplate("__alert_HighLoad", text, data)).toBe(
      "host.example.com:9100 of node in eu-1 is 1.234567e+06 (1.235M, 1234567.0) see http://prom.example.com:9090/graph?g0.expr=up&g0.tab=0",
    );
  });

  test("a missing label is empty, as in Prometheus", async () => {
    expect(await expandRuleTemplate("n", "[{{ $labels.nope }}][{{ .Labels.nope }}][{{ .ExternalLabels.nope }}]", data)).toBe("[][][]");
  });

  test("conditionals on the value need float constants", async () => {
    expect(await expandRuleTemplate("n", "{{ if gt $value 100.0 }}high{{ else }}low{{ end }}", data)).toBe("high");
    const err = await expandRuleTemplate("__alert_X", "{{ if gt $value 100 }}high{{ end }}", data).catch((e) => e);
    expect(err).toBeInstanceOf(TemplateError);
    const col = RULE_TEMPLATE_PREAMBLE.length + 6;
    expect(err.message).toBe(`error executing template __alert_X: template: __alert_X:1:${col}: executing "__alert_X" at <gt>: error calling gt: incompatible types for comparison`);
  });

  test("label sets may come as the model's sorted pairs", async () => {
    const pairs = { ...data, labels: [{ name: "instance", value: "x:1" }], externalLabels: [] };
    expect(await expandRuleTemplate("n", "{{ $labels.instance }}|{{ $labels }}|{{ $externalLabels }}", pairs)).toBe("x:1|map[instance:x:1]|map[]");
  });

  test("queries run through the injected function", async () => {
    const text = '{{ with query "up" }}{{ . | first | value }}{{ end }}';
    expect(await expandRuleTemplate("n", text, data, { query: async () => [{ labels: {}, value: 3 }] })).toBe("3");
  });

  test("repeated expansions of one text use each call's data and functions", async () => {
    const text = '{{ $value }} {{ externalURL }} {{ query "x" | first | value }}';
    for (const v of [1, 2, 3]) {
      const got = await expandRuleTemplate("r", text, { ...data, value: v, externalURL: `http://h${v}` }, { query: async () => [{ labels: {}, value: v * 10 }] });
      expect(got).toBe(`${v} http://h${v} ${v * 10}`);
    }
  });

  test("parse errors are prefixed like Prometheus", async () => {
    const err = await expandRuleTemplate("__alert_X", "{{ $labels.instance }", data).catch((e) => e);
    expect(err).toBeInstanceOf(TemplateError);
    expect(err.kind).toBe("parse");
    expect(err.message).toBe('error parsing template __alert_X: template: __alert_X:1: unexpected "}" in operand');
  });

  test("checkRuleTemplate accepts good templates and rejects bad ones at load", () => {
    expect(() => checkRuleTemplate("Up", "{{ $labels.instance }} {{ $value | humanize }} {{ query \"up\" | first | value }}")).not.toThrow();
    expect(() => checkRuleTemplate("Up", "{{ $labels.instance }")).toThrow('template: __alert_Up:1: unexpected "}" in operand');
    expect(() => checkRuleTemplate("Up", "{{ humanise $value }}")).toThrow('template: __alert_Up:1: function "humanise" not defined');
    expect(() => checkRuleTemplate("Up", "{{ $nope }}")).toThrow('template: __alert_Up:1: undefined variable "$nope"');
    expect(() => checkRuleTemplate("Up", "line one\n{{ if $value }}")).toThrow("template: __alert_Up:2: unexpected EOF");
  });
});
