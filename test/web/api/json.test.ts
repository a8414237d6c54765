import { describe, expect, test } from "bun:test";
import { labelsFromRecord } from "../../../src/model/index.ts";
import { formatGoFloatE, formatGoFloatF, formatSampleValue, formatTimestamp, goJSON, jsonString, labelsJSON, queryDataJSON } from "../../../src/web/api/json.ts";

describe("formatGoFloatF matches Go's FormatFloat(v, 'f', -1, 64)", () => {
  const cases: [number, string][] = [
    [0, "0"],
    [-0, "-0"],
    [1, "1"],
    [1.5, "1.5"],
    [-2.25, "-2.25"],
    [1e21, "1000000000000000000000"],
    [1.2345e25, "12345000000000000000000000"],
    [1e-7, "0.0000001"],
    [-1.5e-10, "-0.00000000015"],
    [123456789.123, "123456789.123"],
    [0.1 + 0.2, "0.30000000000000004"],
    [Number.MAX_VALUE, "17976931348623157" + "0".repeat(292)],
    [5e-324, "0." + "0".repeat(323) + "5"],
    [NaN, "NaN"],
    [Infinity, "+Inf"],
    [-Infinity, "-Inf"],
  ];
  for (const [v, want] of cases) test(`${v} → ${want.length > 30 ? want.slice(0, 30) + "…" : want}`, () => expect(formatGoFloatF(v)).toBe(want));
});

describe("formatGoFloatE matches Go's FormatFloat(v, 'e', -1, 64)", () => {
  const cases: [number, string][] = [
    [0, "0e+00"],
    [1, "1e+00"],
    [1e21, "1e+21"],
    [-2.5e-7, "-2.5e-07"],
    [1e100, "1e+100"],
    [5e-324, "5e-324"],
    [NaN, "NaN"],
  ];
  for (const [v, want] of cases) test(`${v} → ${want}`, () => expect(formatGoFloatE(v)).toBe(want));
});

describe("formatSampleValue matches Prometheus's jsonutil.MarshalFloat", () => {
  const cases: [number, string][] = [
    [0, "0"],
    [-0, "-0"],
    [1.5, "1.5"],
    [1e-6, "0.000001"],
    [9.99e-7, "9.99e-07"],
    [1e-7, "1e-07"],
    [3.5629999999999995e-8, "3.5629999999999995e-08"],
    [999000000000000000000, "999000000000000000000"],
    [1e21, "1e+21"],
    [-1.2345e25, "-1.2345e+25"],
    [Number.MAX_VALUE, "1.7976931348623157e+308"],
    [123456789.123, "123456789.123"],
    [Infinity, "+Inf"],
    [-Infinity, "-Inf"],
    [NaN, "NaN"],
  ];
  for (const [v, want] of cases) test(`${v} → ${want}`, () => expect(formatSampleValue(v)).toBe(want));
});

describe("formatTimestamp", () => {
  const cases: [number, string][] = [
    [0, "0"],
    [1000, "1"],
    [1500, "1.500"],
    [1700000000123, "1700000000.123"],
    [1700000000005, "1700000000.005"],
    [1700000000050, "1700000000.050"],
    [-1500, "-1.500"],
    [-1, "-0.001"],
  ];
  for (const [t, want] of cases) test(`${t} → ${want}`, () => expect(formatTimestamp(t)).toBe(want));
});

describe("JSON escaping like Go", () => {
  test("HTML-unsafe characters and line separators are \\u escaped", () => {
    expect(jsonString('a<b>&"c"\u2028')).toBe('"a\\u003cb\\u003e\\u0026\\"c\\"\\u2028"');
    expect(goJSON({ k: ["<"] })).toBe('{"k":["\\u003c"]}');
  });
  test("labels render as an object in label order", () => {
    expect(labelsJSON(labelsFromRecord({ job: "a", __name__: "up", le: "+Inf" }))).toBe('{"__name__":"up","job":"a","le":"+Inf"}');
    expect(labelsJSON([])).toBe("{}");
  });
});

describe("queryDataJSON", () => {
  const metric = labelsFromRecord({ __name__: "x", a: "1" });
  test("scalar", () => expect(queryDataJSON({ type: "scalar", t: 1000, v: 1e21 })).toBe('{"resultType":"scalar","result":[1,"1000000000000000000000"]}'));
  test("scalar timestamps are plain floats, not three-digit milliseconds", () => {
    expect(queryDataJSON({ type: "scalar", t: 1500, v: 1e-7 })).toBe('{"resultType":"scalar","result":[1.5,"0.0000001"]}');
  });
  test("string", () => expect(queryDataJSON({ type: "string", t: 1001, v: "hi" })).toBe('{"resultType":"string","result":[1.001,"hi"]}'));
  test("vector", () => {
    const json = queryDataJSON({ type: "vector", samples: [{ metric, t: 2500, v: NaN }, { metric: [], t: 2500, v: 1e21 }] });
    expect(json).toBe('{"resultType":"vector","result":[{"metric":{"__name__":"x","a":"1"},"value":[2.500,"NaN"]},{"metric":{},"value":[2.500,"1e+21"]}]}');
    expect(JSON.parse(json).data).toBeUndefined();
  });
  test("matrix", () => {
    const json = queryDataJSON({ type: "matrix", series: [{ metric, t: [0, 15000], v: [1, 2.5] }] });
    expect(json).toBe('{"resultType":"matrix","result":[{"metric":{"__name__":"x","a":"1"},"values":[[0,"1"],[15,"2.5"]]}]}');
  });
  test("empty results are empty arrays", () => {
    expect(queryDataJSON({ type: "vector", samples: [] })).toBe('{"resultType":"vector","result":[]}');
    expect(queryDataJSON({ type: "matrix", series: [] })).toBe('{"resultType":"matrix","result":[]}');
  });
});
