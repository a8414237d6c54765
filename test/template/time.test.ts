import { describe, expect, test } from "bun:test";
import { GoDuration, GoTime } from "../../src/template/index.ts";

describe("GoTime", () => {
  const t = GoTime.fromUnixMillis(Date.UTC(2015, 5, 23, 13, 19, 44, 128));
  const layouts: [string, string][] = [
    ["2006-01-02 15:04:05.999999999 -0700 MST", "2015-06-23 13:19:44.128 +0000 UTC"],
    ["2006-01-02T15:04:05Z07:00", "2015-06-23T13:19:44Z"],
    ["2006-01-02T15:04:05.000000-07:00", "2015-06-23T13:19:44.128000+00:00"],
    ["Mon, 02 Jan 2006 15:04:05 MST", "Tue, 23 Jun 2015 13:19:44 UTC"],
    ["Monday January 2 06 3:4:5 PM pm", "Tuesday June 23 15 1:19:44 PM pm"],
    ["_2 __2 002 .99 ,000", "23 174 174 .12 ,128"],
    ["Jan Janet", "Jun Janet"],
  ];
  for (const [layout, want] of layouts) test(layout, () => expect(t.Format(layout)).toBe(want));

  test("zones from the IANA database", () => {
    expect(t.In("Europe/Paris").String()).toBe("2015-06-23 15:19:44.128 +0200 CEST");
    expect(t.In("America/New_York").Format("2006-01-02 15:04 -07:00 MST")).toBe("2015-06-23 09:19 -04:00 EDT");
    expect(t.In("Asia/Kolkata").Format("15:04 -0700")).toBe("18:49 +0530");
    expect(() => t.In("No/Where")).toThrow("unknown time zone No/Where");
  });

  test("arithmetic and accessors", () => {
    const later = t.Add(new GoDuration(1_500_000_000n));
    expect(later.Sub(t).String()).toBe("1.5s");
    expect(later.After(t) && t.Before(later) && !t.Equal(later)).toBe(true);
    expect(t.Unix()).toBe(1435065584n);
    expect(t.UnixMilli()).toBe(1435065584128n);
    expect(GoTime.fromUnixMillis(-1).Unix()).toBe(-1n);
  });
});

describe("GoDuration", () => {
  const cases: [bigint, string][] = [
    [0n, "0s"],
    [1n, "1ns"],
    [1_100n, "1.1µs"],
    [2_200_000n, "2.2ms"],
    [3_300_000_000n, "3.3s"],
    [60_000_000_000n, "1m0s"],
    [4_000_000_000_000n, "1h6m40s"],
    [-5_000_000_000n, "-5s"],
    [90_061_000_000_000n, "25h1m1s"],
  ];
  for (const [ns, want] of cases) test(`${ns}ns → ${want}`, () => expect(new GoDuration(ns).String()).toBe(want));

  test("conversions", () => {
    const d = GoDuration.fromSeconds(5400.5);
    expect(d.Hours()).toBeCloseTo(1.500138, 5);
    expect(d.Minutes()).toBeCloseTo(90.008333, 5);
    expect(d.Milliseconds()).toBe(5400500n);
  });
});
