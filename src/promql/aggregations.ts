/**
 * PromQL aggregation operators over one evaluation step's vector: sum, avg,
 * count, min, max, group, stddev, stdvar, quantile, count_values, topk,
 * bottomk, limitk and limit_ratio, with Prometheus 3's float behaviour
 * (compensated sums, incremental mean on overflow, Welford variance).
 *
 * @example
 * aggregate("sum", samples, { grouping: ["job"], without: false, param: NaN, stringParam: "", instant: true });
 */
import { labelsKey, METRIC_NAME, type Label, type Labels } from "../model/index.ts";
import type { AggregateOp } from "./ast.ts";
import { formatFloatPlain, type Sample } from "./functions.ts";
import { kahanInc, quantileOf } from "./kernels.ts";

/** How to aggregate: the grouping clause and the evaluated parameter. */
export interface AggregateOptions {
  grouping: string[];
  without: boolean;
  /** The scalar parameter at this step (topk's k, quantile's φ, …); NaN when none. */
  param: number;
  /** count_values' label name. */
  stringParam: string;
  /** Whether this is the only step of an instant query (topk/bottomk then order their output). */
  instant: boolean;
  /**
   * Memo of group keys per input label set, shared by all steps of one
   * aggregation (the grouping never changes between steps).
   */
  groupCache?: WeakMap<Labels, GroupKey>;
}

/** A group's identity and output labels. */
export interface GroupKey {
  key: string;
  metric: Labels;
}

interface Group {
  metric: Labels;
  count: number;
  value: number;
  comp: Float64Array;
  mean: number;
  meanComp: Float64Array;
  incrementalMean: boolean;
  values: number[];
  /** Whether any member's name is to be dropped; only matters when the output keeps __name__ (by (__name__)). */
  dropName: boolean;
}

/** The output label set of a group for by/without. */
function groupLabels(metric: Labels, grouping: string[], without: boolean): Labels {
  if (without) return metric.filter((l) => l.name !== METRIC_NAME && !grouping.includes(l.name));
  return metric.filter((l) => grouping.includes(l.name));
}

function groupingKey(s: Sample, opts: AggregateOptions): GroupKey {
  const cache = opts.groupCache;
  const hit = cache?.get(s.metric);
  if (hit) return hit;
  const ls = groupLabels(s.metric, opts.grouping, opts.without);
  const gk = { key: labelsKey(ls), metric: ls };
  cache?.set(s.metric, gk);
  return gk;
}

/**
 * Aggregates one step's samples. Errors (bad count_values label) are thrown
 * as Error with Prometheus's message; the caller adds no position.
 */
export function aggregate(op: AggregateOp, input: Sample[], opts: AggregateOptions): Sample[] {
  switch (op) {
    case "topk":
    case "bottomk":
      return topBottomK(op, input, opts);
    case "limitk":
      return limitK(input, opts);
    case "limit_ratio":
      return limitRatio(input, opts);
    case "count_values":
      return countValues(input, opts);
    default:
      return simpleAggregate(op, input, opts);
  }
}

