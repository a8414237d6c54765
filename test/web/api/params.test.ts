import { describe, expect, test } from "bun:test";
import { MAX_TIME, MIN_TIME } from "../../../src/tsdb/index.ts";
import {
  matchersParam,
  MAX_TIME_FORMATTED,
  MIN_TIME_FORMATTED,
  parseDurationParam,
  parseGoFloat,
  parseMetricSelector,
  parseTime,
  readForm,
} from "../../../src/web/api/params.ts";

describe("parseTime", () => {
  const ok: [string, number][] = [
    ["0", 0],
    ["1700000000", 1700000000000],
    ["1700000000.123", 1700000000123],
    ["1700000000.1234", 1700000000123],
    ["1700000000.1235", 1700000000124],
    ["0.0005", 1],
    ["-0.0005", -1],
    ["-1.5", -1500],
    ["1e3", 1000000],
    ["+5", 5000],
    [".5", 500],
    ["2015-07-01T20:10:51.781Z", 1435781451781],
    ["2015-07-01T20:10:51Z", 1435781451000],
    ["2015-07-01T20:10:51.7819999Z", 1435781451781],
    ["2015-07-01T22:10:51+02:00", 1435781451000],
    ["2015-07-01T15:10:51-05:00", 1435781451000],
    ["2024-02-29T00:00:00Z", 1709164800000],
    [MIN_TIME_FORMATTED, MIN_TIME],
    [MAX_TIME_FORMATTED, MAX_TIME],
    ["1e300", MAX_TIME],
  ];
  for (const [s, want] of ok) test(`${s} → ${want}`, () => expect(parseTime(s)).toBe(want));
  const bad = ["", "abc", "0x10", "2015-07-01", "2015-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "2015-07-01T25:00:00Z", "2015-07-01 20:10:51Z", "Inf", "NaN", " 1"];
  for (const s of bad) {
    test(`rejects ${JSON.stringify(s)}`, () => expect(() => parseTime(s)).toThrow(`cannot parse ${JSON.stringify(s)} to a valid timestamp`));
  }
});

describe("parseDurationParam", () => {
  const ok: [string, number][] = [
    ["15", 15000],
    ["0.5", 500],
    ["1.5e1", 15000],
    ["0", 0],
    ["-1", -1000],
    ["30s", 30000],
    ["1m30s", 90000],
    ["1h", 3600000],
    ["100ms", 100],
    ["1d", 86400000],
  ];
  for (const [s, want] of ok) test(`${s} → ${want}`, () => expect(parseDurationParam(s)).toBe(want));
  test("rejects garbage", () => expect(() => parseDurationParam("1x")).toThrow('cannot parse "1x" to a valid duration'));
  test("rejects an empty string", () => expect(() => parseDurationParam("")).toThrow('cannot parse "" to a valid duration'));
  test("rejects overflow", () => expect(() => parseDurationParam("1e20")).toThrow('cannot parse "1e20" to a valid duration. It overflows int64'));
});

describe("parseGoFloat", () => {
  test("accepts Go float spellings and rejects others", () => {
    expect(parseGoFloat("+Inf")).toBe(Infinity);
    expect(parseGoFloat("-infinity")).toBe(-Infinity);
    expect(parseGoFloat("NaN")).toBeNaN();
    expect(parseGoFloat("1.")).toBe(1);
    expect(parseGoFloat("")).toBeNull();
    expect(parseGoFloat("0x1")).toBeNull();
    expect(parseGoFloat("1_000")).toBeNull();
  });
});

describe("selectors", () => {
  test("parseMetricSelector returns all matchers including the name", () => {
    const ms = parseMetricSelector('up{job=~"a|b"}');
    expect(ms.map((m) => `${m.name}${m.type}${m.value}`).sort()).toEqual(["__name__=up", "job=~a|b"]);
  });
  test("parseMetricSelector rejects non-selectors", () => {
    expect(() => parseMetricSelector("sum(up)")).toThrow("parse error");
    expect(() => parseMetricSelector("up offset 5m")).toThrow("parse error");
    expect(() => parseMetricSelector("up{")).toThrow("parse error");
  });
  test("matchersParam requires a non-empty matcher", () => {
    expect(() => matchersParam(['{job=~".*"}'])).toThrow('invalid parameter "match[]": 1:1: parse error: vector selector must contain at least one non-empty matcher');
    expect(matchersParam(["up", '{job="a"}'])).toHaveLength(2);
  });
});

describe("readForm", () => {
  test("GET reads the URL query, repeated keys in order", async () => {
    const form = await readForm(new Request("http://x/api?match[]=a&match[]=b&q=1"));
    expect(form.getAll("match[]")).toEqual(["a", "b"]);
    expect(form.get("q")).toBe("1");
    expect(form.get("none")).toBe("");
  });
  test("POST urlencoded body values come before URL values", async () => {
    const req = new Request("http://x/api?query=url&x=1", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" },
      body: "query=sum%28up%29+by+%28job%29&query=second",
    });
    const form = await readForm(req);
    expect(form.get("query")).toBe("sum(up) by (job)");
    expect(form.getAll("query")).toEqual(["sum(up) by (job)", "second", "url"]);
    expect(form.get("x")).toBe("1");
  });
  test("POST multipart bodies are read", async () => {
    const body = new FormData();
    body.set("query", "up");
    const form = await readForm(new Request("http://x/api", { method: "POST", body }));
    expect(form.get("query")).toBe("up");
  });
  test("a POST body of another type is ignored", async () => {
    const req = new Request("http://x/api?query=a", { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"query":"b"}' });
    expect((await readForm(req)).get("query")).toBe("a");
  });
  test("oversized bodies are rejected", async () => {
    const req = new Request("http://x/api", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "query=" + "a".repeat(10 << 20),
    });
    await expect(readForm(req)).rejects.toThrow("error parsing form values: http: POST too large");
  });
});
