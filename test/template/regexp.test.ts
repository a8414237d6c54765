import { describe, expect, test } from "bun:test";
import { matchString, quoteMeta, replaceAllString } from "../../src/template/index.ts";

describe("Go regexp semantics", () => {
  const replaces: [string, string, string, string][] = [
    ["a*", "-", "baaac", "-b-c-"],
    ["", "-", "héllo", "-h-é-l-l-o-"],
    ["(?i)HELLO", "bye", "say Hello", "say bye"],
    ["(\\w+)@(\\w+)", "$2 at $1", "me@host you@there", "host at me there at you"],
    ["(?P<first>\\w+) (?P<last>\\w+)", "${last}, ${first}", "Ada Lovelace", "Lovelace, Ada"],
    ["x", "$$1", "x", "$1"],
    ["(x)", "${1", "x", "${1"],
    ["(x)", "$9", "x", ""],
    ["^", ">", "a\nb", ">a\nb"],
    ["(?m)^", ">", "a\nb", ">a\n>b"],
    ["😀", "smile", "a😀b", "asmileb"],
  ];
  for (const [pattern, repl, src, want] of replaces) {
    test(`replace ${pattern} with ${repl} in ${JSON.stringify(src)}`, () => expect(replaceAllString(pattern, repl, src)).toBe(want));
  }

  test("matching is unanchored and `.` stops at newlines", () => {
    expect(matchString("b", "abc")).toBe(true);
    expect(matchString("^b", "abc")).toBe(false);
    expect(matchString("a.c", "a\nc")).toBe(false);
    expect(matchString("\\d{3}", "ab1234")).toBe(true);
  });

  test("RE2 rejects what Go rejects", () => {
    expect(() => matchString("a(?=b)", "ab")).toThrow("error parsing regexp: invalid or unsupported Perl syntax: `(?=`");
    expect(() => replaceAllString("a{2,1}", "", "")).toThrow("regexp: Compile(`a{2,1}`): error parsing regexp: invalid repeat count: `{2,1}`");
  });

  test("quoteMeta escapes metacharacters", () => {
    expect(quoteMeta("team.a (b)+[c]")).toBe("team\\.a \\(b\\)\\+\\[c\\]");
    expect(matchString(quoteMeta("a.b*"), "xa.b*y")).toBe(true);
  });
});