function simpleAggregate(op: AggregateOp, input: Sample[], opts: AggregateOptions): Sample[] {
  const groups = new Map<string, Group>();
  const order: Group[] = [];
  for (const s of input) {
    const { key, metric } = groupingKey(s, opts);
    const f = s.f;
    let g = groups.get(key);
    if (!g) {
      g = {
        metric,
        count: 1,
        value: f,
        comp: new Float64Array(1),
        mean: f,
        meanComp: new Float64Array(1),
        incrementalMean: false,
        values: [f],
        dropName: s.dropName,
      };
      if (op === "stddev" || op === "stdvar") g.value = Number.isFinite(f) ? 0 : NaN;
      if (op === "group") g.value = 1;
      groups.set(key, g);
      order.push(g);
      continue;
    }
    if (s.dropName) g.dropName = true;
    switch (op) {
      case "sum":
        g.value = kahanInc(f, g.value, g.comp);
        break;
      case "avg": {
        g.count++;
        if (!g.incrementalMean) {
          const saved = g.comp[0]!;
          const newSum = kahanInc(f, g.value, g.comp);
          if (newSum !== Infinity && newSum !== -Infinity) {
            g.value = newSum;
            break;
          }
          g.comp[0] = saved;
          g.incrementalMean = true;
          g.mean = g.value / (g.count - 1);
          g.comp[0] = g.comp[0]! / (g.count - 1);
        }
        const q = (g.count - 1) / g.count;
        g.comp[0] = q * g.comp[0]!;
        g.mean = kahanInc(f / g.count, q * g.mean, g.comp);
        break;
      }
      case "count":
        g.count++;
        break;
      case "group":
        break;
      case "max":
        if (g.value < f || Number.isNaN(g.value)) g.value = f;
        break;
      case "min":
        if (g.value > f || Number.isNaN(g.value)) g.value = f;
        break;
      case "stddev":
      case "stdvar": {
        g.count++;
        const delta = f - (g.mean + g.meanComp[0]!);
        g.mean = kahanInc(delta / g.count, g.mean, g.meanComp);
        g.value = kahanInc(delta * (f - (g.mean + g.meanComp[0]!)), g.value, g.comp);
        break;
      }
      case "quantile":
        g.values.push(f);
        break;
      default:
        throw new Error(`unknown aggregation ${op}`);
    }
  }
  const out: Sample[] = [];
  for (const g of order) {
    let v: number;
    switch (op) {
      case "sum":
        v = g.value === Infinity || g.value === -Infinity ? g.value : g.value + g.comp[0]!;
        break;
      case "avg":
        v = g.incrementalMean ? g.mean + g.comp[0]! : g.value / g.count + g.comp[0]! / g.count;
        break;
      case "count":
        v = g.count;
        break;
      case "stdvar":
        v = (g.value + g.comp[0]!) / g.count;
        break;
      case "stddev":
        v = Math.sqrt((g.value + g.comp[0]!) / g.count);
        break;
      case "quantile":
        v = quantileOf(opts.param, g.values);
        break;
      default:
        v = g.value;
    }
    out.push({ metric: g.metric, f: v, t: 0, dropName: g.dropName });
  }
  return out;
}

function kFromParam(param: number): number {
  if (Number.isNaN(param)) throw new Error("Parameter value is NaN");
  if (param >= 9.223372036854776e18) return Number.MAX_SAFE_INTEGER;
  if (param <= -9.223372036854776e18) return 0;
  return Math.trunc(param);
}

function groupMembers(input: Sample[], opts: AggregateOptions): Sample[][] {
  const groups = new Map<string, Sample[]>();
  const order: Sample[][] = [];
  for (const s of input) {
    const { key } = groupingKey(s, opts);
    let g = groups.get(key);
    if (!g) {
      g = [];
      groups.set(key, g);
      order.push(g);
    }
    g.push(s);
  }
  return order;
}

/** Orders so that "better" comes first: for topk larger values, NaN always last. */
function rankCompare(top: boolean): (a: Sample, b: Sample) => number {
  return (a, b) => {
    const an = Number.isNaN(a.f), bn = Number.isNaN(b.f);
    if (an || bn) return an === bn ? 0 : an ? 1 : -1;
    return top ? b.f - a.f : a.f - b.f;
  };
}

function topBottomK(op: "topk" | "bottomk", input: Sample[], opts: AggregateOptions): Sample[] {
  const k = kFromParam(opts.param);
  if (k < 1) return [];
  const cmp = rankCompare(op === "topk");
  const out: Sample[] = [];
  for (const members of groupMembers(input, opts)) {
    const chosen = members.slice().sort(cmp).slice(0, k);
    if (!opts.instant) {
      const keep = new Set(chosen);
      for (const m of members) if (keep.has(m)) out.push(m);
    } else out.push(...chosen);
  }
  return out;
}

function limitK(input: Sample[], opts: AggregateOptions): Sample[] {
  const k = kFromParam(opts.param);
  if (k < 1) return [];
  const out: Sample[] = [];
  for (const members of groupMembers(input, opts)) out.push(...members.slice(0, k));
  return out;
}

const MASK64 = (1n << 64n) - 1n;
const P1 = 11400714785074694791n, P2 = 14029467366897019727n, P3 = 1609587929392839161n, P4 = 9650029242287828579n, P5 = 2870177450012600261n;

function rotl64(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & MASK64;
}

function xxRound(acc: bigint, lane: bigint): bigint {
  return (rotl64((acc + lane * P2) & MASK64, 31n) * P1) & MASK64;
}

function readU64(b: Uint8Array, i: number): bigint {
  let x = 0n;
  for (let k = 7; k >= 0; k--) x = (x << 8n) | BigInt(b[i + k]!);
  return x;
}

