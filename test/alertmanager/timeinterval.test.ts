import { describe, expect, test } from "bun:test";
import { parseTimeInterval, timeIntervalContains } from "../../src/alertmanager/index.ts";

// 2024-01-01 is a Monday.
const at = (day: number, hour: number, minute = 0, month = 0, year = 2024) => Date.UTC(year, month, day, hour, minute);

describe("time intervals", () => {
  test("weekdays and times of day (end exclusive)", () => {
    const ti = parseTimeInterval({ weekdays: ["monday:friday"], times: [{ start_time: "09:00", end_time: "17:00" }] });
    expect(timeIntervalContains(ti, at(1, 9))).toBe(true);
    expect(timeIntervalContains(ti, at(1, 16, 59))).toBe(true);
    expect(timeIntervalContains(ti, at(1, 17))).toBe(false);
    expect(timeIntervalContains(ti, at(6, 10))).toBe(false);
  });

  test("negative days of month count from the end; months by name or number; years", () => {
    const last = parseTimeInterval({ days_of_month: ["-1"] });
    expect(timeIntervalContains(last, at(29, 12, 0, 1))).toBe(true);
    expect(timeIntervalContains(last, at(28, 12, 0, 1))).toBe(false);
    const q1 = parseTimeInterval({ months: ["january:3"], years: ["2024"] });
    expect(timeIntervalContains(q1, at(15, 0, 0, 2))).toBe(true);
    expect(timeIntervalContains(q1, at(15, 0, 0, 3))).toBe(false);
    expect(timeIntervalContains(q1, at(15, 0, 0, 0, 2025))).toBe(false);
  });

  test("location shifts the civil time", () => {
    const ti = parseTimeInterval({ times: [{ start_time: "09:00", end_time: "10:00" }], location: "Asia/Tokyo" });
    expect(timeIntervalContains(ti, at(1, 0, 30))).toBe(true);
    expect(timeIntervalContains(ti, at(1, 9, 30))).toBe(false);
  });

  test("bad specs are rejected with a reason", () => {
    expect(() => parseTimeInterval({ times: [{ start_time: "10:00", end_time: "09:00" }] })).toThrow("start time cannot be equal or greater than end time");
    expect(() => parseTimeInterval({ weekdays: ["funday"] })).toThrow("funday is not a valid weekday");
    expect(() => parseTimeInterval({ weekdays: ["monday:sunday"] })).toThrow("start day cannot be before end day");
    expect(() => parseTimeInterval({ months: ["May:2"] })).toThrow("end month february is before start month may");
    expect(() => parseTimeInterval({ years: ["2002:2001"] })).toThrow("end year 2001 is before start year 2002");
    expect(() => parseTimeInterval({ years: ["abc"] })).toThrow('strconv.Atoi: parsing "abc": invalid syntax');
    expect(() => parseTimeInterval({ days_of_month: ["5:3"] })).toThrow("end day 3 is always before start day 5");
    expect(() => parseTimeInterval({ days_of_month: ["0"] })).toThrow("0 is not a valid day of the month: out of range");
    expect(() => parseTimeInterval({ times: [{ start_time: "25:00", end_time: "26:00" }] })).toThrow("couldn't parse timestamp 25:00, invalid format");
    expect(() => parseTimeInterval({ weekdays: ["a:b:c"] })).toThrow("couldn't parse range a:b:c, invalid format");
    expect(() => parseTimeInterval({ location: "Mars/Olympus" })).toThrow("unknown time zone Mars/Olympus");
  });
});
