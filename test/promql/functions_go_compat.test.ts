import { describe, expect, test } from "bun:test";
import { DATE_FUNCTIONS, SIMPLE_FUNCTIONS } from "../../src/promql/functions.ts";
import { aggregate } from "../../src/promql/aggregations.ts";

// Expected values are what Prometheus 2.42 (Go, amd64) answers for
// `f(vector(x))`, found by the differential fuzz test.
describe("date functions follow Go's time.Unix(int64(x), 0)", () => {
  test("ordinary times", () => {
    expect(DATE_FUNCTIONS.year!(1700000000.9)).toBe(2023);
    expect(DATE_FUNCTIONS.month!(1700000000)).toBe(11);
    expect(DATE_FUNCTIONS.day_of_week!(-1)).toBe(3);
    expect(DATE_FUNCTIONS.days_in_month!(951782400)).toBe(29); // 2000-02-29
  });

  test("NaN and ±Inf become the minimum int64, which Go's calendar wraps to 2^63 s", () => {
    for (const x of [NaN, Infinity, -Infinity, 9.3e18]) {
      expect(DATE_FUNCTIONS.year!(x)).toBe(292277026596);
      expect(DATE_FUNCTIONS.month!(x)).toBe(12);
      expect(DATE_FUNCTIONS.day_of_month!(x)).toBe(4);
      expect(DATE_FUNCTIONS.hour!(x)).toBe(15);
      expect(DATE_FUNCTIONS.minute!(x)).toBe(30);
      expect(DATE_FUNCTIONS.days_in_month!(x)).toBe(31);
    }
  });

  test("times beyond the JS date range keep counting 400-year cycles", () => {
    expect(DATE_FUNCTIONS.year!(-1e15)).toBe(-31686769);
    expect(DATE_FUNCTIONS.day_of_year!(-1e15)).toBe(180);
    expect(DATE_FUNCTIONS.year!(1e15)).toBe(31690708);
    expect(DATE_FUNCTIONS.day_of_week!(1e15)).toBe(0);
  });
});

describe("hyperbolic functions overflow as Go's", () => {
  test("cosh and sinh are exp(|x|)/2 beyond 21, so they reach ±Inf where Go's do", () => {
    expect(SIMPLE_FUNCTIONS.cosh!(710)).toBe(Infinity);
    expect(SIMPLE_FUNCTIONS.sinh!(-710)).toBe(-Infinity);
    expect(SIMPLE_FUNCTIONS.cosh!(-30)).toBeCloseTo(Math.cosh(30), -5);
    expect(SIMPLE_FUNCTIONS.sinh!(0.25)).toBe(Math.sinh(0.25));
    // Prometheus answers acos(cosh(vector(1.4933e-8))) with 0; Math.cosh rounds above 1 there (acos would be NaN).
    expect(SIMPLE_FUNCTIONS.cosh!(1.4933e-8)).toBe(1);
    expect(SIMPLE_FUNCTIONS.acos!(SIMPLE_FUNCTIONS.cosh!(-1.4933e-8))).toBe(0);
  });
});

describe("count_values", () => {
  const metric = (instance: string) => [{ name: "instance", value: instance }, { name: "job", value: "api" }];
  const input = [
    { metric: metric("a"), f: 2, t: 0, dropName: false },
    { metric: metric("b"), f: 2, t: 0, dropName: false },
  ];
  test("without listing the value label drops it, as Prometheus does", () => {
    const out = aggregate("count_values", input, { grouping: ["job"], without: true, param: NaN, stringParam: "job", instant: true });
    expect(out.map((s) => [s.metric, s.f])).toEqual([[[{ name: "instance", value: "a" }], 1], [[{ name: "instance", value: "b" }], 1]]);
  });
  test("by keeps the value label", () => {
    const out = aggregate("count_values", input, { grouping: [], without: false, param: NaN, stringParam: "job", instant: true });
    expect(out.map((s) => [s.metric, s.f])).toEqual([[[{ name: "job", value: "2" }], 2]]);
  });
});
