import { describe, expect, test } from "bun:test";
import { formatGoFloat, formatGoFloatE, formatGoFloatF, formatGoFloatG } from "../../src/base/index.ts";
import { formatFloat as printerFloat } from "../../src/promql/index.ts";
import { formatGoExp } from "../../src/rules/index.ts";
import { formatSampleValue } from "../../src/web/api/index.ts";

// Expected strings are what Go 1.20's strconv.FormatFloat(v, fmt, prec, 64) returns.
describe("formatGoFloat (strconv.FormatFloat)", () => {
  test("negative zero keeps its sign in every form, as Go prints it", () => {
    expect(formatGoFloatE(-0)).toBe("-0e+00");
    expect(formatGoFloatE(0)).toBe("0e+00");
    expect(formatGoFloatF(-0)).toBe("-0");
    expect(formatGoFloatG(-0)).toBe("-0");
    expect(formatGoFloat(-0, "f", 2)).toBe("-0.00");
  });

  test("shortest forms", () => {
    const cases: [number, string, string, string][] = [
      // v, 'e', 'f', 'g'
      [1, "1e+00", "1", "1"],
      [0.5, "5e-01", "0.5", "0.5"],
      [1e6, "1e+06", "1000000", "1e+06"],
      [100000, "1e+05", "100000", "100000"],
      [123456789, "1.23456789e+08", "123456789", "1.23456789e+08"],
      [0.0001, "1e-04", "0.0001", "0.0001"],
      [0.00001, "1e-05", "0.00001", "1e-05"],
      [1e-7, "1e-07", "0.0000001", "1e-07"],
      [1e21, "1e+21", "1000000000000000000000", "1e+21"],
      [-3.5e-8, "-3.5e-08", "-0.000000035", "-3.5e-08"],
      [5e-324, "5e-324", `0.${"0".repeat(323)}5`, "5e-324"],
      [1.7976931348623157e308, "1.7976931348623157e+308", `17976931348623157${"0".repeat(292)}`, "1.7976931348623157e+308"],
    ];
    for (const [v, e, f, g] of cases) {
      expect([formatGoFloatE(v), formatGoFloatF(v), formatGoFloatG(v)]).toEqual([e, f, g]);
      expect([formatGoFloat(v, "e", -1), formatGoFloat(v, "f", -1), formatGoFloat(v, "g", -1)]).toEqual([e, f, g]);
    }
  });

  test("special values", () => {
    for (const fmt of ["e", "f", "g"] as const) {
      expect(formatGoFloat(NaN, fmt, -1)).toBe("NaN");
      expect(formatGoFloat(Infinity, fmt, 3)).toBe("+Inf");
      expect(formatGoFloat(-Infinity, fmt, -1)).toBe("-Inf");
    }
  });

  test("fixed precision rounds the exact binary value half to even", () => {
    expect(formatGoFloat(2.5, "f", 0)).toBe("2");
    expect(formatGoFloat(3.5, "f", 0)).toBe("4");
    expect(formatGoFloat(1234.5678, "g", 4)).toBe("1235");
    expect(formatGoFloat(0.1, "f", 20)).toBe("0.10000000000000000555");
    expect(formatGoFloat(1234567, "E", 2)).toBe("1.23E+06");
  });

  test("the rooms that print Go floats all use it and agree", () => {
    for (const v of [-0, 0, 1, -2.5, 1e-7, 1e21, 123456789, NaN, -Infinity]) {
      expect(formatGoExp(v)).toBe(formatGoFloatE(v));
      expect(printerFloat(v)).toBe(formatGoFloatG(v));
    }
    expect(formatSampleValue(-0)).toBe("-0");
    expect(formatSampleValue(1e-7)).toBe("1e-07");
    expect(formatSampleValue(1e21)).toBe("1e+21");
  });
});
