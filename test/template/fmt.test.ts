import { describe, expect, test } from "bun:test";
import { formatFloat, formatPlain, quote, sprint, sprintf, sprintln } from "../../src/template/index.ts";

describe("formatFloat (strconv.FormatFloat)", () => {
  const cases: [number, "e" | "E" | "f" | "g" | "G", number, string][] = [
    [0, "g", -1, "0"],
    [1, "g", -1, "1"],
    [100000, "g", -1, "100000"],
    [1e6, "g", -1, "1e+06"],
    [1234567, "g", -1, "1.234567e+06"],
    [0.0001, "g", -1, "0.0001"],
    [0.00001, "g", -1, "1e-05"],
    [1e21, "g", -1, "1e+21"],
    [5e-324, "g", -1, "5e-324"],
    [1.7976931348623157e308, "g", -1, "1.7976931348623157e+308"],
    [-0, "g", -1, "-0"],
    [0, "g", 4, "0"],
    [1234.5678, "g", 4, "1235"],
    [100000, "g", 4, "1e+05"],
    [0.001234, "g", 4, "0.001234"],
    [123.45, "g", 4, "123.5"],
    [1.2345, "g", 4, "1.234"],
    [9.9999, "g", 4, "10"],
    [0.5, "f", 0, "0"],
    [1.5, "f", 0, "2"],
    [2.5, "f", 0, "2"],
    [1.005, "f", 2, "1.00"],
    [123456789.125, "f", 2, "123456789.12"],
    [1e22, "f", 0, "10000000000000000000000"],
    [0.1, "f", 20, "0.10000000000000000555"],
    [1234.5678, "e", 2, "1.23e+03"],
    [0, "e", 3, "0.000e+00"],
    [1e-300, "E", 1, "1.0E-300"],
    [0.1, "f", -1, "0.1"],
    [NaN, "g", -1, "NaN"],
    [Infinity, "f", 2, "+Inf"],
    [-Infinity, "e", 2, "-Inf"],
  ];
  for (const [v, fmt, prec, want] of cases) test(`${v} ${fmt} ${prec} → ${want}`, () => expect(formatFloat(v, fmt, prec)).toBe(want));
});

describe("Sprint family", () => {
  test("sprint spaces only between non-strings", () => {
    expect(sprint([1n, 2n, "a", "b", 3.5, true])).toBe("1 2ab3.5 true");
    expect(sprintln(["a", 1n])).toBe("a 1\n");
  });
  test("composite values", () => {
    expect(formatPlain([1n, "a", [2.5]])).toBe("[1 a [2.5]]");
    expect(formatPlain(new Map<unknown, unknown>([[2n, "b"], [1n, "a"]]))).toBe("map[1:a 2:b]");
    expect(formatPlain(null)).toBe("<nil>");
  });
  test("quote uses Go escapes", () => {
    expect(quote('a"b\\\n\t\x01é\u200b')).toBe('"a\\"b\\\\\\n\\t\\x01é\\u200b"');
  });
  test("sprintf flags on strings and bytes", () => {
    expect(sprintf("%q|%x|% x|%#x", ["é", "é", "ab", "ab"])).toBe('"é"|c3a9|61 62|0x6162');
    expect(sprintf("%8.3f|%-8.2e|%+g", [Math.PI, 12345.678, 2.5])).toBe("   3.142|1.23e+04|+2.5");
    expect(sprintf("%.3d|%x|%X|%o", [7n, -255n, 3054n, 64n])).toBe("007|-ff|BEE|100");
  });
});
