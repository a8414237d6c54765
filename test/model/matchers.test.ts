import { describe, expect, test } from "bun:test";
import { newMatcher, type MatchType } from "../../src/model/index.ts";
import { compileRE2, compileRE2Search, translateRE2, RE2SyntaxError } from "../../src/model/re2.ts";

/** Whether matcher `type name value` accepts a series whose label is `v` ("" = missing). */
function accepts(type: MatchType, value: string, v: string): boolean {
  return newMatcher(type, "l", value).matches(v);
}

describe("matcher semantics (Prometheus)", () => {
  test('=~"" matches a missing label only', () => {
    expect(accepts("=~", "", "")).toBe(true);
    expect(accepts("=~", "", "x")).toBe(false);
  });
  test('!="" requires the label to be present', () => {
    expect(accepts("!=", "", "")).toBe(false);
    expect(accepts("!=", "", "x")).toBe(true);
  });
  // Prometheus 2.42 and Alertmanager 0.25 compile `^(?:…)$` with Go's default
  // flags, so `.` stops at "\n" (checked against prometheus 2.42: up{l=~".*"}
  // does not select l="a\nb", up{l=~"(?s)a.b"} does).
  test('=~".*" matches missing and any value without a newline', () => {
    for (const v of ["", "x", "ab c"]) expect(accepts("=~", ".*", v)).toBe(true);
    for (const v of ["a\nb", "\n"]) expect(accepts("=~", ".*", v)).toBe(false);
    expect(accepts("=~", "(?s).*", "a\nb")).toBe(true);
  });
  test('=~".+" requires a non-empty value', () => {
    expect(accepts("=~", ".+", "")).toBe(false);
    expect(accepts("=~", ".+", "x")).toBe(true);
    expect(accepts("=~", ".+", "\n")).toBe(false);
    expect(accepts("=~", "(?s).+", "\n")).toBe(true);
  });
  test("regexes are fully anchored", () => {
    expect(accepts("=~", "foo", "foobar")).toBe(false);
    expect(accepts("=~", "foo", "xfoo")).toBe(false);
    expect(accepts("=~", "foo", "foo")).toBe(true);
    expect(accepts("!~", "foo", "foobar")).toBe(true);
    expect(accepts("=~", "foo|bar", "foobar")).toBe(false);
  });
  test("alternations and case-insensitivity", () => {
    expect(accepts("=~", "a|b|c", "b")).toBe(true);
    expect(accepts("=~", "a|b|c", "d")).toBe(false);
    expect(accepts("=~", "(?i)foo", "FoO")).toBe(true);
    expect(accepts("=~", "(?i:a)b", "Ab")).toBe(true);
    expect(accepts("=~", "(?i:a)b", "AB")).toBe(false);
    expect(accepts("=~", "foo|", "")).toBe(true);
  });
  test("newlines in values", () => {
    expect(accepts("=~", "a.b", "a\nb")).toBe(false);
    expect(accepts("=~", "(?s)a.b", "a\nb")).toBe(true);
    expect(accepts("=~", "(?-s)a.b", "a\nb")).toBe(false);
    expect(accepts("=", "a\nb", "a\nb")).toBe(true);
    expect(accepts("!~", "a.*", "a\n")).toBe(true);
    expect(accepts("=~", "a[^x]b", "a\nb")).toBe(true);
  });
  test("= and != compare exactly", () => {
    expect(accepts("=", "a", "a")).toBe(true);
    expect(accepts("=", "a", "A")).toBe(false);
    expect(accepts("!=", "a", "")).toBe(true);
    expect(accepts("=", "", "")).toBe(true);
  });
});

describe("RE2 syntax translated to JS", () => {
  const cases: [string, string[], string[]][] = [
    ["(?i)a(?-i:b)c", ["Abc", "abC"], ["ABc"]],
    ["(?s:.)", ["\n"], []],
    ["(?m)^a$", ["a"], ["b"]],
    ["(?U)a+", ["aaa"], [""]],
    ["\\pL+", ["abcé"], ["a1"]],
    ["\\p{Greek}+", ["αβγ"], ["abc"]],
    ["\\PL", ["1"], ["a"]],
    ["\\p{^Greek}", ["a"], ["α"]],
    ["\\pN", ["5"], ["x"]],
    ["[[:alpha:]]+", ["abc"], ["ab1"]],
    ["[[:^digit:]]+", ["abc"], ["ab1"]],
    ["[[:upper:][:digit:]]+", ["A1"], ["a"]],
    ["\\Qa.b*\\E", ["a.b*"], ["axb"]],
    ["\\Qa.b\\E", ["a.b"], ["axbb"]],
    ["\\x{10FFFF}", ["\u{10FFFF}"], ["x"]],
    ["\\x41\\x{42}", ["AB"], ["ab"]],
    ["\\101\\0", ["A\0"], []],
    ["(?P<name>a)b", ["ab"], ["b"]],
    ["(?<name>a)b", ["ab"], ["b"]],
    ["\\d+", ["0123456789"], ["١٢"]],
    ["\\s", [" ", "\t", "\n"], ["\u00a0", "\v"]],
    ["\\w+", ["a_Z9"], ["é"]],
    ["a{2,3}", ["aa", "aaa"], ["a", "aaaa"]],
    ["a{2,}", ["aaaa"], ["a"]],
    ["a{,2}", ["a{,2}"], ["aa"]],
    ["x{", ["x{"], ["x"]],
    ["\\Aab\\z", ["ab"], []],
    ["[a-c-]+", ["a-c"], ["d"]],
    ["[]a]+", ["]a"], ["b"]],
    ["[^a]", ["\n", "b"], ["a"]],
    ["\\.\\*\\+\\{", [".*+{"], []],
    ["(?i)[a-c]+", ["ABC"], ["D"]],
    ["a|", ["a", ""], ["b"]],
    ["()", [""], ["a"]],
    ["\\bfoo\\b", ["foo"], []],
    ["a$|b", ["a", "b"], ["a\n"]],
    ["/path-x", ["/path-x"], []],
  ];
  for (const [pattern, yes, no] of cases) {
    test(`${pattern}`, () => {
      const re = compileRE2(pattern);
      for (const s of yes) expect({ s, m: re.test(s) }).toEqual({ s, m: true });
      for (const s of no) expect({ s, m: re.test(s) }).toEqual({ s, m: false });
    });
  }

  test("translation is unanchored; compileRE2 anchors", () => {
    expect(new RegExp(translateRE2("b"), "u").test("abc")).toBe(true);
    expect(compileRE2("b").test("abc")).toBe(false);
  });
});

