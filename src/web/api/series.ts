/**
 * The metadata endpoints: /series, /labels, /label/<name>/values and
 * /metadata. Several `match[]` selectors are unioned; results are sorted and
 * cut to `limit` with Prometheus's "results truncated due to limit" warning.
 */
import { compareLabels, labelsKey, type Labels, type Matcher } from "../../model/index.ts";
import { decodeUTF8Escaping, goQuote } from "../../promql/index.ts";
import { MAX_TIME, MIN_TIME, type Querier } from "../../tsdb/index.ts";
import type { ApiContext, MetricMetadata } from "./context.ts";
import { labelsJSON } from "./json.ts";
import { intParam, limitParam, matchersParam, timeParam, type RequestForm } from "./params.ts";
import { TRUNCATED_WARNING } from "./query.ts";
import { ApiError, successResponse, successValue } from "./respond.ts";

interface TimeRange {
  start: number;
  end: number;
}

function rangeParams(form: RequestForm): TimeRange {
  return { start: timeParam(form, "start", MIN_TIME), end: timeParam(form, "end", MAX_TIME) };
}

function limited<T>(items: T[], limit: number): { items: T[]; warnings: string[] } {
  if (limit > 0 && items.length > limit) return { items: items.slice(0, limit), warnings: [TRUNCATED_WARNING] };
  return { items, warnings: [] };
}

/** The union of series matching any of the selector sets, sorted by labels. */
async function selectSeries(q: Querier, sets: readonly Matcher[][], range: TimeRange, signal?: AbortSignal, onWarning?: (message: string) => void): Promise<Labels[]> {
  const byKey = new Map<string, Labels>();
  for (const set of sets) {
    for (const s of await q.select(set, range.start, range.end, { signal, onWarning })) byKey.set(labelsKey(s.labels), s.labels);
  }
  return [...byKey.values()].sort(compareLabels);
}

/** Runs `read` on a querier over `range`, closing it afterwards. */
async function withQuerier<T>(ctx: ApiContext, range: TimeRange, read: (q: Querier) => Promise<T>): Promise<T> {
  const q = ctx.queryable(range.start, range.end);
  try {
    return await read(q);
  } finally {
    q.close();
  }
}

/** GET/POST /series: match[] (required), start, end, limit. */
export async function series(ctx: ApiContext, form: RequestForm, signal?: AbortSignal): Promise<Response> {
  if (form.getAll("match[]").length === 0) throw new ApiError("bad_data", "no match[] parameter provided");
  const limit = limitParam(form);
  const range = rangeParams(form);
  const sets = matchersParam(form.getAll("match[]"));
  // Sources of the fan-out that failed (a remote_read endpoint) are warnings, as in Prometheus.
  const failed = new Set<string>();
  const found = await withQuerier(ctx, range, (q) => selectSeries(q, sets, range, signal, (w) => failed.add(w)));
  const { items, warnings } = limited(found, limit);
  return successResponse(`[${items.map(labelsJSON).join(",")}]`, { warnings: [...failed, ...warnings] });
}

function sortedUnion(lists: Iterable<readonly string[]>): string[] {
  const all = new Set<string>();
  for (const list of lists) for (const x of list) all.add(x);
  return [...all].sort();
}

/** GET/POST /labels: match[], start, end, limit. */
export async function labelNames(ctx: ApiContext, form: RequestForm): Promise<Response> {
  const limit = limitParam(form);
  const range = rangeParams(form);
  const sets = matchersParam(form.getAll("match[]"));
  const names = await withQuerier(ctx, range, async (q) => sets.length === 0
    ? q.labelNames({ mint: range.start, maxt: range.end })
    : sortedUnion(await Promise.all(sets.map((matchers) => q.labelNames({ matchers, mint: range.start, maxt: range.end })))));
  const { items, warnings } = limited([...names], limit);
  return successValue(items, { warnings });
}

/** Decodes Prometheus's `U__` value-encoding escape (`_` → `__`, `_<hex>_` → a code point); the name itself when not valid. */
export function unescapeLabelName(name: string): string {
  if (!name.startsWith("U__")) return name;
  let out = "";
  const s = name.slice(3);
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch !== "_") {
      out += ch;
      continue;
    }
    if (s[i + 1] === "_") {
      out += "_";
      i++;
      continue;
    }
    const close = s.indexOf("_", i + 1);
    const hex = close < 0 ? "" : s.slice(i + 1, close);
    if (!/^[0-9a-fA-F]{1,6}$/.test(hex)) return name;
    const cp = parseInt(hex, 16);
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return name;
    out += String.fromCodePoint(cp);
    i = close;
  }
  return out;
}

/**
 * Decodes the percent-encoded `<name>` path segment of /label/<name>/values
 * as UTF-8; a segment that is not valid UTF-8 (or empty) is an invalid label
 * name, reported as Prometheus does: `invalid label name: "…"`.
 */
export function labelNameFromPath(rawSegment: string): string {
  // A URL path is ASCII; anything else was percent-encoded by the client or the URL parser.
  const bytes: number[] = [];
  for (let i = 0; i < rawSegment.length; i++) {
    if (rawSegment[i] === "%" && /^[0-9a-fA-F]{2}$/.test(rawSegment.slice(i + 1, i + 3))) {
      bytes.push(parseInt(rawSegment.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(rawSegment.charCodeAt(i) & 0xff);
    }
  }
  let name: string;
  try {
    name = new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array(bytes));
  } catch {
    // Go's %q of the bytes: invalid ones print as \xNN.
    throw new ApiError("bad_data", `invalid label name: ${goQuote(decodeUTF8Escaping(bytes))}`);
  }
  name = unescapeLabelName(name);
  if (name === "") throw new ApiError("bad_data", `invalid label name: ${goQuote(name)}`);
  return name;
}

/** GET /label/<name>/values: match[], start, end, limit. */
export async function labelValues(ctx: ApiContext, form: RequestForm, name: string): Promise<Response> {
  const limit = limitParam(form);
  const range = rangeParams(form);
  const sets = matchersParam(form.getAll("match[]"));
  const values = await withQuerier(ctx, range, async (q) => sets.length === 0
    ? q.labelValues(name, { mint: range.start, maxt: range.end })
    : sortedUnion(await Promise.all(sets.map((matchers) => q.labelValues(name, { matchers, mint: range.start, maxt: range.end })))));
  const { items, warnings } = limited([...values], limit);
  return successValue(items, { warnings });
}

/** GET /metadata: metric, limit (metrics), limit_per_metric; names in sorted order. */
export function metadata(ctx: ApiContext, form: RequestForm): Response {
  const limit = intParam(form, "limit", -1, "limit must be a number");
  const limitPerMetric = intParam(form, "limit_per_metric", -1, "limit_per_metric must be a number");
  const metric = form.get("metric");
  const all = ctx.metadata?.() ?? new Map<string, MetricMetadata[]>();
  const out: Record<string, MetricMetadata[]> = {};
  let count = 0;
  for (const name of [...all.keys()].sort()) {
    if (metric !== "" && name !== metric) continue;
    if (limit >= 0 && count >= limit) break;
    const seen = new Set<string>();
    const entries: MetricMetadata[] = [];
    for (const m of all.get(name)!) {
      if (limitPerMetric > 0 && entries.length >= limitPerMetric) break;
      const key = `${m.type}\u0000${m.help}\u0000${m.unit}`;
      if (seen.has(key)) continue;
      seen.add(key);
      entries.push({ type: m.type, help: m.help, unit: m.unit });
    }
    out[name] = entries;
    count++;
  }
  return successValue(out);
}
