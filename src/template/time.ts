/**
 * Go's `time.Time` and `time.Duration` as template values: they print as Go
 * prints them (`2015-06-23 13:19:44.128 +0000 UTC`, `1h2m3.5s`) and offer
 * the methods templates call (`.Format`, `.Unix`, `.UTC`, `.Seconds` …).
 * Time zones other than UTC come from the platform's IANA database (Intl).
 */

import { GO_TYPE } from "./values.ts";

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;

/** The wall-clock reading of an instant in a zone. */
interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
  yearDay: number;
  offsetSeconds: number;
  abbrev: string;
}

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

const formatters = new Map<string, Intl.DateTimeFormat>();

function zoneFormatter(zone: string, locale: string): Intl.DateTimeFormat {
  const key = `${zone}|${locale}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      timeZoneName: "short",
    });
    formatters.set(key, f);
  }
  return f;
}

function numericAbbrev(offsetSeconds: number): string {
  const sign = offsetSeconds < 0 ? "-" : "+";
  const abs = Math.abs(offsetSeconds);
  const h = String(Math.floor(abs / 3600)).padStart(2, "0");
  const m = Math.floor((abs % 3600) / 60);
  return m === 0 ? `${sign}${h}` : `${sign}${h}${String(m).padStart(2, "0")}`;
}

/** Breaks an instant (ms since the epoch) into the wall clock of `zone`. */
function wallClock(ms: number, zone: string): Wall {
  let offsetSeconds = 0;
  let abbrev = "UTC";
  if (zone !== "UTC") {
    const parts = zoneFormatter(zone, "en-US").formatToParts(new Date(ms));
    const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
    const asUTC = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
    offsetSeconds = Math.round((asUTC - Math.floor(ms / 1000) * 1000) / 1000);
    abbrev = parts.find((p) => p.type === "timeZoneName")?.value ?? "";
    if (/^(GMT|UTC)([+-]|$)/.test(abbrev)) {
      const gb = zoneFormatter(zone, "en-GB").formatToParts(new Date(ms)).find((p) => p.type === "timeZoneName")?.value ?? "";
      abbrev = /^(GMT|UTC)([+-]|$)/.test(gb) ? (offsetSeconds === 0 && /^(GMT|UTC)$/.test(gb) ? gb : numericAbbrev(offsetSeconds)) : gb;
    }
  }
  const d = new Date(Math.floor(ms / 1000) * 1000 + offsetSeconds * 1000);
  const startOfYear = Date.UTC(d.getUTCFullYear(), 0, 1);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    weekday: d.getUTCDay(),
    yearDay: Math.floor((d.getTime() - startOfYear) / 86_400_000) + 1,
    offsetSeconds,
    abbrev,
  };
}

/**
 * Checks that an IANA zone name is known, as Go's `time.LoadLocation` does.
 * Throws `unknown time zone NAME` otherwise.
 */
export function loadLocation(name: string): string {
  if (name === "" || name === "UTC") return "UTC";
  if (name === "Local") return Intl.DateTimeFormat().resolvedOptions().timeZone ?? "UTC";
  try {
    zoneFormatter(name, "en-US");
    return name;
  } catch {
    throw new Error(`unknown time zone ${name}`);
  }
}

const STD_CHUNKS = [
  "January", "Jan", "Monday", "Mon", "MST",
  "2006", "2", "_2", "__2", "002", "02", "06", "01", "1", "15", "03", "3", "04", "4", "05", "5",
  "PM", "pm", "-070000", "-07:00:00", "-0700", "-07:00", "-07",
  "Z070000", "Z07:00:00", "Z0700", "Z07:00", "Z07",
];

/** Finds the layout element starting at `i` of a Go time layout (longest match first), or "". */
function stdChunkAt(layout: string, i: number): string {
  const rest = layout.slice(i);
  const frac = /^[.,](0+|9+)(?![0-9])/.exec(rest);
  if (frac) return frac[0];
  let best = "";
  for (const c of STD_CHUNKS) {
    if (c.length > best.length && rest.startsWith(c)) {
      // "Jan"/"Mon" must not run into a lowercase letter ("Janet" is text).
      if ((c === "Jan" || c === "Mon") && /^[a-z]/.test(rest.slice(3))) continue;
      if (c === "January" || c === "Monday") {
        best = c;
        continue;
      }
      best = c;
    }
  }
  if (best === "2" && rest.startsWith("2006")) best = "2006";
  return best;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function formatOffset(off: number, chunk: string): string {
  if (chunk.startsWith("Z") && off === 0) return "Z";
  const sign = off < 0 ? "-" : "+";
  const abs = Math.abs(off);
  const hh = pad(Math.floor(abs / 3600), 2);
  const mm = pad(Math.floor((abs % 3600) / 60), 2);
  const ss = pad(abs % 60, 2);
  const body = chunk.replace(/^Z/, "-");
  switch (body) {
    case "-07":
      return `${sign}${hh}`;
    case "-0700":
      return `${sign}${hh}${mm}`;
    case "-07:00":
      return `${sign}${hh}:${mm}`;
    case "-070000":
      return `${sign}${hh}${mm}${ss}`;
    default:
      return `${sign}${hh}:${mm}:${ss}`;
  }
}

/** Go's `time.Time`: an instant in nanoseconds since the epoch, read in a zone. */
export class GoTime {
  readonly [GO_TYPE] = "time.Time";

  constructor(
    /** Nanoseconds since 1970-01-01T00:00:00Z. */
    readonly unixNanos: bigint,
    /** IANA zone name, "UTC" by default. */
    readonly zone = "UTC",
  ) {}

  /** A time from milliseconds since the epoch (fractions of a millisecond are kept to the nanosecond). */
  static fromUnixMillis(ms: number, zone = "UTC"): GoTime {
    const whole = Math.floor(ms);
    return new GoTime(BigInt(whole) * NS_PER_MS + BigInt(Math.round((ms - whole) * 1e6)), zone);
  }

  /** A time from a JS Date. */
  static fromDate(d: Date, zone = "UTC"): GoTime {
    return GoTime.fromUnixMillis(d.getTime(), zone);
  }

  private wall(): Wall {
    return wallClock(Number(this.unixNanos / NS_PER_MS) - (this.unixNanos % NS_PER_MS < 0n ? 1 : 0), this.zone);
  }

  private nanosOfSecond(): bigint {
    const r = this.unixNanos % NS_PER_S;
    return r < 0n ? r + NS_PER_S : r;
  }

  /** Go's `Time.Format` with a reference-time layout ("2006-01-02T15:04:05Z07:00"). */
  Format(layout: string): string {
    const w = this.wall();
    let out = "";
    for (let i = 0; i < layout.length; ) {
      const c = stdChunkAt(layout, i);
      if (c === "") {
        out += layout[i];
        i++;
        continue;
      }
      i += c.length;
      if (c[0] === "." || c[0] === ",") {
        const digits = this.nanosOfSecond().toString().padStart(9, "0").slice(0, c.length - 1);
        if (c[1] === "0") out += c[0] + digits;
        else {
          const trimmed = digits.replace(/0+$/, "");
          if (trimmed !== "") out += c[0] + trimmed;
        }
        continue;
      }
      switch (c) {
        case "2006":
          out += pad(w.year, 4);
          break;
        case "06":
          out += pad(w.year % 100, 2);
          break;
        case "January":
          out += MONTHS[w.month - 1];
          break;
        case "Jan":
          out += MONTHS[w.month - 1]!.slice(0, 3);
          break;
        case "01":
          out += pad(w.month, 2);
          break;
        case "1":
          out += String(w.month);
          break;
        case "Monday":
          out += DAYS[w.weekday];
          break;
        case "Mon":
          out += DAYS[w.weekday]!.slice(0, 3);
          break;
        case "02":
          out += pad(w.day, 2);
          break;
        case "_2":
          out += String(w.day).padStart(2, " ");
          break;
        case "2":
          out += String(w.day);
          break;
        case "002":
          out += pad(w.yearDay, 3);
          break;
        case "__2":
          out += String(w.yearDay).padStart(3, " ");
          break;
        case "15":
          out += pad(w.hour, 2);
          break;
        case "03":
          out += pad(w.hour % 12 === 0 ? 12 : w.hour % 12, 2);
          break;
        case "3":
          out += String(w.hour % 12 === 0 ? 12 : w.hour % 12);
          break;
        case "04":
          out += pad(w.minute, 2);
          break;
        case "4":
          out += String(w.minute);
          break;
        case "05":
          out += pad(w.second, 2);
          break;
        case "5":
          out += String(w.second);
          break;
        case "PM":
          out += w.hour >= 12 ? "PM" : "AM";
          break;
        case "pm":
          out += w.hour >= 12 ? "pm" : "am";
          break;
        case "MST":
          out += w.abbrev || numericAbbrev(w.offsetSeconds);
          break;
        default:
          out += formatOffset(w.offsetSeconds, c);
      }
    }
    return out;
  }

  /** Go's `Time.String`: "2006-01-02 15:04:05.999999999 -0700 MST". */
  String(): string {
    return this.Format("2006-01-02 15:04:05.999999999 -0700 MST");
  }

  /** Seconds since the epoch (an int). */
  Unix(): bigint {
    const s = this.unixNanos / NS_PER_S;
    return this.unixNanos < 0n && this.unixNanos % NS_PER_S !== 0n ? s - 1n : s;
  }

  /** Milliseconds since the epoch (an int). */
  UnixMilli(): bigint {
    const s = this.unixNanos / NS_PER_MS;
    return this.unixNanos < 0n && this.unixNanos % NS_PER_MS !== 0n ? s - 1n : s;
  }

  /** Nanoseconds since the epoch (an int). */
  UnixNano(): bigint {
    return this.unixNanos;
  }

  /** The same instant read in UTC. */
  UTC(): GoTime {
    return new GoTime(this.unixNanos, "UTC");
  }

  /** The same instant read in the zone `loc` (an IANA name). */
  In(loc: string): GoTime {
    return new GoTime(this.unixNanos, loadLocation(loc));
  }

  /** Reports whether this is the zero time (Go's `IsZero`: year 1). */
  IsZero(): boolean {
    return this.unixNanos === GO_ZERO_TIME_NANOS;
  }

  /** The time plus a duration. */
  Add(d: GoDuration): GoTime {
    return new GoTime(this.unixNanos + d.nanos, this.zone);
  }

  /** The duration `this - t`. */
  Sub(t: GoTime): GoDuration {
    return new GoDuration(this.unixNanos - t.unixNanos);
  }

  /** Reports whether this instant is before `t`. */
  Before(t: GoTime): boolean {
    return this.unixNanos < t.unixNanos;
  }

  /** Reports whether this instant is after `t`. */
  After(t: GoTime): boolean {
    return this.unixNanos > t.unixNanos;
  }

  /** Reports whether both are the same instant. */
  Equal(t: GoTime): boolean {
    return this.unixNanos === t.unixNanos;
  }
}

/** Go's zero `time.Time` (0001-01-01 00:00:00 UTC) in nanoseconds since the Unix epoch. */
export const GO_ZERO_TIME_NANOS = -62135596800n * NS_PER_S;

function fmtFrac(v: bigint, prec: number): [string, bigint] {
  let s = "";
  let print = false;
  for (let i = 0; i < prec; i++) {
    const digit = v % 10n;
    print ||= digit !== 0n;
    if (print) s = digit.toString() + s;
    v /= 10n;
  }
  return [print ? `.${s}` : "", v];
}

/** Go's `time.Duration`: a signed count of nanoseconds. */
export class GoDuration {
  readonly [GO_TYPE] = "time.Duration";

  constructor(readonly nanos: bigint) {}

  /** A duration from seconds (Go's `time.Duration(s * float64(time.Second))`, truncating). */
  static fromSeconds(s: number): GoDuration {
    return new GoDuration(BigInt(Math.trunc(s * 1e9)));
  }

  /** Go's `Duration.String`: "72h3m0.5s", "1.5ms", "0s". */
  String(): string {
    const neg = this.nanos < 0n;
    let u = neg ? -this.nanos : this.nanos;
    let out: string;
    if (u < NS_PER_S) {
      if (u === 0n) return "0s";
      let unit: string;
      let prec: number;
      if (u < 1000n) {
        unit = "ns";
        prec = 0;
      } else if (u < NS_PER_MS) {
        unit = "µs";
        prec = 3;
      } else {
        unit = "ms";
        prec = 6;
      }
      const [frac, rest] = fmtFrac(u, prec);
      out = `${rest}${frac}${unit}`;
    } else {
      const [frac, secs] = fmtFrac(u, 9);
      u = secs;
      out = `${u % 60n}${frac}s`;
      u /= 60n;
      if (u > 0n) {
        out = `${u % 60n}m${out}`;
        u /= 60n;
        if (u > 0n) out = `${u}h${out}`;
      }
    }
    return neg ? `-${out}` : out;
  }

  /** The duration in seconds (a float). */
  Seconds(): number {
    return Number(this.nanos) / 1e9;
  }

  /** The duration in minutes (a float). */
  Minutes(): number {
    return Number(this.nanos) / 6e10;
  }

  /** The duration in hours (a float). */
  Hours(): number {
    return Number(this.nanos) / 3.6e12;
  }

  /** The duration in whole milliseconds (an int). */
  Milliseconds(): bigint {
    return this.nanos / NS_PER_MS;
  }

  /** The duration in nanoseconds (an int). */
  Nanoseconds(): bigint {
    return this.nanos;
  }
}
