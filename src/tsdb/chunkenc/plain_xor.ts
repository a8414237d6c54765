/**
 * A plain TypeScript XOR chunk codec (Prometheus chunk encoding 1), written
 * independently of the WASM one: the reference the tests cross-check it
 * against and the baseline of the codec benchmark. Not used on hot paths.
 *
 * Values are handled as two uint32 halves read through Uint32Array views of
 * the caller's arrays, so NaN payloads never pass through a JS number.
 * Timestamps are exact for |t| and deltas up to 2^53.
 */
import { chunkNumSamples, MAX_CHUNK_SAMPLES } from "./xor.ts";

const TWO32 = 4294967296;

class BitWriter {
  bytes: Uint8Array;
  pos = 0; // bits written
  wholeBytesLast = false; // the last write ended with whole bytes (Prometheus writeByte)

  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
  }

  /** Writes the low `n` bits of `value` (n <= 32). */
  write(value: number, n: number): void {
    if (((this.pos + n + 7) >>> 3) > this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2 + 16);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    let left = n;
    while (left > 0) {
      const free = 8 - (this.pos & 7);
      const take = free < left ? free : left;
      const bits = (value >>> (left - take)) & ((1 << take) - 1);
      this.bytes[this.pos >>> 3]! |= bits << (free - take);
      this.pos += take;
      left -= take;
    }
    this.wholeBytesLast = n >= 8 && (n & 7) === 0;
  }

  /** Writes the low `n` bits (n <= 64) of the 64-bit number hi:lo. */
  write64(hi: number, lo: number, n: number): void {
    if (n > 32) {
      this.write(hi, n - 32);
      this.write(lo, 32);
      this.wholeBytesLast = (n & 7) === 0;
    } else {
      this.write(lo, n);
    }
  }

  writeUvarint(value: number | bigint): void {
    if (typeof value === "bigint") {
      let rest = value;
      while (rest >= 0x80n) {
        this.write(Number(rest & 0x7fn) | 0x80, 8);
        rest >>= 7n;
      }
      this.write(Number(rest), 8);
      return;
    }
    let rest = value;
    while (rest >= 0x80) {
      this.write((rest % 128) | 0x80, 8);
      rest = Math.floor(rest / 128);
    }
    this.write(rest, 8);
  }

  finish(count: number): Uint8Array {
    const length = (this.pos & 7) === 0 && this.wholeBytesLast ? (this.pos >>> 3) + 1 : (this.pos + 7) >>> 3;
    const out = new Uint8Array(length);
    out.set(this.bytes.subarray(0, Math.min(length, this.bytes.length)));
    out[0] = count >>> 8;
    out[1] = count & 0xff;
    return out;
  }
}

function clz64(hi: number, lo: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

function ctz64(hi: number, lo: number): number {
  return lo !== 0 ? ctz32(lo) : 32 + ctz32(hi);
}

function encode(t: Float64Array, v: Float64Array, n: number = t.length): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > t.length || n > v.length || n > MAX_CHUNK_SAMPLES) {
    throw new RangeError(`plainXor.encode: n=${n} must be an integer in [0, min(t.length, v.length, ${MAX_CHUNK_SAMPLES})]`);
  }
  const words = new Uint32Array(v.buffer, v.byteOffset, 2 * n);
  const w = new BitWriter(32 + 4 * n);
  w.pos = 16;
  let prevT = 0;
  let prevDelta = 0;
  let prevHi = 0;
  let prevLo = 0;
  let leading = 0xff;
  let trailing = 0;
  for (let i = 0; i < n; i++) {
    const ti = t[i]!;
    if (!Number.isSafeInteger(ti)) {
      throw new RangeError(`plainXor.encode: timestamp t[${i}]=${ti} is not a safe integer number of milliseconds`);
    }
    const lo = words[2 * i]!;
    const hi = words[2 * i + 1]!;
    if (i === 0) {
      // zigzag; past 2^52 the doubled value would lose bits as a number
      if (Math.abs(ti) < 2 ** 52) w.writeUvarint(ti >= 0 ? 2 * ti : -2 * ti - 1);
      else w.writeUvarint(BigInt.asUintN(64, (BigInt(ti) << 1n) ^ (BigInt(ti) >> 63n)));
      w.write64(hi, lo, 64);
    } else {
      const delta = ti - prevT;
      if (i === 1) {
        w.writeUvarint(delta >= 0 ? delta : BigInt.asUintN(64, BigInt(delta)));
      } else {
        const dod = delta - prevDelta;
        if (dod === 0) w.write(0, 1);
        else if (dod >= -8191 && dod <= 8192) w.write((0b10 << 14) | (dod & 0x3fff), 16);
        else if (dod >= -65535 && dod <= 65536) w.write((0b110 << 17) | (dod & 0x1ffff), 20);
        else if (dod >= -524287 && dod <= 524288) w.write((0b1110 << 20) | (dod & 0xfffff), 24);
        else {
          w.write(0b1111, 4);
          const dodHi = Math.floor(dod / TWO32);
          w.write64(dodHi >>> 0, dod - dodHi * TWO32, 64);
        }
      }
      prevDelta = delta;
      const xHi = (hi ^ prevHi) >>> 0;
      const xLo = (lo ^ prevLo) >>> 0;
      if (xHi === 0 && xLo === 0) {
        w.write(0, 1);
      } else {
        let lead = clz64(xHi, xLo);
        const trail = ctz64(xHi, xLo);
        if (lead >= 32) lead = 31;
        let shift: number;
        if (leading !== 0xff && lead >= leading && trail >= trailing) {
          w.write(0b10, 2);
          shift = trailing;
        } else {
          leading = lead;
          trailing = trail;
          w.write((0b11 << 11) | (lead << 6) | ((64 - lead - trail) & 63), 13);
          shift = trail;
        }
        const significant = 64 - leading - trailing;
        let sHi: number;
        let sLo: number;
        if (shift === 0) {
          sHi = xHi;
          sLo = xLo;
        } else if (shift >= 32) {
          sHi = 0;
          sLo = xHi >>> (shift - 32);
        } else {
          sHi = xHi >>> shift;
          sLo = ((xLo >>> shift) | (xHi << (32 - shift))) >>> 0;
        }
        w.write64(sHi, sLo, significant);
      }
    }
    prevT = ti;
    prevHi = hi;
    prevLo = lo;
  }
  return w.finish(n);
}

