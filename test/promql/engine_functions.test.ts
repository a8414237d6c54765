import { expect, test } from "bun:test";
import { labelsFromRecord } from "../../src/model/index.ts";
import { ratioOffset } from "../../src/promql/aggregations.ts";
import {
  bucketFraction,
  bucketQuantile,
  DATE_FUNCTIONS,
  formatFloatG,
  formatFloatPlain,
  formatOpenMetricsFloat,
  naturalCompare,
  parseGoFloat,
} from "../../src/promql/functions.ts";
import { quantileOf } from "../../src/promql/kernels.ts";

test("limit_ratio offsets lie in [0, 1] and differ between label sets", () => {
  const a = ratioOffset(labelsFromRecord({ __name__: "x", i: "1" }));
  const b = ratioOffset(labelsFromRecord({ __name__: "x", i: "2" }));
  for (const o of [a, b]) {
    expect(o).toBeGreaterThanOrEqual(0);
    expect(o).toBeLessThanOrEqual(1);
  }
  expect(a).not.toBe(b);
});

test("float formatting follows Go", () => {
  expect(formatFloatPlain(1e21)).toBe("1000000000000000000000");
  expect(formatFloatPlain(1.5e-7)).toBe("0.00000015");
  expect(formatFloatPlain(-Infinity)).toBe("-Inf");
  expect(formatFloatG(1e21)).toBe("1e+21");
  expect(formatFloatG(1234567)).toBe("1.234567e+06");
  expect(formatFloatG(100000)).toBe("100000");
  expect(formatFloatG(0.00001)).toBe("1e-05");
  expect(formatFloatG(-1.1)).toBe("-1.1");
  expect(formatOpenMetricsFloat(1)).toBe("1.0");
  expect(formatOpenMetricsFloat(0.25)).toBe("0.25");
});

test("parseGoFloat accepts Go spellings and rejects junk", () => {
  expect(parseGoFloat("+Inf")).toBe(Infinity);
  expect(parseGoFloat("0.5")).toBe(0.5);
  expect(parseGoFloat("1e3")).toBe(1000);
  expect(parseGoFloat("")).toBeNull();
  expect(parseGoFloat("Hello World")).toBeNull();
});

test("natural order compares digit runs as numbers", () => {
  expect(naturalCompare("a2", "a10")).toBeLessThan(0);
  expect(naturalCompare("a10", "a2")).toBeGreaterThan(0);
  expect(naturalCompare("b", "a")).toBeGreaterThan(0);
});

test("quantile interpolates between closest ranks", () => {
  expect(quantileOf(0.5, [1, 2, 3, 4])).toBe(2.5);
  expect(quantileOf(-1, [1])).toBe(-Infinity);
  expect(Number.isNaN(quantileOf(0.5, []))).toBe(true);
});

test("bucketQuantile interpolates and reports forced monotonicity", () => {
  const r = bucketQuantile(0.5, [
    { upperBound: 1, count: 10 },
    { upperBound: 2, count: 20 },
    { upperBound: Infinity, count: 20 },
  ]);
  expect(r.value).toBe(1);
  expect(r.forcedMonotonicity).toBe(false);
  const forced = bucketQuantile(0.5, [
    { upperBound: 1, count: 10 },
    { upperBound: 2, count: 5 },
    { upperBound: Infinity, count: 20 },
  ]);
  expect(forced.forcedMonotonicity).toBe(true);
  expect(Number.isNaN(bucketQuantile(0.5, [{ upperBound: 1, count: 1 }]).value)).toBe(true);
});

test("bucketFraction never interpolates inside infinite buckets", () => {
  const buckets = () => [
    { upperBound: 1, count: 1 },
    { upperBound: 2, count: 3 },
    { upperBound: 3, count: 6 },
    { upperBound: Infinity, count: 100 },
  ];
  expect(bucketFraction(2, 5, buckets())).toBeCloseTo(0.03, 12);
  expect(bucketFraction(0.5, 2, buckets())).toBeCloseTo(0.025, 12);
  expect(bucketFraction(400, Infinity, buckets())).toBeCloseTo(0.94, 12);
});

test("date functions use UTC", () => {
  const t = Date.UTC(2024, 1, 29, 13, 45) / 1000;
  expect(DATE_FUNCTIONS.days_in_month!(t)).toBe(29);
  expect(DATE_FUNCTIONS.day_of_year!(t)).toBe(60);
  expect(DATE_FUNCTIONS.hour!(t)).toBe(13);
  expect(DATE_FUNCTIONS.day_of_week!(t)).toBe(4);
});
