/**
 * Byte-level encoding shared by the index and chunk files: big-endian fixed
 * widths, Go's unsigned and zig-zag signed varints, length-prefixed strings.
 * Numbers are JavaScript numbers, exact up to 2^53 — enough for millisecond
 * timestamps, file offsets and chunk references (segment << 32 | offset).
 */

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: false });

/** Thrown for a structurally broken file; the message names the file part and offset. */
export class BlockFormatError extends Error {
  override name = "BlockFormatError";
}

/**
 * An append-only byte buffer that grows as needed.
 *
 * @example
 * const w = new ByteWriter();
 * w.uvarint(300); w.be32(7);
 * w.bytes(); // Uint8Array [0xac, 0x02, 0, 0, 0, 7]
 */
export class ByteWriter {
  private buf: Uint8Array;
  /** Number of bytes written. */
  len = 0;

  constructor(initialCapacity = 1024) {
    this.buf = new Uint8Array(initialCapacity);
  }

  private grow(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** The bytes written so far (a view, valid until the next write). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** Forgets the content, keeping the capacity. */
  reset(): void {
    this.len = 0;
  }

  u8(v: number): void {
    this.grow(1);
    this.buf[this.len++] = v;
  }

  be32(v: number): void {
    this.grow(4);
    const b = this.buf;
    b[this.len] = v >>> 24;
    b[this.len + 1] = v >>> 16;
    b[this.len + 2] = v >>> 8;
    b[this.len + 3] = v;
    this.len += 4;
  }

  /** Writes a non-negative integer below 2^53 as 8 big-endian bytes. */
  be64(v: number): void {
    this.be32(Math.floor(v / 0x100000000));
    this.be32(v >>> 0);
  }

  /** Overwrites 4 bytes at `pos` (for lengths known only after the content). */
  putBe32At(pos: number, v: number): void {
    const b = this.buf;
    b[pos] = v >>> 24;
    b[pos + 1] = v >>> 16;
    b[pos + 2] = v >>> 8;
    b[pos + 3] = v;
  }

  /** Go's `binary.PutUvarint` for a non-negative integer below 2^53. */
  uvarint(v: number): void {
    this.grow(10);
    const b = this.buf;
    while (v >= 0x80) {
      b[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    b[this.len++] = v;
  }

  /** Go's `binary.PutVarint` (zig-zag) for an integer with |v| < 2^52. */
  varint(v: number): void {
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  raw(data: Uint8Array): void {
    this.grow(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
  }

  /** A uvarint byte length followed by the UTF-8 bytes. */
  uvarintString(s: string): void {
    const enc = utf8Encoder.encode(s);
    this.uvarint(enc.length);
    this.raw(enc);
  }

  /** Zero bytes until the length is a multiple of `align`. */
  padTo(align: number): void {
    while (this.len % align !== 0) this.u8(0);
  }
}

/**
 * A bounds-checked cursor over bytes. Every read past `end` throws a
 * BlockFormatError naming `what` (e.g. "index series at offset 80").
 */
export class ByteReader {
  constructor(
    readonly buf: Uint8Array,
    public pos: number,
    readonly end: number,
    readonly what: string,
  ) {
    if (pos < 0 || end > buf.length || pos > end) {
      throw new BlockFormatError(`${what}: range [${pos}, ${end}) outside file of ${buf.length} bytes`);
    }
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new BlockFormatError(`${this.what}: unexpected end of data at byte ${this.pos}`);
  }

  remaining(): number {
    return this.end - this.pos;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  be32(): number {
    this.need(4);
    const b = this.buf, p = this.pos;
    this.pos += 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  be64(): number {
    const hi = this.be32();
    const lo = this.be32();
    if (hi >= 0x200000) throw new BlockFormatError(`${this.what}: 64-bit value at byte ${this.pos - 8} exceeds 2^53`);
    return hi * 0x100000000 + lo;
  }

  uvarint(): number {
    let v = 0, mul = 1;
    for (let i = 0; i < 10; i++) {
      this.need(1);
      const byte = this.buf[this.pos++]!;
      v += (byte & 0x7f) * mul;
      if (byte < 0x80) {
        if (v > Number.MAX_SAFE_INTEGER) throw new BlockFormatError(`${this.what}: varint at byte ${this.pos} exceeds 2^53`);
        return v;
      }
      mul *= 0x80;
    }
    throw new BlockFormatError(`${this.what}: varint at byte ${this.pos} is too long`);
  }

  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  uvarintString(): string {
    const n = this.uvarint();
    return utf8Decoder.decode(this.bytes(n));
  }
}

/** Reads a big-endian uint32 at `pos` without a cursor. */
export function readBe32(buf: Uint8Array, pos: number): number {
  return ((buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!) >>> 0;
}
