/**
 * Request parameters the way Prometheus's API reads them: form values merged
 * from a urlencoded (or multipart) POST body and the URL query (body first,
 * like Go's `r.FormValue`), times as Unix float seconds or RFC 3339,
 * durations as float seconds or Prometheus durations, limits, and `match[]`
 * series selectors.
 *
 * @example
 * parseTime("1700000000.5");           // 1700000000500
 * parseTime("2023-11-14T22:13:20Z");   // 1700000000000
 * parseDurationParam("1m30s");         // 90000
 */
import { parseDuration } from "../../config/index.ts";
import type { Matcher } from "../../model/index.ts";
import { goQuote, ParseError, parseExpr } from "../../promql/index.ts";
import { MAX_TIME, MIN_TIME } from "../../tsdb/index.ts";
import { ApiError, invalidParam } from "./respond.ts";

/** Largest form body accepted, as Go's net/http (10 MiB). */
export const MAX_FORM_BYTES = 10 << 20;

/** Form values of one request: every value of every key, body values before URL values. */
export class RequestForm {
  constructor(private readonly values: ReadonlyMap<string, readonly string[]>) {}

  /** The first value of `key`, or "" (Go's `r.FormValue`). */
  get(key: string): string {
    return this.values.get(key)?.[0] ?? "";
  }

  /** All values of `key` (Go's `r.Form[key]`). */
  getAll(key: string): readonly string[] {
    return this.values.get(key) ?? [];
  }
}

function addAll(into: Map<string, string[]>, entries: Iterable<[string, string]>): void {
  for (const [k, v] of entries) {
    const list = into.get(k);
    if (list) list.push(v);
    else into.set(k, [v]);
  }
}

/**
 * Reads a request's form: for POST/PUT/PATCH with a urlencoded or multipart
 * body, the body's values come first, then the URL query's. Bodies over
 * 10 MiB are rejected with `error parsing form values: http: POST too large`.
 */
export async function readForm(req: Request): Promise<RequestForm> {
  const values = new Map<string, string[]>();
  const method = req.method.toUpperCase();
  if (method === "POST" || method === "PUT" || method === "PATCH") {
    const type = (req.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type === "application/x-www-form-urlencoded" || type === "multipart/form-data") {
      const declared = Number(req.headers.get("content-length") ?? "0");
      if (declared > MAX_FORM_BYTES) throw new ApiError("bad_data", "error parsing form values: http: POST too large");
      if (type === "multipart/form-data") {
        let form: FormData;
        try {
          form = await req.formData();
        } catch (e) {
          throw new ApiError("bad_data", `error parsing form values: ${e instanceof Error ? e.message : String(e)}`);
        }
        const strings: [string, string][] = [];
        form.forEach((v, k) => {
          if (typeof v === "string") strings.push([k, v]);
        });
        addAll(values, strings);
      } else {
        const body = await req.text();
        if (body.length > MAX_FORM_BYTES) throw new ApiError("bad_data", "error parsing form values: http: POST too large");
        addAll(values, new URLSearchParams(body));
      }
    }
  }
  addAll(values, new URL(req.url).searchParams);
  return new RequestForm(values);
}

/** Prometheus's `minTime` sentinel as formatted by Go (what clients send for "no start"). */
export const MIN_TIME_FORMATTED = "-292273086-05-16T16:47:06Z";
/** Prometheus's `maxTime` sentinel as formatted by Go (what clients send for "no end"). */
export const MAX_TIME_FORMATTED = "292277025-08-18T07:12:54.999999999Z";

const GO_FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$/i;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/** Parses a decimal float as Go's strconv.ParseFloat does for base 10 (no hex), or null. */
export function parseGoFloat(s: string): number | null {
  if (!GO_FLOAT.test(s)) return null;
  const lower = s.toLowerCase().replace(/^\+/, "");
  if (lower === "inf" || lower === "infinity") return Infinity;
  if (lower === "-inf" || lower === "-infinity") return -Infinity;
  if (lower === "nan" || lower === "-nan") return NaN;
  return Number(s);
}

