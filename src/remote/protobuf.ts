/**
 * Protobuf wire format, just what the remote-write/read messages need: a
 * bounds-checked reader over one message's bytes and a growable writer.
 * Every read checks its bounds and throws a {@link ProtoError} naming what
 * was being read and where, so a truncated or mutated body is a clear error
 * and never an out-of-range read.
 *
 * int64 fields are carried as float64 numbers (exact up to 2^53, which covers
 * every millisecond timestamp); larger magnitudes round, as JSON would.
 *
 * @example
 * const r = new ProtoReader(bytes, 0, bytes.length);
 * while (r.more()) {
 *   const tag = r.tag();
 *   if (tag === (1 << 3 | WIRE_LEN)) name = r.string("Label.name");
 *   else r.skip(tag & 7, "Label");
 * }
 */

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

/** A malformed protobuf message: what was being read and at which byte offset. */
export class ProtoError extends Error {
  /** `offset` -1 when no position applies; `why` "" to wrap an already complete message. */
  constructor(what: string, offset: number, why: string) {
    super(why === "" ? what : offset < 0 ? `${what}: ${why}` : `${what} at byte ${offset}: ${why}`);
    this.name = "ProtoError";
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const MAX_INTERNED = 64;
const INTERN_SLOTS = 8192;
const interned: (string | undefined)[] = new Array(INTERN_SLOTS).fill(undefined);

/** Bun's (and Node's) Buffer has a native latin1 slice; for ASCII bytes it is the string itself. */
interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
}
const TWO_32 = 4294967296;

/** Reads fields of one message in `buf[pos, end)`. */
export class ProtoReader {
  readonly view: DataView;
  private latin1Buf: Latin1Slicer | undefined;

  constructor(readonly buf: Uint8Array, public pos: number, public end: number) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private latin1(): Latin1Slicer {
    this.latin1Buf ??= Buffer.from(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength) as unknown as Latin1Slicer;
    return this.latin1Buf;
  }

  more(): boolean {
    return this.pos < this.end;
  }

  /** The next field's tag (field number << 3 | wire type). */
  tag(): number {
    const at = this.pos;
    const t = this.uint32("field tag");
    if (t >>> 3 === 0) throw new ProtoError("field tag", at, "field number 0 is invalid");
    return t;
  }

  /** A varint that must fit 32 bits (tags, lengths, enums, uint32 refs). */
  uint32(what: string): number {
    const buf = this.buf;
    const pos = this.pos;
    if (pos < this.end) {
      const b0 = buf[pos]!;
      if (b0 < 0x80) {
        this.pos = pos + 1;
        return b0;
      }
      if (pos + 1 < this.end) {
        const b1 = buf[pos + 1]!;
        if (b1 < 0x80) {
          this.pos = pos + 2;
          return (b0 & 0x7f) | (b1 << 7);
        }
      }
    }
    return this.uint32Slow(what);
  }

  private uint32Slow(what: string): number {
    const buf = this.buf;
    let pos = this.pos;
    const end = this.end;
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (pos >= end) throw new ProtoError(what, pos, "truncated varint");
      const b = buf[pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) {
        this.pos = pos;
        if (result >= TWO_32) throw new ProtoError(what, this.pos, "varint exceeds 32 bits");
        return result;
      }
    }
    // Go encodes negative int32 enums as 10-byte varints; accept and truncate as Go does.
    return this.int64(what, pos - 5) >>> 0;
  }

