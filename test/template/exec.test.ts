import { describe, expect, test } from "bun:test";
import { asStringMap, expandTemplate, parseTemplate, TemplateError, TemplateSet, typedFunc, type FuncMap } from "../../src/template/index.ts";

async function run(text: string, data: unknown = null, funcs: FuncMap = {}): Promise<string> {
  return expandTemplate("t", text, data, funcs);
}

async function runError(text: string, data: unknown = null, funcs: FuncMap = {}, opts: { missingKey?: "error" } = {}): Promise<TemplateError> {
  try {
    await expandTemplate("t", text, data, funcs, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(TemplateError);
    return e as TemplateError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to fail`);
}

class Person {
  constructor(
    readonly Name: string,
    readonly Age: bigint,
  ) {}
  Greet(whom: string): string {
    if (whom === undefined) throw new Error("whom is undefined");
    return `hi ${whom}, I am ${this.Name}`;
  }
  Self(): Person {
    return this;
  }
}

const data = {
  str: "hello",
  num: 2.5,
  int: 7n,
  yes: true,
  empty: "",
  arr: ["a", "b", "c"],
  nums: [1n, 2n, 3n],
  emptyArr: [],
  map: { b: 2n, a: 1n, c: 3n },
  nested: { inner: { leaf: "deep" } },
  labels: asStringMap({ job: "node" }),
  person: new Person("Ann", 30n),
  nil: null,
};

describe("actions and literals", () => {
  const cases: [string, string][] = [
    ["plain text", "plain text"],
    ["{{.str}} world", "hello world"],
    ["{{.nested.inner.leaf}}", "deep"],
    ['{{"\\"output\\""}}', '"output"'],
    ["{{`\"output\"`}}", '"output"'],
    ["{{ `a\\nb` }}", "a\\nb"],
    ['{{ "a\\tb\\u00e9\\x41" }}', "a\tbéA"],
    ["{{ 1 }} {{ -3 }} {{ 1.5 }} {{ 1e3 }} {{ 3.0 }} {{ 1e6 }}", "1 -3 1.5 1000 3 1e+06"],
    ["{{ 0x1F }} {{ 0o17 }} {{ 017 }} {{ 0b101 }} {{ 1_000 }}", "31 15 15 5 1000"],
    ["{{ 'a' }} {{ '\\n' }}", "97 10"],
    ["{{ true }} {{ false }}", "true false"],
    ["{{ .num }} {{ .int }} {{ .yes }}", "2.5 7 true"],
    ["{{ .arr }} {{ .map }}", "[a b c] map[a:1 b:2 c:3]"],
    ["{{ .missing }}|{{ .missing.deeper }}|{{ .labels.missing }}|{{ .nil }}", "<no value>|<no value>||<no value>"],
  ];
  for (const [text, want] of cases) test(text, async () => expect(await run(text, data)).toBe(want));
  test("no data", async () => expect(await run("{{ . }}|{{ .x }}", undefined)).toBe("<no value>|<no value>"));
});

describe("whitespace trimming and comments", () => {
  const cases: [string, string][] = [
    ["{{23 -}} < {{- 45}}", "23<45"],
    ["a \n\t {{- 1 }}", "a1"],
    ["{{ 1 -}} \n\n b", "1b"],
    ["{{-3}}", "-3"],
    ["a{{/* comment */}}b", "ab"],
    ["a {{- /* comment\nspanning lines */ -}} b", "ab"],
    ["x\n{{- if true }}\n  y\n{{- end }}\n", "x\n  y\n"],
  ];
  for (const [text, want] of cases) test(JSON.stringify(text), async () => expect(await run(text)).toBe(want));
});

