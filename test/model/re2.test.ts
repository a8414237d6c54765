/**
 * RE2 matching in linear time with RE2's answers: the catastrophic patterns
 * that backtracking engines choke on, Go's repeat-count limits, the engine
 * each pattern runs on, and differential checks of the fast/JS paths against
 * the linear engine (re2js) on the same patterns and inputs.
 */
import { describe, expect, test } from "bun:test";
import { newMatcher, relabel, labelsFromRecord } from "../../src/model/index.ts";
import { compileRE2, compileRE2Search, type EngineOption } from "../../src/model/re2.ts";
import { matchString, replaceAllString } from "../../src/template/index.ts";
import { seededRandom } from "../support/random.ts";

/** Milliseconds `fn` takes. */
function timed<T>(fn: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = fn();
  return { value, ms: performance.now() - t0 };
}

// Generous: the bench records the real figures (a few ms); this only has to
// catch exponential or quadratic blow-ups on a loaded machine.
const BOUND_MS = 1000;

describe("catastrophic patterns finish quickly with RE2's answer", () => {
  const n = 10_000;
  const cases: [string, string, boolean][] = [
    ["(a+)+", "a".repeat(n), true],
    ["(a+)+", "a".repeat(n) + "!", false],
    ["(a|a?)+", "a".repeat(n), true],
    ["(a|a?)+", "a".repeat(n) + "!", false],
    ["(.*a){12}", "a".repeat(n), true],
    ["(.*a){12}", "a".repeat(n) + "!", false],
    ["(a|aa)+", "a".repeat(n) + "b", false],
    ["(x+x+)+y", "x".repeat(n), false],
    ["(\\w+\\s?)+$", "word ".repeat(n / 5) + "!", false],
    ["(.*,)*x", "a,".repeat(n / 2), false],
  ];
  for (const [pattern, input, want] of cases) {
    test(`${pattern} on ${input.length} chars is ${want}`, () => {
      const re = compileRE2(pattern);
      const t = timed(() => re.test(input));
      expect(t.value).toBe(want);
      expect(t.ms).toBeLessThan(BOUND_MS);
      const e = timed(() => re.exec(input));
      expect(e.value !== null).toBe(want);
      expect(e.ms).toBeLessThan(BOUND_MS);
    });
  }

  test("through a PromQL-style matcher, a relabel rule and a template function", () => {
    const value = "a".repeat(n) + "!";
    const m = newMatcher("=~", "v", "(a+)+");
    expect(timed(() => m.matches(value)).ms).toBeLessThan(BOUND_MS);
    expect(m.matches(value)).toBe(false);
    expect(newMatcher("!~", "v", "(a|a?)+").matches(value)).toBe(true);

    const r = timed(() => relabel(labelsFromRecord({ v: value }), [{ source_labels: ["v"], regex: "(.*a){12}", action: "drop" }]));
    expect(r.ms).toBeLessThan(BOUND_MS);
    expect(r.value).not.toBeNull();

    const s = timed(() => matchString("^(a+)+$", value));
    expect(s.ms).toBeLessThan(BOUND_MS);
    expect(s.value).toBe(false);
    expect(replaceAllString("(a|a?)+!", "x", value)).toBe("x");
  });

  test("a backtracking engine's give-up is not taken for 'no match' (issue 8)", () => {
    // Prometheus returns the series: the second branch matches.
    expect(compileRE2("(a+)+|a+!").test("a".repeat(28) + "!")).toBe(true);
    expect(newMatcher("=~", "victim", "(a+)+|a+!").matches("a".repeat(28) + "!")).toBe(true);
    expect(compileRE2("(a+)+|a+!").exec("a".repeat(28) + "!")?.[0]).toBe("a".repeat(28) + "!");
  });
});

