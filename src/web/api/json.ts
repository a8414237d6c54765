/**
 * JSON rendering the way Prometheus's API writes it, byte for byte:
 * - vector and matrix sample values as its `jsonutil.MarshalFloat`: Go's
 *   shortest `'f'` form, or `'e'` form below 1e-6 and from 1e21 on;
 * - their timestamps as whole seconds plus exactly three digits of
 *   milliseconds when those are not zero;
 * - scalar and string results through Go's encoding/json of
 *   `[float64(t)/1000, FormatFloat(v, 'f', -1, 64)]`;
 * - strings with Go's HTML-safe escaping.
 * Query results are written as one string directly (no intermediate objects
 * per point).
 *
 * @example
 * formatSampleValue(1e21);          // "1e+21"
 * formatGoFloatF(1e21);             // "1000000000000000000000"
 * formatTimestamp(1700000000120);   // "1700000000.120"
 */
import { formatGoFloatE, formatGoFloatF } from "../../base/index.ts";
import type { Labels } from "../../model/index.ts";
import type { MatrixSeries, Value, VectorSample } from "../../promql/index.ts";
import { WorkSlicer } from "../../tsdb/index.ts";

/** Go's strconv.FormatFloat 'f' and 'e' forms, shortest (written once, in the base room). */
export { formatGoFloatE, formatGoFloatF };

/**
 * Formats a vector or matrix sample value as Prometheus's API does
 * (jsonutil.MarshalFloat): `'e'` form when 0 < |v| < 1e-6 or |v| >= 1e21,
 * otherwise `'f'` form.
 *
 * @example
 * formatSampleValue(1.5);   // "1.5"
 * formatSampleValue(1e-7);  // "1e-07"
 */
export function formatSampleValue(v: number): string {
  // Integers below 2^53 print the same in Go's 'f' format and JavaScript.
  if (Number.isSafeInteger(v) && v !== 0) return String(v);
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) return formatGoFloatE(v);
  return formatGoFloatF(v);
}

/**
 * Formats a millisecond timestamp as Prometheus does in API responses:
 * whole seconds, then `.` and exactly three digits when the milliseconds
 * are not zero (so 1500 → `1.500`, 1000 → `1`).
 *
 * @example
 * formatTimestamp(-1500); // "-1.500"
 */
export function formatTimestamp(t: number): string {
  if (t % 1000 === 0 && t !== 0) return String(t / 1000);
  const negative = t < 0;
  const abs = Math.abs(Math.trunc(t));
  const secs = Math.floor(abs / 1000);
  const ms = abs - secs * 1000;
  const body = ms === 0 ? String(secs) : `${secs}.${String(ms).padStart(3, "0")}`;
  return negative ? `-${body}` : body;
}

const HTML_UNSAFE = /[<>&\u2028\u2029]/g;

function escapeHTMLUnsafe(ch: string): string {
  return `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * JSON-encodes a string as Go's encoding/json does: `<`, `>`, `&`, U+2028
 * and U+2029 become `\uXXXX` escapes.
 *
 * @example
 * jsonString("a<b"); // "\"a\\u003cb\""
 */
export function jsonString(s: string): string {
  return JSON.stringify(s).replace(HTML_UNSAFE, escapeHTMLUnsafe);
}

/**
 * JSON-encodes any plain value with Go's HTML-safe string escaping. Object
 * keys keep their insertion order; callers that mirror a Go map sort them.
 */
export function goJSON(value: unknown): string {
  return JSON.stringify(value).replace(HTML_UNSAFE, escapeHTMLUnsafe);
}

/** A label set as a JSON object in label-name order, e.g. `{"__name__":"up","job":"x"}`. */
export function labelsJSON(ls: Labels): string {
  let out = "{";
  for (let i = 0; i < ls.length; i++) {
    if (i > 0) out += ",";
    out += jsonString(ls[i]!.name) + ":" + jsonString(ls[i]!.value);
  }
  return out + "}";
}

function pointJSON(t: number, v: number): string {
  return `[${formatTimestamp(t)},"${formatSampleValue(v)}"]`;
}

function vectorSampleJSON(s: VectorSample): string {
  return `{"metric":${labelsJSON(s.metric)},"value":${pointJSON(s.t, s.v)}}`;
}

function matrixSeriesJSON(s: MatrixSeries): string {
  const parts = new Array<string>(s.t.length);
  for (let i = 0; i < s.t.length; i++) parts[i] = pointJSON(s.t[i]!, s.v[i]!);
  return `{"metric":${labelsJSON(s.metric)},"values":[${parts.join(",")}]}`;
}

/**
 * The `data` object of a query response: `{"resultType":…,"result":…}` with
 * the result rendered in Prometheus's exact form.
 *
 * @example
 * queryDataJSON({ type: "scalar", t: 1500, v: 2 }); // {"resultType":"scalar","result":[1.5,"2"]}
 */
/**
 * {@link queryDataJSON} without holding the event loop: series are encoded
 * one after another, yielding whenever a slice of work is used up, so a
 * result of millions of points does not stall the server while it is
 * written.
 */
export async function queryDataJSONSliced(value: Value): Promise<string> {
  return (await queryDataJSONParts(value)).join("");
}

/**
 * {@link queryDataJSONSliced} as the pieces of the JSON text, in order (one
 * per series or per 256 samples), so a caller can send them without ever
 * building, or encoding at once, one string of tens of MB.
 */
export async function queryDataJSONParts(value: Value): Promise<string[]> {
  if (value.type !== "matrix" && value.type !== "vector") return [queryDataJSON(value)];
  const slicer = new WorkSlicer(SLICE_MS);
  const parts: string[] = [`{"resultType":"${value.type}","result":[`];
  if (value.type === "matrix") {
    for (const s of value.series) {
      parts.push(parts.length > 1 ? `,${matrixSeriesJSON(s)}` : matrixSeriesJSON(s));
      if (slicer.due()) await slicer.yield();
    }
  } else {
    let group: string[] = [];
    for (const s of value.samples) {
      group.push(vectorSampleJSON(s));
      if (group.length === 256) {
        parts.push((parts.length > 1 ? "," : "") + group.join(","));
        group = [];
        if (slicer.due()) await slicer.yield();
      }
    }
    if (group.length > 0) parts.push((parts.length > 1 ? "," : "") + group.join(","));
  }
  parts.push("]}");
  return parts;
}

/** Encoding work between event-loop turns, in ms. */
const SLICE_MS = 5;

export function queryDataJSON(value: Value): string {
  let result: string;
  switch (value.type) {
    case "scalar":
      result = `[${formatGoFloatF(value.t / 1000)},"${formatGoFloatF(value.v)}"]`;
      break;
    case "string":
      result = `[${formatGoFloatF(value.t / 1000)},${jsonString(value.v)}]`;
      break;
    case "vector":
      result = `[${value.samples.map(vectorSampleJSON).join(",")}]`;
      break;
    case "matrix":
      result = `[${value.series.map(matrixSeriesJSON).join(",")}]`;
      break;
  }
  return `{"resultType":"${value.type}","result":${result}}`;
}