describe("RE2 rejects what Go's regexp/syntax rejects", () => {
  const errors: [string, string][] = [
    ["a(?=b)", "invalid or unsupported Perl syntax: `(?=`"],
    ["a(?!b)", "invalid or unsupported Perl syntax: `(?!`"],
    ["(?<=a)b", "invalid or unsupported Perl syntax: `(?<`"],
    ["(?<!a)b", "invalid or unsupported Perl syntax: `(?<`"],
    ["(a)\\1", "invalid escape sequence: `\\1`"],
    ["a{1001}", "invalid repeat count: `{1001}`"],
    ["a{1,1001}", "invalid repeat count: `{1,1001}`"],
    ["a{2,1}", "invalid repeat count: `{2,1}`"],
    // Prometheus and Alertmanager compile `^(?:…)$`, so messages about the
    // whole expression name that (checked in test/interop/regex-vs-prometheus).
    ["(a", "missing closing ): `^(?:(a)$`"],
    ["a)", "unexpected ): `^(?:a))$`"],
    ["[a", "missing closing ]: `[a)$`"],
    ["\\Qa.b", "missing closing ): `^(?:\\Qa.b)$`"],
    ["[z-a]", "invalid character class range: `z-a`"],
    ["\\q", "invalid escape sequence: `\\q`"],
    ["\\8", "invalid escape sequence: `\\8`"],
    ["a\\C", "invalid escape sequence: `\\C`"],
    ["a**", "invalid nested repetition operator: `**`"],
    ["a*+", "invalid nested repetition operator: `*+`"],
    ["x{2}{3}", "invalid nested repetition operator: `{2}{3}`"],
    ["*a", "missing argument to repetition operator: `*`"],
    ["a|?", "missing argument to repetition operator: `?`"],
    ["\\p{Foo}", "invalid character class range: `\\p{Foo}`"],
    ["[[:foo:]]", "invalid character class range: `[:foo:]`"],
    ["(?z)", "invalid or unsupported Perl syntax: `(?z`"],
    ["(?)", "invalid or unsupported Perl syntax: `(?)`"],
    ["\\", "missing closing ): `^(?:\\)$`"],
    ["\\x{110000}", "invalid escape sequence: `\\x{110000}`"],
    ["(?P<a-b>x)", "invalid named capture: `(?P<a-b>`"],
  ];
  for (const [pattern, msg] of errors) {
    test(pattern, () => {
      expect(() => compileRE2(pattern)).toThrow(`error parsing regexp: ${msg}`);
      expect(() => newMatcher("=~", "l", pattern)).toThrow(RE2SyntaxError);
    });
  }

  test("unanchored patterns (template functions) are checked as written", () => {
    expect(() => compileRE2Search("\\")).toThrow("error parsing regexp: trailing backslash at end of expression: ``");
    expect(() => compileRE2Search("(a")).toThrow("error parsing regexp: missing closing ): `(a`");
    expect(compileRE2Search("\\Qa.b").test("xa.by")).toBe(true);
  });

  test("deep nesting is bounded, not a stack overflow", () => {
    expect(() => compileRE2("(".repeat(2000) + ")".repeat(2000))).toThrow("expression nests too deeply");
  });
});

describe("compileRE2 capture groups", () => {
  test("plain and named groups capture in RE2's numbering; flag groups do not", () => {
    const m = compileRE2("(a+)(?i:x)(?P<mid>b)(?:c)(d)").exec("aaXbcd");
    expect(m).not.toBeNull();
    expect([...m!].slice(1)).toEqual(["aa", "b", "d"]);
    expect(m!.groups).toEqual({ mid: "b" });
  });
});