class BitReader {
  pos: number;
  private readonly totalBits: number;

  constructor(private readonly bytes: Uint8Array, startBit: number) {
    this.pos = startBit;
    this.totalBits = bytes.length * 8;
  }

  /** Reads `n` bits (n <= 32) as an unsigned number. */
  read(n: number): number {
    if (this.pos + n > this.totalBits) throw new RangeError(`XOR chunk of ${this.bytes.length} bytes is truncated`);
    let value = 0;
    let left = n;
    while (left > 0) {
      const free = 8 - (this.pos & 7);
      const take = free < left ? free : left;
      const bits = (this.bytes[this.pos >>> 3]! >>> (free - take)) & ((1 << take) - 1);
      value = value * (1 << take) + bits;
      this.pos += take;
      left -= take;
    }
    return value;
  }

  readUvarint(): number | bigint {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.read(8);
      if (i >= 7 && (b & 0x7f) !== 0) return this.bigUvarint(i);
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    throw new RangeError(`XOR chunk of ${this.bytes.length} bytes has a varint longer than 10 bytes`);
  }

  private bigUvarint(failedAt: number): bigint {
    this.pos -= 8 * (failedAt + 1);
    let value = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.read(8);
      value |= BigInt(b & 0x7f) << BigInt(7 * i);
      if (b < 0x80) return BigInt.asUintN(64, value);
    }
    throw new RangeError(`XOR chunk of ${this.bytes.length} bytes has a varint longer than 10 bytes`);
  }
}

function decode(chunk: Uint8Array): { t: Float64Array; v: Float64Array } {
  const n = chunkNumSamples(chunk);
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  const words = new Uint32Array(v.buffer);
  if (n === 0) return { t, v };
  const r = new BitReader(chunk, 16);
  const zigzag = r.readUvarint();
  let ts = typeof zigzag === "bigint"
    ? Number(BigInt.asIntN(64, (zigzag >> 1n) ^ -(zigzag & 1n)))
    : (zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2);
  let hi = r.read(32);
  let lo = r.read(32);
  t[0] = ts;
  words[0] = lo;
  words[1] = hi;
  let delta = 0;
  let leading = 0;
  let trailing = 0;
  for (let i = 1; i < n; i++) {
    if (i === 1) {
      const raw = r.readUvarint();
      delta = typeof raw === "bigint" ? Number(BigInt.asIntN(64, raw)) : raw;
    } else if (r.read(1) === 1) {
      let dod: number;
      if (r.read(1) === 0) dod = signed(r.read(14), 14);
      else if (r.read(1) === 0) dod = signed(r.read(17), 17);
      else if (r.read(1) === 0) dod = signed(r.read(20), 20);
      else {
        const dHi = r.read(32) | 0;
        dod = dHi * TWO32 + r.read(32);
      }
      delta += dod;
    }
    ts += delta;
    if (r.read(1) === 1) {
      if (r.read(1) === 1) {
        leading = r.read(5);
        let significant = r.read(6);
        if (significant === 0) significant = 64;
        if (leading + significant > 64) {
          throw new RangeError(`XOR chunk of ${chunk.length} bytes has a value window wider than 64 bits at sample ${i}`);
        }
        trailing = 64 - leading - significant;
      }
      const significant = 64 - leading - trailing;
      let sHi = 0;
      let sLo: number;
      if (significant > 32) {
        sHi = r.read(significant - 32);
        sLo = r.read(32);
      } else {
        sLo = r.read(significant);
      }
      // (sHi:sLo) << trailing
      let xHi: number;
      let xLo: number;
      if (trailing === 0) {
        xHi = sHi;
        xLo = sLo;
      } else if (trailing >= 32) {
        xHi = sLo << (trailing - 32);
        xLo = 0;
      } else {
        xHi = (sHi << trailing) | (sLo >>> (32 - trailing));
        xLo = sLo << trailing;
      }
      hi = (hi ^ xHi) >>> 0;
      lo = (lo ^ xLo) >>> 0;
    }
    t[i] = ts;
    words[2 * i] = lo;
    words[2 * i + 1] = hi;
  }
  return { t, v };
}

function signed(raw: number, size: number): number {
  return raw > 2 ** (size - 1) ? raw - 2 ** size : raw;
}

/**
 * The plain TypeScript XOR codec: same bytes as encodeXor, same samples as
 * decodeXor. For tests and the benchmark.
 *
 * @example
 * const chunk = plainXor.encode(new Float64Array([1, 2]), new Float64Array([0.5, 0.5]));
 * plainXor.decode(chunk).t; // Float64Array [1, 2]
 */
export const plainXor = { encode, decode } as const;