/** XXH64 with seed 0 — the hash behind Prometheus's labels.Hash(). */
export function xxhash64(b: Uint8Array): bigint {
  const n = b.length;
  let i = 0;
  let h: bigint;
  if (n >= 32) {
    let v1 = (P1 + P2) & MASK64, v2 = P2, v3 = 0n, v4 = (MASK64 + 1n - P1) & MASK64;
    for (; i + 32 <= n; i += 32) {
      v1 = xxRound(v1, readU64(b, i));
      v2 = xxRound(v2, readU64(b, i + 8));
      v3 = xxRound(v3, readU64(b, i + 16));
      v4 = xxRound(v4, readU64(b, i + 24));
    }
    h = (rotl64(v1, 1n) + rotl64(v2, 7n) + rotl64(v3, 12n) + rotl64(v4, 18n)) & MASK64;
    for (const v of [v1, v2, v3, v4]) h = (((h ^ xxRound(0n, v)) * P1) & MASK64) + P4 & MASK64;
  } else h = P5;
  h = (h + BigInt(n)) & MASK64;
  for (; i + 8 <= n; i += 8) {
    h ^= xxRound(0n, readU64(b, i));
    h = (rotl64(h, 27n) * P1 + P4) & MASK64;
  }
  if (i + 4 <= n) {
    const u = BigInt((b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0);
    h ^= (u * P1) & MASK64;
    h = (rotl64(h, 23n) * P2 + P3) & MASK64;
    i += 4;
  }
  for (; i < n; i++) {
    h ^= (BigInt(b[i]!) * P5) & MASK64;
    h = (rotl64(h, 11n) * P1) & MASK64;
  }
  h ^= h >> 33n;
  h = (h * P2) & MASK64;
  h ^= h >> 29n;
  h = (h * P3) & MASK64;
  h ^= h >> 32n;
  return h;
}

const encoder = new TextEncoder();

/** Prometheus's labels.Hash(): XXH64 over name, 0xff, value, 0xff for each label. */
export function prometheusLabelsHash(metric: Labels): bigint {
  const parts: Uint8Array[] = [];
  let len = 0;
  for (const l of metric) {
    for (const s of [l.name, l.value]) {
      const e = encoder.encode(s);
      parts.push(e, new Uint8Array([0xff]));
      len += e.length + 1;
    }
  }
  const buf = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    buf.set(p, off);
    off += p.length;
  }
  return xxhash64(buf);
}

/** The position of a series in [0, 1] used by limit_ratio: its label hash over the uint64 range, as Prometheus. */
export function ratioOffset(metric: Labels): number {
  return Number(prometheusLabelsHash(metric)) / 18446744073709551615;
}

function limitRatio(input: Sample[], opts: AggregateOptions): Sample[] {
  const ratio = opts.param;
  if (Number.isNaN(ratio)) throw new Error("Ratio value is NaN");
  const r = Math.max(-1, Math.min(1, ratio));
  const out: Sample[] = [];
  for (const s of input) {
    const offset = ratioOffset(s.metric);
    const keep = r >= 0 ? offset < r : offset >= 1 + r;
    if (keep) out.push(s);
  }
  return out;
}

function countValues(input: Sample[], opts: AggregateOptions): Sample[] {
  const name = opts.stringParam;
  const counts = new Map<string, { metric: Labels; count: number; dropName: boolean }>();
  const order: { metric: Labels; count: number; dropName: boolean }[] = [];
  for (const s of input) {
    const valueStr = formatFloatPlain(s.f);
    const base = groupLabels(s.metric, opts.grouping, opts.without).filter((l) => l.name !== name);
    const ls: Label[] = [...base, { name, value: valueStr }].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const key = labelsKey(ls);
    let c = counts.get(key);
    if (!c) {
      c = { metric: ls, count: 0, dropName: false };
      counts.set(key, c);
      order.push(c);
    }
    c.count++;
    if (s.dropName) c.dropName = true;
  }
  return order.map((c) => ({ metric: c.metric, f: c.count, t: 0, dropName: c.dropName }));
}

/** True when `name` may be used as count_values' output label. */
export function isValidLabelName(name: string): boolean {
  return name.length > 0 && isWellFormedUTF16(name);
}

function isWellFormedUTF16(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return !s.includes("\ufffd");
}
