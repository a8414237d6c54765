/**
 * Pushed metric families: the Pushgateway's unit of storage. A push body (text
 * format 0.0.4, or protobuf-delimited `io.prometheus.client.MetricFamily`
 * messages) becomes a list of families; the gateway serves them back in the
 * text format and as JSON on `/api/v1/metrics`.
 *
 * Label sets here keep empty values (`instance=""`), unlike the TSDB's
 * `Labels`, because the Pushgateway exposes them as pushed.
 *
 * @example
 * const fams = parseTextFamilies('# TYPE a counter\na{x="1"} 2\n');
 * fams[0]; // { name: "a", type: "counter", metrics: [{ labels: [["x", "1"]], value: 2 }] }
 */
import { formatGoFloatG, goQuote } from "../base/index.ts";
import { TextParser, TextParseError, type MetricType } from "../model/index.ts";

export type FamilyType = MetricType;

/** A label pair; sets are kept sorted by name. */
export type Pair = readonly [string, string];

/** One metric of a family. Which fields are set depends on the family's type. */
export interface PushedMetric {
  labels: Pair[];
  /** counter, gauge, untyped */
  value?: number;
  /** summary, histogram */
  count?: number;
  sum?: number;
  /** summary: [quantile, value] in input order */
  quantiles?: [number, number][];
  /** histogram: [upper bound, cumulative count] in input order */
  buckets?: [number, number][];
  /** Explicit timestamp of the pushed sample (refused by the consistency check). */
  timestampMs?: number;
}

export interface PushedFamily {
  name: string;
  /** Absent when the body had no HELP line for the family. */
  help?: string;
  type: FamilyType;
  metrics: PushedMetric[];
}