describe("pipelines and variables", () => {
  const cases: [string, string][] = [
    ['{{printf "%q" "output"}}', '"output"'],
    ['{{"output" | printf "%q"}}', '"output"'],
    ['{{printf "%q" (print "out" "put")}}', '"output"'],
    ['{{"put" | printf "%s%s" "out" | printf "%q"}}', '"output"'],
    ['{{"output" | printf "%s" | printf "%q"}}', '"output"'],
    ['{{with "output"}}{{printf "%q" .}}{{end}}', '"output"'],
    ['{{with $x := "output" | printf "%q"}}{{$x}}{{end}}', '"output"'],
    ['{{with $x := "output"}}{{$x | printf "%q"}}{{end}}', '"output"'],
    ["{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "2"],
    ["{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}", "21"],
    ['{{ $x := 1 }}{{ $x = "a" }}{{ $x }}', "a"],
    ["{{ $ := .str }}{{ $ }}", "hello"],
    ["{{ range .arr }}{{ $.str }}{{ end }}", "hellohellohello"],
    ["{{ $p := .person }}{{ $p.Name }} {{ $p.Self.Age }}", "Ann 30"],
    ["{{ (.nested).inner.leaf }}", "deep"],
    ['{{ .person.Greet "Bob" }}', "hi Bob, I am Ann"],
    ['{{ "Bob" | .person.Greet }}', "hi Bob, I am Ann"],
  ];
  for (const [text, want] of cases) test(text, async () => expect(await run(text, data)).toBe(want));
});

describe("control structures", () => {
  const cases: [string, string][] = [
    ["{{ if .yes }}y{{ else }}n{{ end }}", "y"],
    ["{{ if .empty }}y{{ else if .nums }}nums{{ else }}n{{ end }}", "nums"],
    ["{{ if .emptyArr }}y{{ else if 0 }}z{{ else }}n{{ end }}", "n"],
    ["{{ if .person }}struct is true{{ end }}", "struct is true"],
    ["{{ with .str }}{{ . }}{{ end }}", "hello"],
    ["{{ with .empty }}{{ . }}{{ else }}empty{{ end }}", "empty"],
    ["{{ with .empty }}a{{ else with .str }}{{ . }}{{ end }}", "hello"],
    ["{{ range .arr }}[{{ . }}]{{ end }}", "[a][b][c]"],
    ["{{ range $i, $e := .arr }}{{ $i }}={{ $e }} {{ end }}", "0=a 1=b 2=c "],
    ["{{ range $e := .arr }}{{ $e }}{{ end }}", "abc"],
    ["{{ range $k, $v := .map }}{{ $k }}:{{ $v }} {{ end }}", "a:1 b:2 c:3 "],
    ["{{ range .emptyArr }}x{{ else }}none{{ end }}", "none"],
    ["{{ range .missing }}x{{ else }}none{{ end }}", "none"],
    ["{{ range 3 }}{{ . }}{{ end }}", "012"],
    ["{{ range $i, $e := .arr }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ $e }}{{ end }}", "ac"],
    ["{{ range .arr }}{{ if eq . \"b\" }}{{ break }}{{ end }}{{ . }}{{ end }}", "a"],
    ['{{ $last := "" }}{{ range $i, $e := .arr }}{{ $last = $e }}{{ end }}{{ $last }}', "c"],
    ["{{ range .arr }}{{ $x := . }}{{ $x }}{{ end }}", "abc"],
  ];
  for (const [text, want] of cases) test(text, async () => expect(await run(text, data)).toBe(want));
});

describe("define, template, block", () => {
  test("templates call each other", async () => {
    const text = '{{define "T1"}}ONE{{end}}{{define "T2"}}TWO{{end}}{{define "T3"}}{{template "T1"}} {{template "T2"}}{{end}}{{template "T3"}}';
    expect(await run(text)).toBe("ONE TWO");
  });
  test("template gets a new dot and no outer variables", async () => {
    expect(await run('{{define "x"}}<{{.}}|{{$}}>{{end}}{{$v := 1}}{{template "x" .str}}', data)).toBe("<hello|hello>");
    expect(await run('{{define "x"}}{{.}}{{end}}{{template "x"}}')).toBe("<no value>");
  });
  test("block defines and runs", async () => {
    expect(await run('{{block "list" .arr}}{{range .}}{{println "-" .}}{{end}}{{end}}', data)).toBe("- a\n- b\n- c\n");
  });
  test("a later parse replaces a definition; an empty one does not", async () => {
    const set = new TemplateSet();
    set.parse("a", '{{define "x"}}old{{end}}');
    set.parse("b", '{{define "x"}}new{{end}}{{template "x"}}');
    expect(await set.execute("b", null)).toBe("new");
    set.parse("c", '{{define "x"}}  {{end}}');
    expect(await set.execute("x", null)).toBe("new");
    expect(set.names()).toEqual(["a", "b", "c", "x"]);
  });
  test("expand parses into a copy", async () => {
    const set = new TemplateSet().parse("lib", '{{define "greet"}}hi {{.}}{{end}}');
    expect(await set.expand('{{define "own"}}!{{end}}{{template "greet" .}}{{template "own"}}', "you")).toBe("hi you!");
    expect(set.has("own")).toBe(false);
  });
  test("recursion is bounded", async () => {
    const e = await runError('{{define "r"}}{{template "r" .}}{{end}}{{template "r" .}}');
    expect(e.message).toContain("exceeded maximum template depth (1000)");
  });
});

describe("builtin functions", () => {
  const cases: [string, string][] = [
    ["{{ and 1 0 2 }} {{ and 1 2 }} {{ or 0 \"\" \"x\" }} {{ or 0 \"\" }}", "0 2 x "],
    ["{{ not 0 }} {{ not .str }} {{ not .emptyArr }}", "true false true"],
    ['{{ len .arr }} {{ len .map }} {{ len "héllo" }}', "3 3 6"],
    ['{{ index .arr 1 }} {{ index .map "b" }} {{ index "abc" 1 }} {{ index .nested "inner" "leaf" }}', "b 2 98 deep"],
    ['{{ index .labels "nope" }}|{{ index .map "nope" }}', "|<no value>"],
    ['{{ slice "hello" 1 3 }} {{ slice .arr 1 }} {{ slice .arr 0 1 }} {{ slice .arr }}', "el [b c] [a] [a b c]"],
    ['{{ print 1 2 }} {{ print "a" "b" }} {{ print "a" 1 2 "b" }} {{ print nil }}', "1 2 ab a1 2b <nil>"],
    ['{{ println 1 "a" }}', "1 a\n"],
    ['{{ html "<a href=\\"x\\">\'&\'</a>" }}', "&lt;a href=&#34;x&#34;&gt;&#39;&amp;&#39;&lt;/a&gt;"],
    ['{{ js "it\'s <b>\\"x\\"</b> = \\n" }}', "it\\'s \\u003Cb\\u003E\\\"x\\\"\\u003C/b\\u003E \\u003D \\u000A"],
    ['{{ urlquery "a b/c?d=e&f" }} {{ "é" | urlquery }}', "a+b%2Fc%3Fd%3De%26f %C3%A9"],
    ["{{ html .missing }}", "&lt;no value&gt;"],
    ["{{ eq 1 1 }} {{ eq 1 2 }} {{ eq 1 2 3 1 }} {{ eq .str \"hello\" }} {{ eq .num 2.5 }}", "true false true true true"],
    ["{{ ne 1 2 }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt \"b\" \"a\" }} {{ ge 1.5 1.5 }} {{ lt 2.5 1.5 }}", "true true true true true false"],
    ['{{ eq .missing "x" }} {{ eq .labels.missing "" }}', "false true"],
    ["{{ call .fn 2 3 }}", "5"],
  ];
  const withFn = { ...data, fn: (a: bigint, b: bigint) => a + b };
  for (const [text, want] of cases) test(text, async () => expect(await run(text, withFn)).toBe(want));

  test("and/or stop at the deciding argument", async () => {
    let calls = 0;
    const funcs = {
      boom: () => {
        calls++;
        throw new Error("must not run");
      },
    };
    expect(await run("{{ or 1 boom }} {{ and 0 boom }}", null, funcs)).toBe("1 0");
    expect(calls).toBe(0);
  });

  test("user functions may be async and override builtins", async () => {
    const funcs = {
      later: async (s: string) => `${s}!`,
      len: () => "mine",
    };
    expect(await run('{{ "x" | later }} {{ len "abc" }}', null, funcs)).toBe("x! mine");
  });
});

describe("printf", () => {
  const cases: [string, string][] = [
    ['{{ printf "%s|%d|%v|%t|%%" "s" 42 1.5 true }}', "s|42|1.5|true|%"],
    ['{{ printf "%.2f|%6.2f|%-6.1f|%06.2f|%+.1f" 3.14159 3.14159 2.25 -1.5 2.0 }}', "3.14|  3.14|2.2   |-01.50|+2.0"],
    ['{{ printf "%.0f %.0f %.2f %.1f" 2.5 3.5 1.005 0.05 }}', "2 4 1.00 0.1"],
    ['{{ printf "%e|%E|%.2e|%g|%g|%g|%G" 1234.5678 0.000123 1e21 0.00001234 100000.0 1000000.0 1e-7 }}', "1.234568e+03|1.230000E-04|1.00e+21|1.234e-05|100000|1e+06|1E-07"],
    ['{{ printf "%v %v %v %v" 1e21 123456789.0 0.0001 -0.0 }}', "1e+21 1.23456789e+08 0.0001 -0"],
    ['{{ printf "%5d|%-5d|%05d|%+d|% d|%x|%X|%#x|%o|%b|%c|%U|%q" 42 42 -42 7 7 255 255 255 8 5 65 9731 97 }}', "   42|42   |-0042|+7| 7|ff|FF|0xff|10|101|A|U+2603|'a'"],
    ['{{ printf "%q|%x|%X|%5s|%-5s|%.3s|%5.1s|" "a\\"b\\n" "hi" "hi" "ab" "cd" "abcdef" "xyz" }}', '"a\\"b\\n"|6869|6869|   ab|cd   |abc|    x|'],
    ['{{ printf "%d %s %f" 3.0 1 "x" }}', "%!d(float64=3) %!s(int=1) %!f(string=x)"],
    ['{{ printf "%d" }}|{{ printf "%d" 1 2 }}|{{ printf "%z" 1 }}|{{ printf "%" }}', "%!d(MISSING)|1%!(EXTRA int=2)|%!z(int=1)|%!(NOVERB)"],
    ['{{ printf "%T %T %T %T %T" 1 1.5 "s" true .arr }}', "int float64 string bool []string"],
    ['{{ printf "%*d|%-*d|%.*f" 4 1 3 2 2 3.14159 }}', "   1|2  |3.14"],
    ['{{ printf "%v %v %s" .arr .map .nil }}', "[a b c] map[a:1 b:2 c:3] %!s(<nil>)"],
    ['{{ printf "%v %f %.1f" (index .inf 0) (index .inf 1) (index .inf 2) }}', "+Inf -Inf NaN"],
  ];
  const withInf = { ...data, inf: [Infinity, -Infinity, NaN] };
  for (const [text, want] of cases) test(text, async () => expect(await run(text, withInf)).toBe(want));
});

describe("parse errors", () => {
  const cases: [string, string][] = [
    ["{{ .foo }", 'template: t:1: unexpected "}" in operand'],
    ["line1\nline2 {{ .x }\n", 'template: t:2: unexpected "}" in operand'],
    ["{{ if .x }}abc", "template: t:1: unexpected EOF"],
    ["{{ end }}", "template: t:1: unexpected {{end}}"],
    ["{{ else }}", "template: t:1: unexpected {{else}}"],
    ["{{ nofunc 1 }}", 'template: t:1: function "nofunc" not defined'],
    ["{{ $x }}", 'template: t:1: undefined variable "$x"'],
    ["{{ with $x := 1 }}{{ end }}{{ $x }}", 'template: t:1: undefined variable "$x"'],
    ["{{ }}", "template: t:1: missing value for command"],
    ['{{ "abc }}', "template: t:1: unterminated quoted string"],
    ["{{ 3 | 4 }}", "template: t:1: non executable command in pipeline stage 2"],
    ["{{ .x ) }}", "template: t:1: unexpected right paren"],
    ["{{ (1 }}", "template: t:1: unclosed left paren"],
    ["{{ .x", "template: t:1: unclosed action"],
    ["{{ .x #}}", 'template: t:1: unexpected "#" in operand'],
    ["{{ .a% }}", "template: t:1: bad character U+0025 '%'"],
    ["{{ 12ab }}", 'template: t:1: bad number syntax: "12a"'],
    ["{{/* x */ }}", "template: t:1: comment ends before closing delimiter"],
    ["{{/* x ", "template: t:1: unclosed comment"],
    ["{{ break }}", "template: t:1: {{break}} outside {{range}}"],
    ["{{ range .x }}{{ break 1 }}{{ end }}", 'template: t:1: unexpected "1" in {{break}}'],
    ["{{ template .x }}", 'template: t:1: unexpected ".x" in template clause'],
    ['{{define "a"}}x{{end}}{{define "a"}}y{{end}}', 'template: t:1: template: multiple definition of template "a"'],
    ["{{ 1.x }}", 'template: t:1: bad number syntax: "1.x"'],
    ['{{ "a".x }}', 'template: t:1: unexpected . after term "\\"a\\""'],
    ["{{ if 1 }}{{ else }}{{ else }}{{ end }}", "template: t:1: expected end; found {{else}}"],
    ["{{ range $a, $b, $c := . }}{{ end }}", "template: t:1: too many declarations in range"],
    ["{{ 99999999999999999999 }}", 'template: t:1: integer overflow: "99999999999999999999"'],
    ['{{ "\\q" }}', "template: t:1: invalid syntax"],
    [`{{ ${"(".repeat(1001)}1${")".repeat(1001)} }}`, "template: t:1: max expression depth exceeded"],
    [`${"{{ if 1 }}".repeat(1001)}x${"{{ end }}".repeat(1001)}`, "template: t:1: max control structure depth exceeded"],
    ["a\n{{ if 1 }}\nb\n{{ .x\n", "template: t:5: unclosed action started at t:4"],
    ["a\n{{ if 1 }}\nb\n{{ .x\n}", 'template: t:5: unexpected "}" in operand'],
  ];
  for (const [text, want] of cases) {
    test(JSON.stringify(text), () => {
      let err: unknown;
      try {
        parseTemplate("t", text);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TemplateError);
      expect((err as TemplateError).kind).toBe("parse");
      expect((err as TemplateError).message).toBe(want);
    });
  }
});

describe("execution errors", () => {
  const cases: [string, string][] = [
    ["{{ .str.y }}", 'template: t:1:7: executing "t" at <.str.y>: can\'t evaluate field y in type string'],
    ["a\n{{ .nested.inner.leaf.x 1 }}", 'template: t:2:10: executing "t" at <.nested.inner.leaf.x>: can\'t evaluate field x in type string'],
    ["{{nil}}", 'template: t:1:2: executing "t" at <nil>: nil is not a command'],
    ['{{ template "nope" }}', 'template: t:1:12: executing "t" at <{{template "nope"}}>: template "nope" not defined'],
    ['{{define "d"}}\n{{ .str.y }}{{end}}{{template "d" .}}', 'template: t:2:7: executing "d" at <.str.y>: can\'t evaluate field y in type string'],
    ["{{ index .arr 5 }}", 'template: t:1:3: executing "t" at <index>: error calling index: index out of range: 5'],
    ["{{ index .arr 1.0 }}", 'template: t:1:3: executing "t" at <index>: error calling index: cannot index slice/array with type float64'],
    ["{{ len 3 }}", 'template: t:1:3: executing "t" at <len>: error calling len: len of type int'],
    ["{{ printf 1 }}", 'template: t:1:10: executing "t" at <1>: expected string; found 1'],
    ["{{ printf .int }}", 'template: t:1:10: executing "t" at <.int>: wrong type for value; expected string; got int'],
    ["{{ not 1 2 }}", 'template: t:1:3: executing "t" at <not>: wrong number of args for not: want 1 got 2'],
    ["{{ eq 1 1.0 }}", 'template: t:1:3: executing "t" at <eq>: error calling eq: incompatible types for comparison'],
    ["{{ lt true false }}", 'template: t:1:3: executing "t" at <lt>: error calling lt: invalid type for comparison'],
    ["{{ eq 1 }}", 'template: t:1:3: executing "t" at <eq>: error calling eq: missing argument for comparison'],
    ["{{ .map.a 1 }}", 'template: t:1:7: executing "t" at <.map.a>: a is not a method but has arguments'],
    ["{{ 1 2 }}", 'template: t:1:3: executing "t" at <1>: can\'t give argument to non-function 1'],
    ["{{ .person.Nope }}", 'template: t:1:10: executing "t" at <.person.Nope>: can\'t evaluate field Nope in type Person'],
    ["{{ .person.Greet }}", 'template: t:1:10: executing "t" at <.person.Greet>: error calling Greet: whom is undefined'],
    ["{{ .person.Name 1 }}", 'template: t:1:10: executing "t" at <.person.Name>: Name has arguments but cannot be invoked as function'],
    ["{{ range .str }}{{ end }}", 'template: t:1:9: executing "t" at <.str>: range can\'t iterate over hello'],
    ["{{ range $i, $e := 3 }}{{ end }}", 'template: t:1:19: executing "t" at <3>: can\'t use 3 to iterate over more than one variable'],
    ["{{ call .str }}", 'template: t:1:3: executing "t" at <call>: error calling call: non-function of type string'],
    ["{{ .nested.inner.leaf.aaaaaaaaaaaaaaaaaa }}", 'template: t:1:10: executing "t" at <.nested.inner.leaf.a...>: can\'t evaluate field aaaaaaaaaaaaaaaaaa in type string'],
    ["{{ fail }}", 'template: t:1:3: executing "t" at <fail>: error calling fail: it broke'],
  ];
  const funcs = {
    fail: () => {
      throw new Error("it broke");
    },
  };
  for (const [text, want] of cases) {
    test(text, async () => {
      const e = await runError(text, data, funcs);
      expect(e.kind).toBe("exec");
      expect(e.message).toBe(want);
    });
  }

  test("missingkey=error", async () => {
    const e = await runError("{{ .nope }}", { a: 1 }, {}, { missingKey: "error" });
    expect(e.message).toBe('template: t:1:3: executing "t" at <.nope>: map has no entry for key "nope"');
    const e2 = await runError("{{ .l.nope }}", { l: asStringMap({ a: "x" }) }, {}, { missingKey: "error" });
    expect(e2.message).toBe('template: t:1:5: executing "t" at <.l.nope>: map has no entry for key "nope"');
    expect(await expandTemplate("t", "{{ .l.a }}", { l: asStringMap({ a: "x" }) }, {}, { missingKey: "error" })).toBe("x");
  });

  test("typed functions check argument types", async () => {
    const funcs = { twice: typedFunc(["float64"], (x: number) => x * 2) };
    expect(await run("{{ twice 2 }} {{ twice 1.5 }}", null, funcs)).toBe("4 3");
    const e = await runError("{{ twice .int }}", data, funcs);
    expect(e.message).toBe('template: t:1:9: executing "t" at <.int>: wrong type for value; expected float64; got int');
  });

  test("executing an unknown template", async () => {
    const set = parseTemplate("main", "x");
    await expect(set.execute("other", null)).rejects.toThrow('template: no template "other" associated with template "main"');
  });
});
