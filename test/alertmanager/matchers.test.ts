import { describe, expect, test } from "bun:test";
import { formatMatchers, matchesAll, parseMatcher, parseMatchers } from "../../src/alertmanager/index.ts";
import { labelsFromRecord } from "../../src/model/index.ts";

describe("parseMatchers", () => {
  test("quoted, unquoted and regex forms", () => {
    const ms = parseMatchers('foo="bar", baz=~"a|b", qux!=quux , n!~"x.*"');
    expect(ms.map((m) => [m.name, m.type, m.value])).toEqual([
      ["foo", "=", "bar"], ["baz", "=~", "a|b"], ["qux", "!=", "quux"], ["n", "!~", "x.*"],
    ]);
  });

  test("brace list form and escapes inside quotes", () => {
    const ms = parseMatchers('{a="x,y", b="say \\"hi\\""}');
    expect(ms.map((m) => m.value)).toEqual(["x,y", 'say "hi"']);
  });

  test("empty value and trailing comma", () => {
    expect(parseMatchers('a="",').map((m) => [m.name, m.value])).toEqual([["a", ""]]);
  });

  test("regexes are anchored", () => {
    const m = parseMatcher('job=~"node"');
    expect(m.matches("node")).toBe(true);
    expect(m.matches("node_exporter")).toBe(false);
  });

  test("bad input names the problem", () => {
    expect(() => parseMatchers("{a=b")).toThrow('missing closing "}"');
    expect(() => parseMatchers("a b")).toThrow("expected one of =, !=, =~, !~");
    expect(() => parseMatchers('a="b')).toThrow("missing closing quote");
    expect(() => parseMatchers('a=~"("')).toThrow('invalid regular expression "(" for a');
    expect(() => parseMatcher("a=b,c=d")).toThrow("expected one matcher");
  });

  test("matchesAll treats missing labels as empty", () => {
    const ls = labelsFromRecord({ a: "1" });
    expect(matchesAll(parseMatchers('a="1", b=""'), ls)).toBe(true);
    expect(matchesAll(parseMatchers('a="1", b!=""'), ls)).toBe(false);
  });

  test("formatMatchers renders Alertmanager's route-key form", () => {
    expect(formatMatchers(parseMatchers('a=b, c=~"d|e"'))).toBe('{a="b",c=~"d|e"}');
    expect(formatMatchers([])).toBe("{}");
  });
});