/** A push body that cannot be parsed; the message is the Pushgateway's kind. */
export class PushBodyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PushBodyError";
  }
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function sortPairs(pairs: Pair[]): Pair[] {
  return pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function pairsKey(pairs: readonly Pair[]): string {
  let k = "";
  for (const [n, v] of pairs) k += `${n}\xff${v}\xfe`;
  return k;
}

/** Parses a label value that holds a float (`le`, `quantile`), as Go's ParseFloat does. */
function parseBound(text: string, what: string, name: string): number {
  const t = text.trim();
  if (t === "+Inf" || t === "Inf" || t === "inf" || t === "+inf") return Infinity;
  if (t === "-Inf" || t === "-inf") return -Infinity;
  if (t === "NaN" || t === "nan") return NaN;
  const v = Number(t);
  if (t === "" || Number.isNaN(v)) throw new PushBodyError(`expected float as value for '${what}' label, got "${text}" for metric "${name}"`);
  return v;
}

/**
 * Parses a text-format body into families, grouping `_bucket`, `_sum` and
 * `_count` (and `quantile`-labelled) samples under their summary or histogram
 * family as the text format defines. Throws PushBodyError on malformed input.
 */
export function parseTextFamilies(body: string): PushedFamily[] {
  const p = new TextParser(body);
  const families = new Map<string, PushedFamily>();
  const order: PushedFamily[] = [];
  const sampleSeen = new Set<string>();
  const metricIndex = new Map<string, Map<string, PushedMetric>>();
  const family = (name: string): PushedFamily => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: "untyped", metrics: [] };
      families.set(name, f);
      order.push(f);
    }
    return f;
  };
  const metricOf = (f: PushedFamily, labels: Pair[]): PushedMetric => {
    let idx = metricIndex.get(f.name);
    if (!idx) metricIndex.set(f.name, (idx = new Map()));
    const key = pairsKey(labels);
    let m = idx.get(key);
    if (!m) {
      m = { labels };
      idx.set(key, m);
      f.metrics.push(m);
    }
    return m;
  };
  const newMetric = (f: PushedFamily, labels: Pair[]): PushedMetric => {
    const m: PushedMetric = { labels };
    f.metrics.push(m);
    return m;
  };
  const helpSeen = new Set<string>();
  const typed = new Set<string>();
  try {
    for (let e = p.next(); e !== "eof"; e = p.next()) {
      if (e === "help") {
        const name = p.metricName();
        if (helpSeen.has(name)) throw new PushBodyError(`text format parsing error in line ${p.line}: second HELP line for metric name "${name}"`);
        helpSeen.add(name);
        family(name).help = p.help();
      } else if (e === "type") {
        const name = p.metricName();
        const f = family(name);
        if (sampleSeen.has(name) || typed.has(name)) {
          throw new PushBodyError(`text format parsing error in line ${p.line}: second TYPE line for metric name "${name}", or TYPE reported after samples`);
        }
        typed.add(name);
        f.type = p.type();
      } else if (e === "series") {
        const all = p.labels();
        let name = "";
        const pairs: Pair[] = [];
        for (const l of all) {
          if (l.name === "__name__") name = l.value;
          else pairs.push([l.name, l.value]);
          // Bytes that were not UTF-8 decode to lone surrogates (see pushBodyText); Go's parser refuses them in values.
          if (!l.value.isWellFormed()) throw new PushBodyError(`text format parsing error in line ${p.line}: invalid label value ${goQuote(l.value)}`);
        }
        const ts = p.timestamp();
        const value = p.value;
        // Which family does this sample belong to?
        let f: PushedFamily | undefined;
        let role: "value" | "sum" | "count" | "bucket" | "quantile" = "value";
        for (const [suffix, r] of [["_sum", "sum"], ["_count", "count"], ["_bucket", "bucket"]] as const) {
          if (name.endsWith(suffix)) {
            const base = families.get(name.slice(0, -suffix.length));
            if (base && (base.type === "histogram" || (base.type === "summary" && r !== "bucket"))) {
              f = base;
              role = r;
            }
          }
        }
        if (!f) {
          f = family(name);
          if (f.type === "summary") role = "quantile";
          else if (f.type === "histogram") {
            throw new PushBodyError(`text format parsing error in line ${p.line}: expected bucket, sum or count for histogram "${name}"`);
          }
        }
        sampleSeen.add(f.name);
        let special = "";
        if (role === "bucket") special = "le";
        if (role === "quantile") special = "quantile";
        let bound = NaN;
        const own: Pair[] = [];
        let found = false;
        for (const pr of pairs) {
          if (special !== "" && pr[0] === special) {
            bound = parseBound(pr[1], special, name);
            found = true;
          } else own.push(pr);
        }
        if (special !== "" && !found) {
          throw new PushBodyError(`text format parsing error in line ${p.line}: missing label "${special}" for metric "${name}"`);
        }
        // A repeated plain sample is a second metric (the consistency check refuses it);
        // summary and histogram lines with one label set build one metric.
        const m = role === "value" ? newMetric(f, sortPairs(own)) : metricOf(f, sortPairs(own));
        if (ts !== undefined) m.timestampMs = ts;
        switch (role) {
          case "value":
            m.value = value;
            break;
          case "sum":
            m.sum = value;
            break;
          case "count":
            m.count = value;
            break;
          case "bucket":
            (m.buckets ??= []).push([bound, value]);
            break;
          case "quantile":
            (m.quantiles ??= []).push([bound, value]);
            break;
        }
      }
    }
  } catch (err) {
    if (err instanceof TextParseError) throw new PushBodyError(`text format parsing error in line ${err.line}: ${err.message}`);
    throw err;
  }
  return order.filter((f) => f.metrics.length > 0);
}