describe("repeat counts limited as Go limits them", () => {
  const refused: [string, string][] = [
    ["((a{1000}){1000}){1000}", "{1000}"],
    ["(a{1000}){2}", "{2}"],
    ["(a{2}){501}", "{501}"],
    ["(?:(?:a{10}){10}){11}", "{11}"],
    ["(a{2,}){501}", "{501}"],
    ["a{1001}", "{1001}"],
  ];
  for (const [pattern, op] of refused) {
    test(`${pattern} is refused`, () => {
      expect(() => compileRE2(pattern)).toThrow(`error parsing regexp: invalid repeat count: \`${op}\``);
      expect(() => compileRE2Search(pattern)).toThrow("invalid repeat count");
    });
  }
  for (const pattern of ["(a{2}){500}", "(?:(?:a{10}){10}){10}", "(a{1000})*", "(a*){1000}", "(a{0}){1000}", "(a?){1000}"]) {
    test(`${pattern} is accepted`, () => {
      expect(() => compileRE2(pattern)).not.toThrow();
    });
  }
  test("(a{2}){500} matches exactly 1000 a's", () => {
    const re = compileRE2("(a{2}){500}");
    expect(re.test("a".repeat(1000))).toBe(true);
    expect(re.test("a".repeat(999))).toBe(false);
  });
});

describe("anchored as Go anchors: ^(?:pattern)$ searched for", () => {
  test("a pattern that closes the wrapping group keeps Go's meaning (relabel, label_replace, Alertmanager)", () => {
    // ^(?:a)|(b)$: starts with a, or ends with b.
    const re = compileRE2("a)|(b");
    expect(["axx", "xxb", "ab", "a"].map((s) => re.test(s))).toEqual([true, true, true, true]);
    expect(["xx", "ba", ""].map((s) => re.test(s))).toEqual([false, false, false]);
    expect(re.exec("xxb")?.[1]).toBe("b");
    expect(re.exec("xxb")?.index).toBe(2);
    expect(compileRE2("a)|(b", "re2").exec("xxb")?.[1]).toBe("b");
  });
});

describe("engine choice", () => {
  const engines: [string, string][] = [
    ["foo", "literal"],
    ["foo|bar", "set"],
    ["^(?:foo|bar)$", "set"],
    ["(foo|bar)", "set"],
    ["prefix.*", "prefix"],
    [".*suffix", "suffix"],
    ["pre.*suf", "prefix+suffix"],
    [".*foo.*", "contains"],
    [".+", "any"],
    ["(?i)foo", "js"],
    ["[0-9]+", "js"],
    ["api-[a-z]+-[0-9]{3}", "js"],
    ["https?://.*", "js"],
    ["-?[0-9]+\\.?[0-9]{0,3}", "js"],
    ["-?[0-9]+(\\.[0-9]{1,3})?", "re2"],
    ["a?b?c?d?e?", "re2"],
    ["[0-9]+[a-z]+", "re2"],
    ["(a+)+", "re2"],
    ["(a|a?)+", "re2"],
    ["(.*a){12}", "re2"],
    ["(.*):(.*)", "re2"],
    ["(a|b)c(d|e)", "re2"],
  ];
  for (const [pattern, engine] of engines) {
    test(`${pattern} runs on ${engine}`, () => expect(compileRE2(pattern).engine).toBe(engine));
  }
  test("unanchored search takes JS RegExp only without variable repetition", () => {
    expect(compileRE2Search("foo|bar").engine).toBe("js");
    expect(compileRE2Search("a[0-9]{3}").engine).toBe("js");
    expect(compileRE2Search("a?b").engine).toBe("js");
    expect(compileRE2Search("a+b").engine).toBe("re2");
  });
  test("long inputs leave JS RegExp for the linear engine and keep the answer", () => {
    const re = compileRE2("[0-9]+x");
    expect(re.engine).toBe("js");
    const digits = "7".repeat(2_000_000);
    expect(re.test(digits + "x")).toBe(true);
    expect(re.test(digits + "y")).toBe(false);
    expect(re.exec(digits + "x")?.[0].length).toBe(2_000_001);
  });
});

/** Whether both engines agree on `test` and `exec` (groups included) for every input. */
function expectSameAnswers(pattern: string, inputs: readonly string[]): void {
  const auto = compileRE2(pattern, "auto");
  const linear = compileRE2(pattern, "re2" as EngineOption);
  for (const s of inputs) {
    expect({ pattern, s, test: auto.test(s) }).toEqual({ pattern, s, test: linear.test(s) });
    const a = auto.exec(s), b = linear.exec(s);
    expect({ pattern, s, exec: a && [...a], groups: a?.groups && { ...a.groups } }).toEqual({ pattern, s, exec: b && [...b], groups: b?.groups && { ...b.groups } });
  }
}

