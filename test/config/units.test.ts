import { describe, expect, test } from "bun:test";
import { formatDuration, formatSize, parseDuration, parseSize } from "../../src/config/index.ts";

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe("parseDuration", () => {
  const valid: [string, number][] = [
    ["0", 0],
    ["0s", 0],
    ["1ms", 1],
    ["324ms", 324],
    ["3s", 3 * S],
    ["5m", 5 * M],
    ["1h", H],
    ["1h30m", H + 30 * M],
    ["1d12h", D + 12 * H],
    ["2w", 14 * D],
    ["1y", 365 * D],
    ["1y2w3d4h5m6s7ms", 365 * D + 14 * D + 3 * D + 4 * H + 5 * M + 6 * S + 7],
    ["90d", 90 * D],
    ["120s", 120 * S],
  ];
  for (const [text, ms] of valid) {
    test(`accepts ${text}`, () => expect(parseDuration(text)).toBe(ms));
  }

  const invalid = ["", "1", "1.5h", "-1s", "1 s", "1S", "s", "1m1h", "1s1s", "1sms", "1x", "h1", "1h ", " 1h", "1µs", "1ns"];
  for (const text of invalid) {
    test(`rejects ${JSON.stringify(text)}`, () => {
      const expected = text === "" ? "empty duration string" : `not a valid duration string: ${JSON.stringify(text)}`;
      expect(() => parseDuration(text)).toThrow(expected);
    });
  }

  test("rejects durations an int64 of nanoseconds cannot hold", () => {
    expect(() => parseDuration("300y")).toThrow("duration out of range");
    expect(parseDuration("292y")).toBe(292 * 365 * D);
  });
});

describe("formatDuration", () => {
  const table: [number, string][] = [
    [0, "0s"],
    [1, "1ms"],
    [1500, "1s500ms"],
    [5 * M, "5m"],
    [H + 30 * M, "1h30m"],
    [D, "1d"],
    [7 * D, "1w"],
    [14 * D, "2w"],
    [90 * D, "90d"],
    [365 * D, "1y"],
    [366 * D, "366d"],
    [D + 2 * H + 3 * S, "1d2h3s"],
  ];
  for (const [ms, text] of table) {
    test(`${ms} → ${text}`, () => {
      expect(formatDuration(ms)).toBe(text);
      expect(parseDuration(text)).toBe(ms);
    });
  }
});

describe("parseSize", () => {
  const valid: [string, number][] = [
    ["0", 0],
    ["0B", 0],
    ["100B", 100],
    ["1KB", 1024],
    ["1KiB", 1024],
    ["512MB", 512 * 1024 ** 2],
    ["1GB", 1024 ** 3],
    ["1GiB", 1024 ** 3],
    ["2TB", 2 * 1024 ** 4],
    ["1PB", 1024 ** 5],
    ["1.5KB", 1536],
    ["1GB512MB", 1024 ** 3 + 512 * 1024 ** 2],
  ];
  for (const [text, bytes] of valid) {
    test(`accepts ${text}`, () => expect(parseSize(text)).toBe(bytes));
  }

  const invalid: [string, string][] = [
    ["", "units: invalid "],
    ["512", "units: unknown unit  in 512"],
    ["1mb", "units: unknown unit mb in 1mb"],
    ["1XB", "units: unknown unit XB in 1XB"],
    ["MB", "units: invalid MB"],
    ["1 MB", "units: unknown unit  MB in 1 MB"],
  ];
  for (const [text, message] of invalid) {
    test(`rejects ${JSON.stringify(text)}`, () => expect(() => parseSize(text)).toThrow(message));
  }
});

describe("formatSize", () => {
  const table: [number, string][] = [
    [0, "0B"],
    [100, "100B"],
    [1024, "1KiB"],
    [1536, "1KiB512B"],
    [512 * 1024 ** 2, "512MiB"],
    [1024 ** 3, "1GiB"],
  ];
  for (const [bytes, text] of table) {
    test(`${bytes} → ${text}`, () => {
      expect(formatSize(bytes)).toBe(text);
      expect(parseSize(text)).toBe(bytes);
    });
  }
});
