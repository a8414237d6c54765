/**
 * Remote-Write messages: `prometheus.WriteRequest` (1.0) and
 * `io.prometheus.write.v2.Request` (2.0), decoded straight into columns —
 * one label set per series, and every float sample as (series index, t, v)
 * in typed arrays — so a request costs a few arrays, not an object per
 * sample. Native histograms are counted per series (they are not stored
 * yet); exemplars are counted.
 *
 * Field numbers follow prometheus/prompb/types.proto, remote.proto and
 * io/prometheus/write/v2/types.proto.
 *
 * @example
 * const req = decodeWriteV1(snappyDecode(body, limit));
 * for (let i = 0; i < req.samples; i++) store(req.series[req.sampleSeries[i]], req.t[i], req.v[i]);
 */
import type { Label } from "../model/index.ts";
import { ProtoError, ProtoReader, ProtoWriter, WIRE_I64, WIRE_LEN, WIRE_VARINT } from "./protobuf.ts";

/** Metric type enum shared by 1.0's MetricMetadata and 2.0's Metadata. */
export const METRIC_TYPES = ["unknown", "counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset"] as const;

/** Metadata of one metric family (1.0) or series (2.0). */
export interface WriteMetadata {
  /** 1.0: the family name; 2.0: the series' __name__. */
  metricFamilyName: string;
  type: (typeof METRIC_TYPES)[number];
  help: string;
  unit: string;
}

/** A decoded write request, in columns. */
export interface DecodedWrite {
  /** Label pairs of each series as sent (not yet validated or sorted). */
  series: Label[][];
  /** Per sample: its series index, timestamp (ms) and value; the first `samples` entries count. */
  sampleSeries: Uint32Array;
  t: Float64Array;
  v: Float64Array;
  samples: number;
  /** Native-histogram samples per series index (absent when a series has none). */
  histogramsBySeries: Map<number, number>;
  histograms: number;
  exemplars: number;
  metadata: WriteMetadata[];
  /** 2.0: created timestamp per series index, when sent and non-zero. */
  createdTimestamps: Map<number, number>;
}

class Columns {
  sampleSeries: Uint32Array;
  t: Float64Array;
  v: Float64Array;
  /** v's bits: values are copied as words so NaN payloads (staleness markers) survive. */
  vWords: Uint32Array;
  n = 0;

  constructor(capacity: number) {
    this.sampleSeries = new Uint32Array(capacity);
    this.t = new Float64Array(capacity);
    this.v = new Float64Array(capacity);
    this.vWords = new Uint32Array(this.v.buffer);
  }

  /** Appends a sample whose value is the little-endian double at `buf[valueAt]` (or 0 when valueAt < 0). */
  push(series: number, t: number, view: DataView, valueAt: number): void {
    if (this.n === this.t.length) this.grow();
    const i = this.n++;
    this.sampleSeries[i] = series;
    this.t[i] = t;
    if (valueAt < 0) {
      this.v[i] = 0;
    } else {
      this.vWords[2 * i] = view.getUint32(valueAt, true);
      this.vWords[2 * i + 1] = view.getUint32(valueAt + 4, true);
    }
  }

  private grow(): void {
    const cap = Math.max(16, this.t.length * 2);
    const s = new Uint32Array(cap);
    s.set(this.sampleSeries);
    const t = new Float64Array(cap);
    t.set(this.t);
    const v = new Float64Array(cap);
    v.set(this.v);
    this.sampleSeries = s;
    this.t = t;
    this.v = v;
    this.vWords = new Uint32Array(v.buffer);
  }
}

function emptyDecoded(cols: Columns): DecodedWrite {
  return {
    series: [],
    sampleSeries: cols.sampleSeries,
    t: cols.t,
    v: cols.v,
    samples: 0,
    histogramsBySeries: new Map(),
    histograms: 0,
    exemplars: 0,
    metadata: [],
    createdTimestamps: new Map(),
  };
}

function finish(out: DecodedWrite, cols: Columns): DecodedWrite {
  out.sampleSeries = cols.sampleSeries;
  out.t = cols.t;
  out.v = cols.v;
  out.samples = cols.n;
  return out;
}

// A sample encodes in at least ~12 bytes when both fields are present; start there and grow.
const capacityFor = (bytes: number) => Math.max(16, Math.ceil(bytes / 16));

/** Reads a `Sample {double value = 1; int64 timestamp = 2;}` into the columns. */
function readSample(r: ProtoReader, cols: Columns, series: number): void {
  const end = r.len("Sample");
  const outer = r.end;
  r.end = end;
  let valueAt = -1;
  let t = 0;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === ((1 << 3) | WIRE_I64)) {
      valueAt = r.pos;
      r.skip(WIRE_I64, "Sample.value");
    } else if (tag === ((2 << 3) | WIRE_VARINT)) t = r.int64("Sample.timestamp");
    else r.skip(tag & 7, "Sample");
  }
  r.end = outer;
  cols.push(series, t, r.view, valueAt);
}

