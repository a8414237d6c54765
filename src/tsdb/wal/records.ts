/**
 * WAL record payloads, byte-compatible with Prometheus's `tsdb/record`:
 *
 * - series (type 1): for each series `ref:be64 · nlabels:uvarint · (len:uvarint name · len:uvarint value)*`
 * - samples (type 2): `firstRef:be64 · firstT:be64`, then per sample
 *   `(ref-firstRef):varint · (t-firstT):varint · valueBits:be64`
 * - tombstones (type 3): per deleted interval `ref:be64 · mint:varint · maxt:varint`
 *
 * Values travel as raw bits (never through a JS number) so NaN payloads such
 * as the staleness marker survive; this assumes a little-endian host, as
 * every platform Bun runs on is. Timestamps are int64 ms carried in float64.
 *
 * @example
 * const rec = encodeSeries([{ ref: 1, labels: [{ name: "job", value: "a" }] }]);
 * decodeSeries(rec); // [{ ref: 1, labels: [...] }]
 */
import type { Label, Labels } from "../../model/index.ts";

/** Record type bytes (first byte of every record). */
export const RecordType = { Series: 1, Samples: 2, Tombstones: 3 } as const;

/** A deleted interval [mint, maxt] (both inclusive) of one series, as logged. */
export interface TombstoneRecord {
  ref: number;
  mint: number;
  maxt: number;
}

/** A series definition as logged: the ref the head gave it and its labels. */
export interface SeriesRecord {
  ref: number;
  labels: Labels;
}

/** Decoded samples of one record, in record order; `length` entries are valid. */
export interface SamplesRecord {
  refs: Uint32Array;
  t: Float64Array;
  v: Float64Array;
  length: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });
const TWO32 = 4294967296;
/** Strings up to this many bytes are decoded by hand when ASCII (TextDecoder costs more per call than they take). */
const ASCII_FAST_MAX = 64;
const asciiScratch: number[] = [];

/** A growable byte buffer with the varint/big-endian writers the records need. */
export class ByteWriter {
  buf: Uint8Array;
  len = 0;
  private view: DataView;

  constructor(capacity = 1024) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  /** Unsigned LEB128 of a non-negative integer up to 2^53. */
  uvarint(x: number): void {
    this.reserve(10);
    while (x >= 0x80) {
      this.buf[this.len++] = (x % 0x80) | 0x80;
      x = Math.floor(x / 0x80);
    }
    this.buf[this.len++] = x;
  }

  /** Zig-zag signed varint, as Go's binary.PutVarint. */
  varint(x: number): void {
    this.uvarint(x >= 0 ? x * 2 : -x * 2 - 1);
  }

  /** Big-endian 64-bit two's complement of an integer in the safe range. */
  be64(x: number): void {
    this.reserve(8);
    const hi = Math.floor(x / TWO32);
    this.view.setInt32(this.len, hi);
    this.view.setUint32(this.len + 4, x - hi * TWO32);
    this.len += 8;
  }

  /** Writes a float64's raw bits (given as host little-endian 32-bit halves) big-endian. */
  be64Bits(lo: number, hi: number): void {
    this.reserve(8);
    this.view.setUint32(this.len, hi);
    this.view.setUint32(this.len + 4, lo);
    this.len += 8;
  }

  /** Length-prefixed UTF-8; ASCII (the common case for labels) is copied without an encoder call. */
  string(s: string): void {
    const n = s.length;
    this.reserve(10 + n);
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      this.uvarint(n);
      const b = this.buf;
      let o = this.len;
      for (let i = 0; i < n; i++) b[o++] = s.charCodeAt(i);
      this.len = o;
      return;
    }
    const bytes = encoder.encode(s);
    this.uvarint(bytes.length);
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  /** The written bytes (a view; copy if the writer is reused). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

/** Sequential reader over a record; throws a descriptive Error on truncation. */
class ByteReader {
  pos = 0;
  private readonly view: DataView;
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) throw new Error(`WAL record truncated reading ${what} at byte ${this.pos}`);
  }
  uvarint(): number {
    let x = 0, mul = 1;
    for (let i = 0; i < 10; i++) {
      this.need(1, "varint");
      const b = this.buf[this.pos++]!;
      x += (b & 0x7f) * mul;
      if (b < 0x80) return x;
      mul *= 0x80;
    }
    throw new Error(`WAL record has an overlong varint at byte ${this.pos}`);
  }
  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }
  be64(): number {
    this.need(8, "int64");
    const hi = this.view.getInt32(this.pos), lo = this.view.getUint32(this.pos + 4);
    this.pos += 8;
    return hi * TWO32 + lo;
  }
  /** Skips a length-prefixed string. */
  skipString(): void {
    const n = this.uvarint();
    this.need(n, "string");
    this.pos += n;
  }
  /** Length-prefixed UTF-8; short ASCII strings (most label names and values) skip the decoder. */
  string(): string {
    const n = this.uvarint();
    this.need(n, "string");
    const b = this.buf, start = this.pos, end = start + n;
    this.pos = end;
    if (n <= ASCII_FAST_MAX) {
      const codes = asciiScratch;
      codes.length = n;
      let i = start;
      for (; i < end; i++) {
        const c = b[i]!;
        if (c >= 0x80) break;
        codes[i - start] = c;
      }
      if (i === end) return String.fromCharCode.apply(null, codes);
    }
    return decoder.decode(b.subarray(start, end));
  }
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
}