  /** A varint read as a two's-complement int64 (e.g. timestamps), as a float64. */
  int64(what: string, from = this.pos): number {
    const buf = this.buf;
    let pos = from;
    const end = this.end;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw new ProtoError(what, pos, "truncated varint");
      const b = buf[pos++]!;
      const bits = b & 0x7f;
      if (i < 4) lo += bits * 2 ** (7 * i);
      else if (i === 4) {
        lo += (bits & 0x0f) * 2 ** 28;
        hi += bits >>> 4;
      } else hi += bits * 2 ** (7 * i - 32);
      if (b < 0x80) {
        this.pos = pos;
        hi = hi % TWO_32;
        return hi >= 2 ** 31 ? (hi - TWO_32) * TWO_32 + lo : hi * TWO_32 + lo;
      }
    }
    throw new ProtoError(what, from, "varint longer than 10 bytes");
  }

  /** A varint interpreted as a bool. */
  bool(what: string): boolean {
    return this.int64(what) !== 0;
  }

  double(what: string): number {
    if (this.pos + 8 > this.end) throw new ProtoError(what, this.pos, "truncated fixed64");
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Length of a length-delimited field; returns its end offset after checking it fits. */
  len(what: string): number {
    const n = this.uint32(what);
    const end = this.pos + n;
    if (end > this.end) throw new ProtoError(what, this.pos, `length ${n} runs past the end of the enclosing message (${this.end - this.pos} bytes left)`);
    return end;
  }

  /** A UTF-8 string field; invalid UTF-8 is an error, as proto3 requires. */
  string(what: string): string {
    const end = this.len(what);
    const start = this.pos;
    this.pos = end;
    if (end === start) return "";
    // Label names and values repeat across series and requests: short ASCII
    // strings come from a small cache keyed by a hash of their bytes, so a
    // repeated one costs a compare, not an allocation.
    const buf = this.buf;
    if (end - start <= MAX_INTERNED) {
      let h = 0x811c9dc5;
      let ascii = true;
      for (let i = start; i < end; i++) {
        const c = buf[i]!;
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        h = Math.imul(h ^ c, 0x01000193);
      }
      if (ascii) {
        const slot = (h ^ (h >>> 15)) & (INTERN_SLOTS - 1);
        const cached = interned[slot];
        if (cached !== undefined && cached.length === end - start) {
          let same = true;
          for (let i = 0; i < cached.length; i++) {
            if (cached.charCodeAt(i) !== buf[start + i]) {
              same = false;
              break;
            }
          }
          if (same) return cached;
        }
        const str = this.latin1().latin1Slice(start, end);
        interned[slot] = str;
        return str;
      }
    }
    try {
      return utf8.decode(buf.subarray(start, end));
    } catch {
      throw new ProtoError(what, start, "invalid UTF-8");
    }
  }

  /** A bytes field, as a view into the buffer (no copy). */
  bytes(what: string): Uint8Array {
    const end = this.len(what);
    const out = this.buf.subarray(this.pos, end);
    this.pos = end;
    return out;
  }

  /** Skips a field of an unknown number. */
  skip(wire: number, what: string): void {
    switch (wire) {
      case WIRE_VARINT:
        this.int64(what);
        return;
      case WIRE_I64:
        if (this.pos + 8 > this.end) throw new ProtoError(what, this.pos, "truncated fixed64");
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.pos = this.len(what);
        return;
      case WIRE_I32:
        if (this.pos + 4 > this.end) throw new ProtoError(what, this.pos, "truncated fixed32");
        this.pos += 4;
        return;
      default:
        throw new ProtoError(what, this.pos, `unsupported wire type ${wire}`);
    }
  }
}

const utf8enc = new TextEncoder();

/**
 * Writes a message. Nested messages are written by {@link ProtoWriter.fork} /
 * {@link ProtoWriter.join}: the length is back-patched, so nothing is built
 * twice.
 */
export class ProtoWriter {
  buf: Uint8Array;
  pos = 0;
  private view: DataView;
  private readonly stack: number[] = [];

  constructor(initial = 1024) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  uint32(v: number): void {
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  /** Writes an int64 varint from a float64 integer (negative values take 10 bytes, as int64). */
  int64(v: number): void {
    this.ensure(10);
    let lo: number;
    let hi: number;
    if (v >= 0) {
      lo = v % TWO_32;
      hi = Math.floor(v / TWO_32);
    } else {
      const a = -v;
      lo = a % TWO_32;
      hi = Math.floor(a / TWO_32);
      // two's complement of (hi, lo)
      lo = (TWO_32 - lo) % TWO_32;
      hi = (TWO_32 - hi - (lo === 0 ? 0 : 1)) % TWO_32;
    }
    while (hi > 0 || lo >= 0x80) {
      this.buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo = (lo >>> 7) | ((hi & 0x7f) << 25);
      lo >>>= 0;
      hi >>>= 7;
    }
    this.buf[this.pos++] = lo;
  }

  tag(field: number, wire: number): void {
    this.uint32((field << 3) | wire);
  }

  /**
   * Writes `values[i]` as a double, bit for bit when `values` is a
   * Float64Array (a NaN read into a JS number may lose its payload, and the
   * staleness marker is one).
   */
  doubleAt(values: ArrayLike<number>, i: number): void {
    const v = values[i]!;
    if (v === v || !(values instanceof Float64Array)) {
      this.double(v);
      return;
    }
    this.ensure(8);
    this.buf.set(new Uint8Array(values.buffer, values.byteOffset + i * 8, 8), this.pos);
    this.pos += 8;
  }

  double(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  string(field: number, s: string): void {
    this.tag(field, WIRE_LEN);
    // Worst case 3 bytes per UTF-16 unit; the length prefix is patched after encoding.
    this.ensure(s.length * 3 + 5);
    if (s.length < 128 && isAscii(s)) {
      this.buf[this.pos++] = s.length;
      for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
      return;
    }
    const bytes = utf8enc.encode(s);
    this.uint32(bytes.length);
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** Appends already-encoded bytes (e.g. a length-delimited message after its length). */
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.uint32(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Starts a nested message of field `field`; end it with {@link join}. */
  fork(field: number): void {
    this.tag(field, WIRE_LEN);
    this.ensure(5);
    this.stack.push(this.pos);
    this.pos += 1; // one length byte reserved; moved when the message is longer
  }

  join(): void {
    const start = this.stack.pop()!;
    const len = this.pos - start - 1;
    if (len < 0x80) {
      this.buf[start] = len;
      return;
    }
    let size = 1;
    for (let v = len; v >= 0x80; v >>>= 7) size++;
    this.ensure(size - 1);
    this.buf.copyWithin(start + size, start + 1, this.pos);
    this.pos += size - 1;
    let p = start;
    let v = len;
    while (v >= 0x80) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[p] = v;
  }

  finish(): Uint8Array<ArrayBuffer> {
    return this.buf.slice(0, this.pos);
  }
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}