/** Enters the nested message at the reader's position; returns the outer end for {@link leave}. */
function enter(r: ProtoReader, what: string): number {
  const end = r.len(what);
  const outer = r.end;
  r.end = end;
  return outer;
}

function leave(r: ProtoReader, outer: number): void {
  r.end = outer;
}

function readLabel(r: ProtoReader): Label {
  let name = "";
  let value = "";
  const outer = enter(r, "Label");
  while (r.pos < r.end) {
    const tag = r.tag();
    if (tag === ((1 << 3) | WIRE_LEN)) name = r.string("Label.name");
    else if (tag === ((2 << 3) | WIRE_LEN)) value = r.string("Label.value");
    else r.skip(tag & 7, "Label");
  }
  leave(r, outer);
  return { name, value };
}

/** Adds which series was being read to a decode error (built only on error, so the hot path makes no strings). */
function inSeries(err: unknown, idx: number): never {
  if (err instanceof ProtoError) throw new ProtoError(`timeseries[${idx}]: ${err.message}`, -1, "");
  throw err;
}

/** Series decoded between two pauses of the stepwise decoders. */
const SERIES_PER_STEP = 256;

function runAll<T>(steps: Generator<void, T, undefined>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * Decodes a `prometheus.WriteRequest` (Remote-Write 1.0). Throws
 * {@link ProtoError} on malformed input, naming the series, field and byte offset.
 */
export function decodeWriteV1(buf: Uint8Array): DecodedWrite {
  return runAll(decodeWriteV1Steps(buf));
}

/** {@link decodeWriteV1} as steps: it pauses every 256 series (drive it with runSteps). */
export function* decodeWriteV1Steps(buf: Uint8Array): Generator<void, DecodedWrite, undefined> {
  const cols = new Columns(capacityFor(buf.length));
  const out = emptyDecoded(cols);
  const r = new ProtoReader(buf, 0, buf.length);
  // The decoding loop is a plain function: a loop in a generator's body is optimised later.
  while (decodeV1Entries(r, cols, out, SERIES_PER_STEP)) yield;
  return finish(out, cols);
}

/** Decodes top-level WriteRequest entries until `maxSeries` series were read; true when input remains. */
function decodeV1Entries(r: ProtoReader, cols: Columns, out: DecodedWrite, maxSeries: number): boolean {
  const stopAt = out.series.length + maxSeries;
  while (r.more()) {
    if (out.series.length >= stopAt) return true;
    const tag = r.tag();
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const idx = out.series.length;
      const labels: Label[] = [];
      out.series.push(labels);
      try {
        const outer = enter(r, "TimeSeries");
        while (r.pos < r.end) {
          const t = r.tag();
          switch (t) {
            case (1 << 3) | WIRE_LEN:
              labels.push(readLabel(r));
              break;
            case (2 << 3) | WIRE_LEN:
              readSample(r, cols, idx);
              break;
            case (3 << 3) | WIRE_LEN:
              r.skip(WIRE_LEN, "TimeSeries.exemplars");
              out.exemplars++;
              break;
            case (4 << 3) | WIRE_LEN:
              r.skip(WIRE_LEN, "TimeSeries.histograms");
              out.histograms++;
              out.histogramsBySeries.set(idx, (out.histogramsBySeries.get(idx) ?? 0) + 1);
              break;
            default:
              r.skip(t & 7, "TimeSeries");
          }
        }
        leave(r, outer);
      } catch (err) {
        inSeries(err, idx);
      }
    } else if (tag === ((3 << 3) | WIRE_LEN)) {
      const md: WriteMetadata = { metricFamilyName: "", type: "unknown", help: "", unit: "" };
      const outer = enter(r, "MetricMetadata");
      while (r.pos < r.end) {
        const t = r.tag();
        if (t === ((1 << 3) | WIRE_VARINT)) md.type = METRIC_TYPES[r.uint32("MetricMetadata.type")] ?? "unknown";
        else if (t === ((2 << 3) | WIRE_LEN)) md.metricFamilyName = r.string("MetricMetadata.metric_family_name");
        else if (t === ((4 << 3) | WIRE_LEN)) md.help = r.string("MetricMetadata.help");
        else if (t === ((5 << 3) | WIRE_LEN)) md.unit = r.string("MetricMetadata.unit");
        else r.skip(t & 7, "MetricMetadata");
      }
      leave(r, outer);
      out.metadata.push(md);
    } else {
      r.skip(tag & 7, "WriteRequest");
    }
  }
  return false;
}

