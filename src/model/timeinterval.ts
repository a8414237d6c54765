/**
 * Alertmanager's time intervals (`time_intervals:` / `mute_time_intervals:`):
 * times of day, weekdays, days of month (negative counts from the month's
 * end), months and years, evaluated in a location. A point in time is in an
 * interval when every part that is given matches; a named interval set
 * matches when any of its intervals does.
 *
 * @example
 * const spec = parseTimeInterval({ weekdays: ["monday:friday"], times: [{ start_time: "09:00", end_time: "17:00" }] });
 * timeIntervalContains(spec, Date.UTC(2024, 0, 1, 10)); // true (a Monday, 10:00 UTC)
 */
/** A time interval as written in `alertmanager.yml`, before parsing (the config room's TimeIntervalSpec). */
export interface TimeIntervalConfig {
  times?: { start_time: string; end_time: string }[];
  weekdays?: string[];
  days_of_month?: string[];
  months?: string[];
  years?: string[];
  location?: string;
}

interface Range {
  begin: number;
  end: number;
}

/** A parsed time interval; ranges are inclusive except times (end exclusive, in minutes of the day). */
export interface TimeInterval {
  times: Range[];
  weekdays: Range[];
  daysOfMonth: Range[];
  months: Range[];
  years: Range[];
  /** IANA zone name; undefined for the process's local zone. */
  location: string | undefined;
}

const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
const MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];

function parseTime(text: string): number {
  const m = /^([0-9]{2}):([0-9]{2})$/.exec(text);
  const minutes = m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
  if (!m || Number(m[2]) > 59 || minutes > 24 * 60) throw new Error(`couldn't parse timestamp ${text}, invalid format`);
  return minutes;
}

function splitRange(text: string): [string, string] {
  const parts = text.split(":");
  if (parts.length === 1) return [parts[0]!, parts[0]!];
  if (parts.length === 2) return [parts[0]!, parts[1]!];
  throw new Error(`couldn't parse range ${text}, invalid format`);
}

/** Go's strconv.Atoi with its error text. */
function atoi(s: string): number {
  if (!/^[+-]?[0-9]+$/.test(s)) throw new Error(`strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`);
  return Number(s);
}

function parseWeekdayRange(text: string): Range {
  const one = (s: string): number => {
    const i = WEEKDAYS.indexOf(s.trim().toLowerCase());
    if (i < 0) throw new Error(`${s} is not a valid weekday`);
    return i;
  };
  const [a, b] = splitRange(text);
  const range = { begin: one(a), end: one(b) };
  if (range.begin > range.end) throw new Error("start day cannot be before end day");
  return range;
}

/** Months by name or by number; like Alertmanager, numbers are not range-checked (13 never matches). */
function parseMonthRange(text: string): Range {
  const one = (s: string): number => {
    const i = MONTHS.indexOf(s.trim().toLowerCase());
    if (i >= 0) return i + 1;
    if (/^[0-9]+$/.test(s.trim())) return Number(s.trim());
    throw new Error(`${s} is not a valid month`);
  };
  const name = (n: number) => MONTHS[n - 1] ?? String(n);
  const [a, b] = splitRange(text);
  const range = { begin: one(a), end: one(b) };
  if (range.begin > range.end) throw new Error(`end month ${name(range.end)} is before start month ${name(range.begin)}`);
  return range;
}

function parseDayOfMonthRange(text: string): Range {
  const [a, b] = splitRange(text);
  const range = { begin: atoi(a), end: atoi(b) };
  for (const [n, s] of [[range.begin, a], [range.end, b]] as const) {
    if (n === 0 || n < -31 || n > 31) throw new Error(`${s} is not a valid day of the month: out of range`);
  }
  const sameSign = Math.sign(range.begin) === Math.sign(range.end);
  if (sameSign && range.begin > range.end) throw new Error(`end day ${range.end} is always before start day ${range.begin}`);
  return range;
}

function parseYearRange(text: string): Range {
  const [a, b] = splitRange(text);
  const range = { begin: atoi(a), end: atoi(b) };
  if (range.begin > range.end) throw new Error(`end year ${range.end} is before start year ${range.begin}`);
  return range;
}

/** Whether `name` is a location the runtime knows ("Local" and "UTC" always are). */
function checkLocation(name: string): string | undefined {
  if (name === "Local") return undefined;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return name;
  } catch {
    throw new Error(`unknown time zone ${name}`);
  }
}

/**
 * Parses one interval; throws `Error` with Alertmanager-like wording for
 * bad times, names or ranges.
 */
export function parseTimeInterval(cfg: TimeIntervalConfig): TimeInterval {
  return {
    times: (cfg.times ?? []).map((t) => {
      const begin = parseTime(t.start_time ?? "");
      const end = parseTime(t.end_time ?? "");
      if (begin >= end) throw new Error("start time cannot be equal or greater than end time");
      return { begin, end };
    }),
    weekdays: (cfg.weekdays ?? []).map(parseWeekdayRange),
    daysOfMonth: (cfg.days_of_month ?? []).map(parseDayOfMonthRange),
    months: (cfg.months ?? []).map(parseMonthRange),
    years: (cfg.years ?? []).map(parseYearRange),
    location: cfg.location === undefined || cfg.location === "" ? "UTC" : checkLocation(cfg.location),
  };
}

interface CivilTime {
  year: number;
  month: number;
  day: number;
  weekday: number;
  minuteOfDay: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function civilTime(ms: number, location: string | undefined): CivilTime {
  const key = location ?? "";
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: location, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
      weekday: "long", hour: "numeric", minute: "numeric",
    });
    formatters.set(key, f);
  }
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(ms))) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    weekday: WEEKDAYS.indexOf(parts.weekday!.toLowerCase()),
    minuteOfDay: Number(parts.hour) * 60 + Number(parts.minute),
  };
}

function inRanges(ranges: Range[], v: number): boolean {
  return ranges.length === 0 || ranges.some((r) => v >= r.begin && v <= r.end);
}

/** Whether the instant `ms` (Unix milliseconds) lies in `ti`. */
export function timeIntervalContains(ti: TimeInterval, ms: number): boolean {
  const t = civilTime(ms, ti.location);
  if (ti.times.length > 0 && !ti.times.some((r) => t.minuteOfDay >= r.begin && t.minuteOfDay < r.end)) return false;
  if (!inRanges(ti.weekdays, t.weekday)) return false;
  if (ti.daysOfMonth.length > 0) {
    const daysInMonth = new Date(Date.UTC(t.year, t.month, 0)).getUTCDate();
    const resolve = (d: number) => (d < 0 ? daysInMonth + d + 1 : d);
    const ok = ti.daysOfMonth.some((r) => {
      const begin = Math.max(1, resolve(r.begin));
      const end = Math.min(daysInMonth, resolve(r.end));
      return t.day >= begin && t.day <= end;
    });
    if (!ok) return false;
  }
  if (!inRanges(ti.months, t.month)) return false;
  return inRanges(ti.years, t.year);
}