/** Encodes a series record. */
export function encodeSeries(series: readonly SeriesRecord[], w = new ByteWriter()): Uint8Array {
  w.byte(RecordType.Series);
  for (const s of series) {
    w.be64(s.ref);
    w.uvarint(s.labels.length);
    for (const l of s.labels) {
      w.string(l.name);
      w.string(l.value);
    }
  }
  return w.bytes();
}

/**
 * Decodes a series record. `intern` lets the caller share label objects
 * between series (the head's label interning); `wanted`, when given, skips
 * (without decoding their labels) the series whose ref it rejects.
 */
export function decodeSeries(
  rec: Uint8Array, intern: (name: string, value: string) => Label = (name, value) => ({ name, value }), wanted?: (ref: number) => boolean,
): SeriesRecord[] {
  if (rec[0] !== RecordType.Series) throw new Error(`not a series record (type ${rec[0]})`);
  const r = new ByteReader(rec);
  r.pos = 1;
  const out: SeriesRecord[] = [];
  while (!r.done) {
    const ref = r.be64();
    const n = r.uvarint();
    if (wanted && !wanted(ref)) {
      for (let i = 0; i < 2 * n; i++) r.skipString();
      continue;
    }
    const labels: Label[] = [];
    for (let i = 0; i < n; i++) {
      const name = r.string();
      labels.push(intern(name, r.string()));
    }
    out.push({ ref, labels });
  }
  return out;
}

/**
 * Encodes samples (refs[i], t[i], v[i]) for the indices in `idx[0, count)`
 * (or 0..count-1 when idx is null) into a samples record.
 */
export function encodeSamples(
  refs: Uint32Array, t: Float64Array, v: Float64Array, count: number, idx: Uint32Array | null = null, w = new ByteWriter(16 + count * 14),
): Uint8Array {
  w.byte(RecordType.Samples);
  if (count === 0) return w.bytes();
  const vw = new Uint32Array(v.buffer, v.byteOffset, v.length * 2);
  const first = idx ? idx[0]! : 0;
  const firstRef = refs[first]!, firstT = t[first]!;
  w.be64(firstRef);
  w.be64(firstT);
  for (let k = 0; k < count; k++) {
    const i = idx ? idx[k]! : k;
    w.varint(refs[i]! - firstRef);
    w.varint(t[i]! - firstT);
    w.be64Bits(vw[2 * i]!, vw[2 * i + 1]!);
  }
  return w.bytes();
}

/** Decodes a samples record into typed arrays (values keep their exact bits). */
export function decodeSamples(rec: Uint8Array): SamplesRecord {
  if (rec[0] !== RecordType.Samples) throw new Error(`not a samples record (type ${rec[0]})`);
  const r = new ByteReader(rec);
  r.pos = 1;
  // Each sample takes at least 10 bytes (two 1-byte varints + 8 value bytes).
  const cap = Math.max(0, Math.floor((rec.length - 17) / 10) + 1);
  const refs = new Uint32Array(cap), t = new Float64Array(cap), v = new Float64Array(cap);
  if (r.done) return { refs, t, v, length: 0 };
  const vw = new Uint32Array(v.buffer);
  const view = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  const firstRef = r.be64(), firstT = r.be64();
  let n = 0;
  while (!r.done) {
    if (n >= cap) throw new Error("WAL samples record longer than its size allows");
    const ref = firstRef + r.varint();
    if (ref < 0 || ref > 0xffffffff) throw new Error(`WAL samples record has series ref ${ref} out of range`);
    refs[n] = ref;
    t[n] = firstT + r.varint();
    if (r.pos + 8 > rec.length) throw new Error(`WAL record truncated reading value at byte ${r.pos}`);
    vw[2 * n + 1] = view.getUint32(r.pos);
    vw[2 * n] = view.getUint32(r.pos + 4);
    r.pos += 8;
    n++;
  }
  return { refs, t, v, length: n };
}

/** Encodes a tombstones record (one entry per deleted interval). */
export function encodeTombstones(stones: readonly TombstoneRecord[], w = new ByteWriter(1 + stones.length * 24)): Uint8Array {
  w.byte(RecordType.Tombstones);
  for (const s of stones) {
    w.be64(s.ref);
    w.varint(s.mint);
    w.varint(s.maxt);
  }
  return w.bytes();
}

/** Decodes a tombstones record. */
export function decodeTombstones(rec: Uint8Array): TombstoneRecord[] {
  if (rec[0] !== RecordType.Tombstones) throw new Error(`not a tombstones record (type ${rec[0]})`);
  const r = new ByteReader(rec);
  r.pos = 1;
  const out: TombstoneRecord[] = [];
  while (!r.done) {
    const ref = r.be64();
    if (ref < 0 || ref > 0xffffffff) throw new Error(`WAL tombstones record has series ref ${ref} out of range`);
    out.push({ ref, mint: r.varint(), maxt: r.varint() });
  }
  return out;
}