function symbol(symbols: readonly string[], ref: number, what: string): string {
  const s = symbols[ref];
  if (s === undefined) throw new ProtoError(what, -1, `symbol reference ${ref} is outside the symbol table of ${symbols.length} entries`);
  return s;
}

/** Reads a packed (or, leniently, unpacked) repeated uint32 into `into`. */
function readRefs(r: ProtoReader, wire: number, into: number[]): void {
  if (wire === WIRE_VARINT) {
    into.push(r.uint32("TimeSeries.labels_refs"));
    return;
  }
  const outer = enter(r, "TimeSeries.labels_refs");
  while (r.pos < r.end) into.push(r.uint32("TimeSeries.labels_refs"));
  leave(r, outer);
}

/**
 * Decodes an `io.prometheus.write.v2.Request` (Remote-Write 2.0). Symbols
 * may come anywhere in the request; symbol 0 must be "" as the spec requires.
 */
export function decodeWriteV2(buf: Uint8Array): DecodedWrite {
  return runAll(decodeWriteV2Steps(buf));
}

/** {@link decodeWriteV2} as steps: it pauses every 256 series or symbols (drive it with runSteps). */
export function* decodeWriteV2Steps(buf: Uint8Array): Generator<void, DecodedWrite, undefined> {
  const cols = new Columns(capacityFor(buf.length));
  const out = emptyDecoded(cols);
  const symbols: string[] = [];
  // Series bodies are read after the whole request so symbols may come in any order.
  const seriesAt: number[] = [];
  const r = new ProtoReader(buf, 0, buf.length);
  // The loops are plain functions: a loop in a generator's body is optimised later.
  while (scanV2Entries(r, symbols, seriesAt, SERIES_PER_STEP)) yield;
  if (symbols.length > 0 && symbols[0] !== "") throw new ProtoError("Request.symbols[0]", -1, `must be the empty string, got ${JSON.stringify(symbols[0])}`);
  for (let from = 0; from < seriesAt.length; from += SERIES_PER_STEP) {
    if (from > 0) yield;
    decodeV2Series(r, buf, cols, out, symbols, seriesAt, from, Math.min(seriesAt.length, from + SERIES_PER_STEP));
  }
  return finish(out, cols);
}

/** Reads up to `max` top-level entries: symbols, and where each series starts; true when input remains. */
function scanV2Entries(r: ProtoReader, symbols: string[], seriesAt: number[], max: number): boolean {
  for (let k = 0; k < max; k++) {
    if (!r.more()) return false;
    const tag = r.tag();
    if (tag === ((4 << 3) | WIRE_LEN)) symbols.push(r.string("Request.symbols"));
    else if (tag === ((5 << 3) | WIRE_LEN)) {
      seriesAt.push(r.pos);
      r.skip(WIRE_LEN, "Request.timeseries");
    } else r.skip(tag & 7, "Request");
  }
  return r.more();
}

/** Decodes the series seriesAt[from, to). */
function decodeV2Series(r: ProtoReader, buf: Uint8Array, cols: Columns, out: DecodedWrite, symbols: readonly string[], seriesAt: readonly number[], from: number, to: number): void {
  const refs: number[] = [];
  for (let idx = from; idx < to; idx++) {
    r.pos = seriesAt[idx]!;
    r.end = buf.length;
    const labels: Label[] = [];
    out.series.push(labels);
    refs.length = 0;
    let mdType = 0;
    let helpRef = 0;
    let unitRef = 0;
    let hasMetadata = false;
    try {
      const outer = enter(r, "TimeSeries");
      while (r.pos < r.end) {
        const t = r.tag();
        const wire = t & 7;
        if (t >>> 3 === 1 && (wire === WIRE_VARINT || wire === WIRE_LEN)) readRefs(r, wire, refs);
        else if (t === ((2 << 3) | WIRE_LEN)) readSample(r, cols, idx);
        else if (t === ((3 << 3) | WIRE_LEN)) {
          r.skip(WIRE_LEN, "TimeSeries.histograms");
          out.histograms++;
          out.histogramsBySeries.set(idx, (out.histogramsBySeries.get(idx) ?? 0) + 1);
        } else if (t === ((4 << 3) | WIRE_LEN)) {
          r.skip(WIRE_LEN, "TimeSeries.exemplars");
          out.exemplars++;
        } else if (t === ((5 << 3) | WIRE_LEN)) {
          hasMetadata = true;
          const mdOuter = enter(r, "TimeSeries.metadata");
          while (r.pos < r.end) {
            const m = r.tag();
            if (m === ((1 << 3) | WIRE_VARINT)) mdType = r.uint32("Metadata.type");
            else if (m === ((3 << 3) | WIRE_VARINT)) helpRef = r.uint32("Metadata.help_ref");
            else if (m === ((4 << 3) | WIRE_VARINT)) unitRef = r.uint32("Metadata.unit_ref");
            else r.skip(m & 7, "Metadata");
          }
          leave(r, mdOuter);
        } else if (t === ((6 << 3) | WIRE_VARINT)) {
          const ct = r.int64("TimeSeries.created_timestamp");
          if (ct !== 0) out.createdTimestamps.set(idx, ct);
        } else r.skip(wire, "TimeSeries");
      }
      leave(r, outer);
      if (refs.length % 2 !== 0) throw new ProtoError("TimeSeries.labels_refs", -1, `odd number of references (${refs.length}); they come in name/value pairs`);
      for (let i = 0; i < refs.length; i += 2) {
        labels.push({ name: symbol(symbols, refs[i]!, "TimeSeries.labels_refs"), value: symbol(symbols, refs[i + 1]!, "TimeSeries.labels_refs") });
      }
      if (hasMetadata) {
        let name = "";
        for (const l of labels) if (l.name === "__name__") name = l.value;
        out.metadata.push({
          metricFamilyName: name,
          type: METRIC_TYPES[mdType] ?? "unknown",
          help: symbol(symbols, helpRef, "Metadata.help_ref"),
          unit: symbol(symbols, unitRef, "Metadata.unit_ref"),
        });
      }
    } catch (err) {
      inSeries(err, idx);
    }
  }
}