/** Go's math.Round: halves away from zero. */
function goRound(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

function clampTime(t: number): number {
  return Math.min(MAX_TIME, Math.max(MIN_TIME, t));
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function parseRFC3339(s: string): number | null {
  const m = RFC3339.exec(s);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  let offsetMinutes = 0;
  if (m[8] !== undefined) {
    const oh = Number(m[9]), om = Number(m[10]);
    if (oh > 23 || om > 59) return null;
    offsetMinutes = (m[8] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  const millis = m[7] ? Number(m[7].padEnd(9, "0").slice(0, 3)) : 0;
  return date.getTime() + millis - offsetMinutes * 60_000;
}

/**
 * Parses a timestamp as Prometheus's API does: Unix seconds as a float
 * (rounded to milliseconds), RFC 3339 with optional fraction, or the
 * min/max time sentinels. Returns milliseconds, clamped to the storage's
 * MIN_TIME..MAX_TIME.
 *
 * @example
 * parseTime("1.2345");                  // 1235 (rounded to ms)
 * parseTime("2015-07-01T20:10:51.781Z"); // 1435781451781
 * parseTime(MIN_TIME_FORMATTED);        // MIN_TIME
 */
export function parseTime(s: string): number {
  const f = parseGoFloat(s);
  if (f !== null && Number.isFinite(f)) {
    const secs = Math.trunc(f);
    return clampTime(secs * 1000 + goRound((f - secs) * 1000));
  }
  const t = parseRFC3339(s);
  if (t !== null) return clampTime(t);
  if (s === MIN_TIME_FORMATTED) return MIN_TIME;
  if (s === MAX_TIME_FORMATTED) return MAX_TIME;
  throw new Error(`cannot parse ${goQuote(s)} to a valid timestamp`);
}

/**
 * Reads an optional time parameter: `fallback` when absent or empty;
 * otherwise a `bad_data` error worded as Prometheus's parseTimeParam.
 */
export function timeParam(form: RequestForm, name: string, fallback: number): number {
  const s = form.get(name);
  if (s === "") return fallback;
  try {
    return parseTime(s);
  } catch (e) {
    throw invalidParam(name, `Invalid time value for '${name}': ${(e as Error).message}`);
  }
}

const MAX_INT64_NS = 9223372036854775807;

/**
 * Parses a duration as Prometheus's API does: float seconds or a Prometheus
 * duration (`1m30s`). Returns milliseconds (fractions of a millisecond kept
 * so a positive sub-millisecond step is still positive).
 *
 * @example
 * parseDurationParam("0.5"); // 500
 * parseDurationParam("5m");  // 300000
 */
export function parseDurationParam(s: string): number {
  const f = parseGoFloat(s);
  if (f !== null) {
    const ns = f * 1e9;
    if (!(ns <= MAX_INT64_NS && ns >= -MAX_INT64_NS - 1)) throw new Error(`cannot parse ${goQuote(s)} to a valid duration. It overflows int64`);
    return Math.trunc(ns) / 1e6;
  }
  try {
    return parseDuration(s);
  } catch {
    throw new Error(`cannot parse ${goQuote(s)} to a valid duration`);
  }
}

/** Go's strconv.Atoi, with its error texts. */
function atoi(s: string): number {
  if (!/^[+-]?\d+$/.test(s)) throw new Error(`strconv.Atoi: parsing ${goQuote(s)}: invalid syntax`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new Error(`strconv.Atoi: parsing ${goQuote(s)}: value out of range`);
  return n;
}

/**
 * Reads the `limit` parameter as Prometheus's parseLimitParam: 0 (no limit)
 * when absent, else a non-negative integer.
 */
export function limitParam(form: RequestForm, name = "limit"): number {
  const s = form.get(name);
  if (s === "") return 0;
  let n: number;
  try {
    n = atoi(s);
  } catch (e) {
    throw invalidParam(name, e);
  }
  if (n < 0) throw invalidParam(name, "limit must be non-negative");
  return n;
}

/** Reads an optional integer parameter (default `fallback`), failing with `message` when not an integer. */
export function intParam(form: RequestForm, name: string, fallback: number, message: string): number {
  const s = form.get(name);
  if (s === "") return fallback;
  try {
    return atoi(s);
  } catch {
    throw new ApiError("bad_data", message);
  }
}

/**
 * Parses one series selector such as `up{job="x"}` into its matchers.
 * Anything but a bare selector (no offset, `@`, range or operators) is a
 * parse error, as with Prometheus's ParseMetricSelector.
 */
export function parseMetricSelector(s: string): Matcher[] {
  const expr = parseExpr(s);
  if (expr.type !== "VectorSelector" || expr.offset !== 0 || expr.timestamp !== null || expr.startOrEnd !== null) {
    throw new ParseError(`expected a series selector such as metric{label="value"}, got ${goQuote(s)}`, { start: 0, end: s.length }, s);
  }
  return expr.matchers;
}

/**
 * Parses every `match[]` value. The parser already rejects selectors whose
 * matchers all match the empty string. Errors are `bad_data` for "match[]".
 */
export function matchersParam(values: readonly string[]): Matcher[][] {
  return values.map((v) => {
    try {
      return parseMetricSelector(v);
    } catch (e) {
      throw invalidParam("match[]", e);
    }
  });
}