describe("fast paths and JS RegExp give the linear engine's answers", () => {
  const inputs = ["", "a", "foo", "bar", "foobar", "prefix", "prefix-x", "x-suffix", "suffix", "presuf", "pre-suf", "pre\nsuf", "a\nb", "\n", "FOO", "Foo",
    "fooo", "123", "12a", "api-xyz-123", "xfoox", "x\nfoo", "foo\n", "é", "αβγ", "\u212a", "K", "k", "ſ", "S", "😀", "a😀b", "A_1", "ab", "aab"];
  const patterns = [
    "foo", "foo|bar", "(foo|bar)", "^(?:foo|bar)$", "prefix.*", ".*suffix", "pre.*suf", "pre.+suf", ".*foo.*", ".+foo.*", ".*foo.+", ".*", ".+", "(?s).*", "(?s)pre.*suf",
    "(?s).*foo.*", "(?i)foo", "(?i)k", "(?i)s", "[0-9]+", "\\d+[a-z]?", "api-[a-z]+-[0-9]{3}", "https?://.*", "-?[0-9]+(\\.[0-9]{1,3})?", "-?[0-9]+\\.?[0-9]{0,3}", "a?b?c?d?", "(?i:f)oo", "\\pL+", "\\p{Greek}+", "[^a]", "(.*)", "(?P<x>a+)b?",
    "(a)(b)?", "a|", "()", "\\bfoo\\b", "(?m)^foo$", "a$|b", "[[:alpha:]]+", "\\Qfoo\\E", "\\Qa.(b\\E", "(?i)\\Qfoo\\E", "a)|(b", "(a)|b)|(c", "a|b|c|d|e|f|g|h|i|j", "😀", "a.b", "(?s)a.b", "(?U)a+", "a+?", ".*?foo", "x*", "[a\\n]+",
  ];
  for (const pattern of patterns) test(pattern, () => expectSameAnswers(pattern, inputs));

  test("random patterns over a small alphabet", () => {
    const random = seededRandom(8);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const atoms = ["a", "b", "A", ".", "[ab]", "[^a]", "\\n", "(?i:a)", "\\d", "x"];
    const quants = ["", "", "", "*", "+", "?", "{2}", "{1,3}", "*?"];
    const gen = (depth: number): string => {
      const parts: string[] = [];
      const len = 1 + Math.floor(random() * 3);
      for (let i = 0; i < len; i++) {
        const atom = depth > 0 && random() < 0.3 ? `(${gen(depth - 1)}${random() < 0.4 ? "|" + gen(depth - 1) : ""})` : pick(atoms);
        parts.push(atom + pick(quants));
      }
      return parts.join("");
    };
    const strings: string[] = [""];
    for (let i = 0; i < 40; i++) {
      let s = "";
      const len = Math.floor(random() * 7);
      for (let k = 0; k < len; k++) s += pick(["a", "b", "A", "\n", "1", "x"]);
      strings.push(s);
    }
    let checked = 0;
    for (let i = 0; i < 400; i++) {
      const pattern = (random() < 0.2 ? "(?s)" : "") + gen(2) + (random() < 0.2 ? "|" + gen(1) : "");
      try {
        compileRE2(pattern);
      } catch {
        continue; // e.g. nested repetition operators: refused alike (checked elsewhere)
      }
      expectSameAnswers(pattern, strings);
      checked++;
    }
    expect(checked).toBeGreaterThan(300);
  });

  test("unanchored search agrees with the linear engine", () => {
    const cases: [string, string][] = [["foo|bar", "xxbarfoo"], ["a[0-9]{3}", "a12a123"], ["😀", "a😀b😀"], ["(?i)k", "xK\u212a"], ["", "héllo"], ["^", "a\nb"], ["(?m)^", "a\nb"]];
    for (const [pattern, s] of cases) {
      const a = compileRE2Search(pattern, "auto"), b = compileRE2Search(pattern, "re2");
      for (let from = 0; from <= s.length; from += from < s.length ? String.fromCodePoint(s.codePointAt(from)!).length : 1) {
        const x = a.find(s, from), y = b.find(s, from);
        expect({ pattern, from, m: x && [...x], i: x?.index }).toEqual({ pattern, from, m: y && [...y], i: y?.index });
      }
    }
  });
});