/** One series to encode: labels plus samples (parallel arrays). */
export interface EncodeSeries {
  labels: readonly Label[];
  t: ArrayLike<number>;
  v: ArrayLike<number>;
  /** Only the first `length` samples (default t.length). */
  length?: number;
}

/** Encodes a 1.0 `WriteRequest` (not compressed). */
export function encodeWriteV1(series: readonly EncodeSeries[], metadata: readonly WriteMetadata[] = []): Uint8Array {
  const w = new ProtoWriter(1024 + series.length * 64);
  for (const s of series) {
    w.fork(1);
    for (const l of s.labels) {
      w.fork(1);
      w.string(1, l.name);
      w.string(2, l.value);
      w.join();
    }
    const n = s.length ?? s.t.length;
    for (let i = 0; i < n; i++) {
      w.fork(2);
      w.tag(1, WIRE_I64);
      w.doubleAt(s.v, i);
      w.tag(2, WIRE_VARINT);
      w.int64(s.t[i]!);
      w.join();
    }
    w.join();
  }
  for (const md of metadata) {
    w.fork(3);
    w.tag(1, WIRE_VARINT);
    w.uint32(Math.max(0, METRIC_TYPES.indexOf(md.type)));
    w.string(2, md.metricFamilyName);
    if (md.help !== "") w.string(4, md.help);
    if (md.unit !== "") w.string(5, md.unit);
    w.join();
  }
  return w.finish();
}

/** A series for 2.0 encoding: optional metadata and created timestamp. */
export interface EncodeSeriesV2 extends EncodeSeries {
  metadata?: { type: WriteMetadata["type"]; help: string; unit: string };
  createdTimestamp?: number;
}

/** Encodes a 2.0 `Request` with its symbol table (not compressed). */
export function encodeWriteV2(series: readonly EncodeSeriesV2[]): Uint8Array {
  const symbols = new Map<string, number>([["", 0]]);
  const ref = (s: string) => {
    let r = symbols.get(s);
    if (r === undefined) {
      r = symbols.size;
      symbols.set(s, r);
    }
    return r;
  };
  const seriesRefs = series.map((s) => {
    const refs: number[] = [];
    for (const l of s.labels) refs.push(ref(l.name), ref(l.value));
    const md = s.metadata ? [Math.max(0, METRIC_TYPES.indexOf(s.metadata.type)), ref(s.metadata.help), ref(s.metadata.unit)] : undefined;
    return { refs, md };
  });
  const w = new ProtoWriter(1024 + series.length * 64);
  for (const s of symbols.keys()) w.string(4, s);
  series.forEach((s, i) => {
    const { refs, md } = seriesRefs[i]!;
    w.fork(5);
    w.fork(1);
    for (const r of refs) w.uint32(r);
    w.join();
    const n = s.length ?? s.t.length;
    for (let j = 0; j < n; j++) {
      w.fork(2);
      w.tag(1, WIRE_I64);
      w.doubleAt(s.v, j);
      w.tag(2, WIRE_VARINT);
      w.int64(s.t[j]!);
      w.join();
    }
    if (md) {
      w.fork(5);
      w.tag(1, WIRE_VARINT);
      w.uint32(md[0]!);
      w.tag(3, WIRE_VARINT);
      w.uint32(md[1]!);
      w.tag(4, WIRE_VARINT);
      w.uint32(md[2]!);
      w.join();
    }
    if (s.createdTimestamp) {
      w.tag(6, WIRE_VARINT);
      w.int64(s.createdTimestamp);
    }
    w.join();
  });
  return w.finish();
}