// ---------------------------------------------------------------------------
// Protobuf (io.prometheus.client.MetricFamily, varint length-delimited)

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array, readonly end = buf.length) {}

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new PushBodyError("unexpected end of protobuf message");
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new PushBodyError("protobuf varint too long");
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new PushBodyError("unexpected end of protobuf message");
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true);
    this.pos += 8;
    return v;
  }

  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.end) throw new PushBodyError("unexpected end of protobuf message");
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  sub(): Reader {
    const b = this.bytes();
    return new Reader(b);
  }

  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.bytes();
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new PushBodyError(`invalid protobuf wire type ${wire}`);
    }
    if (this.pos > this.end) throw new PushBodyError("unexpected end of protobuf message");
  }

  *fields(): Generator<[number, number]> {
    while (this.pos < this.end) {
      const key = this.varint();
      const field = Math.floor(key / 8), wire = key & 7;
      if (field === 0) throw new PushBodyError("invalid protobuf field number 0");
      yield [field, wire];
    }
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function str(r: Reader): string {
  try {
    return utf8.decode(r.bytes());
  } catch (err) {
    if (err instanceof PushBodyError) throw err;
    throw new PushBodyError("invalid UTF-8 in protobuf string");
  }
}

const PROTO_TYPES: FamilyType[] = ["counter", "gauge", "summary", "untyped", "histogram"];

function expectWire(wire: number, want: number, what: string): void {
  if (wire !== want) throw new PushBodyError(`protobuf field ${what} has wire type ${wire}, expected ${want}`);
}

function decodeValueMessage(r: Reader): number {
  let v = 0;
  for (const [field, wire] of r.fields()) {
    if (field === 1) {
      expectWire(wire, 1, "value");
      v = r.double();
    } else r.skip(wire);
  }
  return v;
}

function decodeMetric(r: Reader, type: FamilyType): PushedMetric {
  const m: PushedMetric = { labels: [] };
  for (const [field, wire] of r.fields()) {
    switch (field) {
      case 1: {
        expectWire(wire, 2, "label");
        const lr = r.sub();
        let name = "", value = "";
        for (const [f, w] of lr.fields()) {
          if (f === 1) {
            expectWire(w, 2, "label name");
            name = str(lr);
          } else if (f === 2) {
            expectWire(w, 2, "label value");
            value = str(lr);
          } else lr.skip(w);
        }
        m.labels.push([name, value]);
        break;
      }
      case 2: // gauge
      case 3: // counter
      case 5: // untyped
        expectWire(wire, 2, "value message");
        m.value = decodeValueMessage(r.sub());
        break;
      case 4: {
        expectWire(wire, 2, "summary");
        const sr = r.sub();
        m.count = 0;
        m.sum = 0;
        m.quantiles = [];
        for (const [f, w] of sr.fields()) {
          if (f === 1 && w === 0) m.count = sr.varint();
          else if (f === 2 && w === 1) m.sum = sr.double();
          else if (f === 3 && w === 2) {
            const qr = sr.sub();
            let q = 0, v = 0;
            for (const [qf, qw] of qr.fields()) {
              if (qf === 1 && qw === 1) q = qr.double();
              else if (qf === 2 && qw === 1) v = qr.double();
              else qr.skip(qw);
            }
            m.quantiles.push([q, v]);
          } else sr.skip(w);
        }
        break;
      }
      case 6:
        expectWire(wire, 0, "timestamp_ms");
        m.timestampMs = r.varint();
        break;
      case 7: {
        expectWire(wire, 2, "histogram");
        const hr = r.sub();
        m.count = 0;
        m.sum = 0;
        m.buckets = [];
        for (const [f, w] of hr.fields()) {
          if (f === 1 && w === 0) m.count = hr.varint();
          else if (f === 4 && w === 1) m.count = hr.double();
          else if (f === 2 && w === 1) m.sum = hr.double();
          else if (f === 3 && w === 2) {
            const br = hr.sub();
            let count = 0, ub = 0;
            for (const [bf, bw] of br.fields()) {
              if (bf === 1 && bw === 0) count = br.varint();
              else if (bf === 4 && bw === 1) count = br.double();
              else if (bf === 2 && bw === 1) ub = br.double();
              else br.skip(bw);
            }
            m.buckets.push([ub, count]);
          } else if (f >= 5 && f <= 14) {
            throw new PushBodyError("native histograms are not supported by this Pushgateway");
          } else hr.skip(w);
        }
        break;
      }
      default:
        r.skip(wire);
    }
  }
  if (m.value === undefined && (type === "counter" || type === "gauge" || type === "untyped")) m.value = 0;
  sortPairs(m.labels);
  return m;
}

/** Decodes one MetricFamily message. */
function decodeFamily(r: Reader): PushedFamily {
  let name = "";
  let help: string | undefined;
  let type: FamilyType = "counter"; // the protobuf default (COUNTER = 0)
  const raw: Reader[] = [];
  for (const [field, wire] of r.fields()) {
    if (field === 1) {
      expectWire(wire, 2, "name");
      name = str(r);
    } else if (field === 2) {
      expectWire(wire, 2, "help");
      help = str(r);
    } else if (field === 3) {
      expectWire(wire, 0, "type");
      const t = r.varint();
      const ft = PROTO_TYPES[t];
      if (ft === undefined) throw new PushBodyError(`unsupported metric type ${t === 5 ? "GAUGE_HISTOGRAM" : t}`);
      type = ft;
    } else if (field === 4) {
      expectWire(wire, 2, "metric");
      raw.push(r.sub());
    } else r.skip(wire);
  }
  if (name === "") throw new PushBodyError("metric family has no name");
  const metrics = raw.map((mr) => decodeMetric(mr, type));
  const f: PushedFamily = { name, type, metrics };
  if (help !== undefined) f.help = help;
  return f;
}

/** Parses a protobuf-delimited body (a sequence of varint-length-prefixed MetricFamily messages). */
export function parseProtobufFamilies(body: Uint8Array): PushedFamily[] {
  const r = new Reader(body);
  const out: PushedFamily[] = [];
  const seen = new Set<string>();
  while (r.pos < r.end) {
    const fam = decodeFamily(r.sub());
    if (seen.has(fam.name)) {
      // Several messages for one family: merge their metrics.
      const prev = out.find((f) => f.name === fam.name)!;
      prev.metrics.push(...fam.metrics);
    } else {
      seen.add(fam.name);
      out.push(fam);
    }
  }
  return out;
}

/** Validates names in parsed families (protobuf bodies bypass the text parser's checks). */
export function validateFamilies(fams: readonly PushedFamily[]): void {
  for (const f of fams) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(f.name)) throw new PushBodyError(`invalid metric name "${f.name}"`);
    for (const m of f.metrics) {
      const names = new Set<string>();
      for (const [n] of m.labels) {
        if (!LABEL_NAME.test(n) || n.startsWith("__")) throw new PushBodyError(`invalid label name "${n}" for metric "${f.name}"`);
        if (names.has(n)) throw new PushBodyError(`duplicate label name "${n}" for metric "${f.name}"`);
        names.add(n);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Output

/** Formats a value as the text exposition format writes floats (Go's %g, shortest). */
export function formatExpositionFloat(v: number): string {
  return formatGoFloatG(v);
}

const formatFloatG = formatExpositionFloat;

function escapeValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function labelText(pairs: readonly Pair[], extra?: Pair): string {
  const parts: string[] = [];
  for (const [n, v] of pairs) parts.push(`${n}="${escapeValue(v)}"`);
  if (extra) parts.push(`${extra[0]}="${escapeValue(extra[1])}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

/**
 * Orders metrics as the Prometheus client library normalises a family: fewer
 * labels first, then label values position by position.
 */
export function compareMetrics(a: PushedMetric, b: PushedMetric): number {
  if (a.labels.length !== b.labels.length) return a.labels.length - b.labels.length;
  for (let i = 0; i < a.labels.length; i++) {
    const x = a.labels[i]![1], y = b.labels[i]![1];
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function ts(m: PushedMetric): string {
  return m.timestampMs === undefined ? "" : ` ${m.timestampMs}`;
}

/** Writes families (already merged and sorted) in the text format 0.0.4. */
export function writeTextFamilies(fams: readonly PushedFamily[], out: string[]): void {
  for (const f of fams) {
    if (f.metrics.length === 0) continue;
    if (f.help !== undefined) out.push(`# HELP ${f.name} ${escapeHelp(f.help)}\n`);
    out.push(`# TYPE ${f.name} ${f.type}\n`);
    for (const m of f.metrics) {
      const t = ts(m);
      if (f.type === "summary") {
        for (const [q, v] of m.quantiles ?? []) out.push(`${f.name}${labelText(m.labels, ["quantile", formatExpositionFloat(q)])} ${formatExpositionFloat(v)}${t}\n`);
        out.push(`${f.name}_sum${labelText(m.labels)} ${formatExpositionFloat(m.sum ?? 0)}${t}\n`);
        out.push(`${f.name}_count${labelText(m.labels)} ${formatExpositionFloat(m.count ?? 0)}${t}\n`);
      } else if (f.type === "histogram") {
        let hasInf = false;
        for (const [ub, c] of m.buckets ?? []) {
          if (ub === Infinity) hasInf = true;
          out.push(`${f.name}_bucket${labelText(m.labels, ["le", formatExpositionFloat(ub)])} ${formatExpositionFloat(c)}${t}\n`);
        }
        if (!hasInf) out.push(`${f.name}_bucket${labelText(m.labels, ["le", "+Inf"])} ${formatExpositionFloat(m.count ?? 0)}${t}\n`);
        out.push(`${f.name}_sum${labelText(m.labels)} ${formatExpositionFloat(m.sum ?? 0)}${t}\n`);
        out.push(`${f.name}_count${labelText(m.labels)} ${formatExpositionFloat(m.count ?? 0)}${t}\n`);
      } else {
        out.push(`${f.name}${labelText(m.labels)} ${formatExpositionFloat(m.value ?? 0)}${t}\n`);
      }
    }
  }
}

/** The metric in the protobuf text form the Go client uses in its error messages. */
export function protoText(f: PushedFamily, m: PushedMetric): string {
  const parts: string[] = [];
  for (const [n, v] of m.labels) parts.push(`label:<name:${JSON.stringify(n)} value:${JSON.stringify(v)} >`);
  const g = formatFloatG;
  switch (f.type) {
    case "summary":
      parts.push(
        `summary:<sample_count:${m.count ?? 0} sample_sum:${g(m.sum ?? 0)} ${(m.quantiles ?? []).map(([q, v]) => `quantile:<quantile:${g(q)} value:${g(v)} > `).join("")}>`,
      );
      break;
    case "histogram":
      parts.push(
        `histogram:<sample_count:${m.count ?? 0} sample_sum:${g(m.sum ?? 0)} ${(m.buckets ?? []).map(([ub, c]) => `bucket:<cumulative_count:${c} upper_bound:${g(ub)} > `).join("")}>`,
      );
      break;
    default:
      parts.push(`${f.type}:<value:${g(m.value ?? 0)} >`);
  }
  if (m.timestampMs !== undefined) parts.push(`timestamp_ms:${m.timestampMs}`);
  return `{ ${parts.join(" ")} }`;
}

/** The JSON form of one family on `/api/v1/metrics`. */
export function familyJSON(f: PushedFamily, timeStamp: string): Record<string, unknown> {
  const g = formatExpositionFloat;
  const obj: Record<string, unknown> = { time_stamp: timeStamp, type: f.type.toUpperCase() };
  if (f.help !== undefined) obj.help = f.help;
  obj.metrics = f.metrics.map((m) => {
    const labels: Record<string, string> = {};
    for (const [n, v] of m.labels) labels[n] = v;
    if (f.type === "summary") {
      const quantiles: Record<string, string> = {};
      for (const [q, v] of m.quantiles ?? []) quantiles[g(q)] = g(v);
      return { count: g(m.count ?? 0), labels, quantiles, sum: g(m.sum ?? 0) };
    }
    if (f.type === "histogram") {
      const buckets: Record<string, string> = {};
      for (const [ub, c] of m.buckets ?? []) buckets[g(ub)] = g(c);
      return { buckets, count: g(m.count ?? 0), labels, sum: g(m.sum ?? 0) };
    }
    return { labels, value: g(m.value ?? 0) };
  });
  return obj;
}

export { pairsKey, sortPairs };
