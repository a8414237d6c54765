// The Prometheus XOR chunk (encoding 1), bit for bit as tsdb/chunkenc/xor.go
// writes it:
//
//   count   u16 big-endian, number of samples
//   t0      signed varint (zigzag)        v0  raw 64 bits
//   t1-t0   unsigned varint               v1  XOR against v0 (below)
//   t_i     delta-of-delta: '0' | '10'+14 | '110'+17 | '1110'+20 | '1111'+64 bits
//   v_i     '0' same bits | '10' + bits in the previous window
//           | '11' + 5 bits leading zeros + 6 bits significant count (64 as 0) + bits
//
// Prometheus writes whole bytes with writeByte, which always opens a fresh
// byte afterwards: when a sample's last write was whole bytes and ended on a
// byte boundary, the chunk carries one extra zero byte. `encPad` tracks that so
// the byte length matches.

import { readBits, peekBits } from "./bits";

// Encoder registers: the appender state of the chunk being written. Batch
// encoding and the head store both go through appendSample with these, so
// they produce identical bytes.
//
// Bits are gathered in encAcc and stored a whole big-endian 64-bit word at a
// time, at word offsets from the buffer start (the 16 header bits count as
// the first bits of word 0; the header itself is stored after the bits).
// encAcc holds exactly the (encPos & 63) pending bits of the current word,
// right-aligned, nothing above them. encFlush writes the partial word through
// so the buffer is complete; encLoad can then rebuild encAcc from memory.
let encPos: u32 = 16;
let encAcc: u64 = 0;
let encCount: u32 = 0;
let encT: i64 = 0;
let encV: u64 = 0;
let encTDelta: i64 = 0;
let encLeading: u32 = 0xff;
let encTrailing: u32 = 0;
let encPad: bool = false;

/** The largest |t| (f64 ms) that converts to i64: the biggest double below 2^63. */
export const MAX_ABS_TIMESTAMP: f64 = 9223372036854774784.0;

/** True when `t` is an integer that converts to i64 exactly. */
// @ts-ignore: decorator
@inline export function validTimestamp(t: f64): bool {
  return t == Math.trunc(t) && Math.abs(t) <= MAX_ABS_TIMESTAMP;
}

/** Bytes a chunk of `n` samples can need at most, plus writer slack. */
export function xorMaxBytes(n: i32): i32 {
  return 2 + 20 + 10 + 19 + n * 19 + 32;
}

/** Starts a fresh chunk in the encoder registers. */
// @ts-ignore: decorator
@inline export function encReset(): void {
  encPos = 16;
  encAcc = 0;
  encCount = 0;
  encT = 0;
  encV = 0;
  encTDelta = 0;
  encLeading = 0xff;
  encTrailing = 0;
  encPad = false;
}

/** Appends the low `n` bits (1 <= n <= 64) of `value` to the chunk at `buf`. */
// @ts-ignore: decorator
@inline function put(buf: usize, value: u64, n: u32): void {
  const bits = (value << (64 - <u64>n)) >>> (64 - <u64>n);
  const used = <u64>(encPos & 63);
  const free = 64 - used;
  if (<u64>n < free) {
    encAcc = (encAcc << <u64>n) | bits;
  } else {
    const rest = <u64>n - free;
    store<u64>(buf + ((<usize>encPos >>> 6) << 3), bswap<u64>((encAcc << free) | (bits >>> rest)));
    encAcc = bits & ((<u64>1 << rest) - 1);
  }
  encPos += n;
}

/** Writes the partial word through, so the buffer holds every bit written (zeros after). */
// @ts-ignore: decorator
@inline export function encFlush(buf: usize): void {
  const used = <u64>(encPos & 63);
  store<u64>(buf + ((<usize>encPos >>> 6) << 3), used == 0 ? 0 : bswap<u64>(encAcc << (64 - used)));
}

// @ts-ignore: decorator
@inline function writeVarintBytes(buf: usize, value: u64): void {
  let rest = value;
  while (rest >= 0x80) {
    put(buf, (rest & 0x7f) | 0x80, 8);
    rest >>= 7;
  }
  put(buf, rest, 8);
}

// @ts-ignore: decorator
@inline function writeValue(buf: usize, v: u64): void {
  const delta = v ^ encV;
  if (delta == 0) {
    put(buf, 0, 1);
    encPad = false;
    return;
  }
  let leading = <u32>clz<u64>(delta);
  const trailing = <u32>ctz<u64>(delta);
  if (leading >= 32) leading = 31;
  if (encLeading != 0xff && leading >= encLeading && trailing >= encTrailing) {
    const significant = 64 - encLeading - encTrailing;
    put(buf, 0b10, 2);
    put(buf, delta >> encTrailing, significant);
    encPad = (significant & 7) == 0;
    return;
  }
  encLeading = leading;
  encTrailing = trailing;
  const significant = 64 - leading - trailing;
  put(buf, (<u64>0b11 << 11) | (<u64>leading << 6) | <u64>(significant & 63), 13);
  put(buf, delta >> trailing, significant);
  encPad = (significant & 7) == 0;
}

/**
 * Appends one sample to the chunk at `buf` using the encoder registers. The
 * caller guarantees room for 19 bytes plus 8 bytes of slack past the current
 * position, and calls encFinish before reading the chunk.
 */
// @ts-ignore: decorator
@inline export function appendSample(buf: usize, t: i64, v: u64): void {
  if (encCount == 0) {
    writeVarintBytes(buf, <u64>((t << 1) ^ (t >> 63)));
    put(buf, v, 64);
    encPad = true;
  } else if (encCount == 1) {
    const tDelta = t - encT;
    writeVarintBytes(buf, <u64>tDelta);
    writeValue(buf, v);
    encTDelta = tDelta;
  } else {
    const tDelta = t - encT;
    const dod = tDelta - encTDelta;
    if (dod == 0) {
      put(buf, 0, 1);
    } else if (dod >= -8191 && dod <= 8192) {
      put(buf, (<u64>0b10 << 14) | (<u64>dod & 0x3fff), 16);
    } else if (dod >= -65535 && dod <= 65536) {
      put(buf, (<u64>0b110 << 17) | (<u64>dod & 0x1ffff), 20);
    } else if (dod >= -524287 && dod <= 524288) {
      put(buf, (<u64>0b1110 << 20) | (<u64>dod & 0xfffff), 24);
    } else {
      put(buf, 0b1111, 4);
      put(buf, <u64>dod, 64);
    }
    writeValue(buf, v);
    encTDelta = tDelta;
  }
  encT = t;
  encV = v;
  encCount++;
}

/** Completes the chunk in memory: flushes pending bits and writes the count header. */
// @ts-ignore: decorator
@inline export function encFinish(buf: usize): void {
  encFlush(buf);
  store<u16>(buf, bswap<u16>(<u16>encCount));
}

/** Byte length of the chunk in the encoder registers (see encPad). */
// @ts-ignore: decorator
@inline export function encByteLength(): u32 {
  return ((encPos & 7) == 0 && encPad) ? (encPos >>> 3) + 1 : (encPos + 7) >>> 3;
}

/** Byte length of a chunk from registers saved by encSave (see encPad). */
// @ts-ignore: decorator
@inline export function encSavedByteLength(state: usize): u32 {
  const pos = load<u32>(state);
  return ((pos & 7) == 0 && load<u8>(state, 18) != 0) ? (pos >>> 3) + 1 : (pos + 7) >>> 3;
}

/** Encoder register accessors for the head store, which saves them per series. */
// @ts-ignore: decorator
@inline export function encSave(state: usize): void {
  store<u32>(state, encPos);
  store<u32>(state, encCount, 4);
  store<i64>(state, encTDelta, 8);
  store<u8>(state, <u8>encLeading, 16);
  store<u8>(state, <u8>encTrailing, 17);
  store<u8>(state, encPad ? 1 : 0, 18);
}

/**
 * Loads encoder registers saved by encSave for the chunk at `buf` (written
 * through with encFinish); `t`/`v` are the chunk's last sample.
 */
// @ts-ignore: decorator
@inline export function encLoad(state: usize, buf: usize, t: i64, v: u64): void {
  encPos = load<u32>(state);
  const used = <u64>(encPos & 63);
  encAcc = used == 0 ? 0 : bswap<u64>(load<u64>(buf + ((<usize>encPos >>> 6) << 3))) >>> (64 - used);
  encCount = load<u32>(state, 4);
  encTDelta = load<i64>(state, 8);
  encLeading = load<u8>(state, 16);
  encTrailing = load<u8>(state, 17);
  encPad = load<u8>(state, 18) != 0;
  encT = t;
  encV = v;
}

/** Error codes of xorEncode (negative; encode errors carry the sample index). */
export const ERR_TOO_MANY_SAMPLES: i32 = -1;
/** xorDecode: the chunk is shorter than its header says. */
export const ERR_TRUNCATED: i32 = -2;
/** xorDecode: a value window with leading + significant bits > 64. */
export const ERR_BAD_WINDOW: i32 = -3;
/** xorDecode: the output arrays are smaller than the header's count. */
export const ERR_OUTPUT_TOO_SMALL: i32 = -4;
/** xorDecode: a varint runs past 10 bytes. */
export const ERR_BAD_VARINT: i32 = -5;

/**
 * Encodes `n` samples (t: f64 ms at tPtr, v: raw f64 bits at vPtr) into one
 * chunk at `out`, which must have xorMaxBytes(n) addressable bytes. Returns
 * the chunk's byte length, ERR_TOO_MANY_SAMPLES when n > 65535, or
 * -(16 + i) when t[i] is not an int64 integer.
 */
export function xorEncode(tPtr: usize, vPtr: usize, n: i32, out: usize): i32 {
  if (n > 65535) return ERR_TOO_MANY_SAMPLES;
  encReset();
  for (let i = 0; i < n; i++) {
    const tf = load<f64>(tPtr + (<usize>i << 3));
    if (!validTimestamp(tf)) return -(16 + i);
    appendSample(out, <i64>tf, load<u64>(vPtr + (<usize>i << 3)));
  }
  encFinish(out);
  return <i32>encByteLength();
}

/** Sample count from a chunk's 2-byte header (the caller checks len >= 2). */
export function xorNumSamples(chunk: usize): i32 {
  return <i32>bswap<u16>(load<u16>(chunk));
}

/**
 * Decodes the chunk of `len` bytes at `chunk` (with 32 addressable bytes
 * past its end) into t (f64 ms) at tOut and v (raw bits) at vOut, at most
 * `cap` samples. Returns the number of samples or a negative ERR_* code.
 */
export function xorDecode(chunk: usize, len: i32, tOut: usize, vOut: usize, cap: i32): i32 {
  if (len < 2) return ERR_TRUNCATED;
  const n = <i32>bswap<u16>(load<u16>(chunk));
  if (n > cap) return ERR_OUTPUT_TOO_SMALL;
  if (n == 0) return 0;
  const totalBits: u32 = <u32>len << 3;
  let at: u32 = 2;
  // t0: zigzag varint, byte aligned.
  let raw: u64 = 0;
  let shift: u64 = 0;
  while (true) {
    if (at >= <u32>len) return ERR_TRUNCATED;
    if (shift > 63) return ERR_BAD_VARINT;
    const b = <u64>load<u8>(chunk + at++);
    raw |= (b & 0x7f) << shift;
    if (b < 0x80) break;
    shift += 7;
  }
  let t: i64 = <i64>(raw >>> 1) ^ -<i64>(raw & 1);
  if (at + 8 > <u32>len) return ERR_TRUNCATED;
  let v: u64 = bswap<u64>(load<u64>(chunk + at));
  at += 8;
  store<f64>(tOut, <f64>t);
  store<u64>(vOut, v);
  if (n == 1) return 1;
  // t1 - t0: unsigned varint, byte aligned.
  raw = 0;
  shift = 0;
  while (true) {
    if (at >= <u32>len) return ERR_TRUNCATED;
    if (shift > 63) return ERR_BAD_VARINT;
    const b = <u64>load<u8>(chunk + at++);
    raw |= (b & 0x7f) << shift;
    if (b < 0x80) break;
    shift += 7;
  }
  let tDelta: i64 = <i64>raw;
  let pos: u32 = at << 3;
  let leading: u32 = 0;
  let trailing: u32 = 0;
  for (let i = 1; i < n; i++) {
    if (i > 1) {
      // one 64-bit window covers the prefix and a 14/17/20-bit dod
      const w = peekBits(chunk, pos);
      if ((w >>> 63) == 0) {
        pos += 1;
      } else {
        let dod: i64;
        if ((w >>> 62) == 0b10) {
          dod = <i64>((w << 2) >>> 50);
          if (dod > 8192) dod -= 16384;
          pos += 16;
        } else if ((w >>> 61) == 0b110) {
          dod = <i64>((w << 3) >>> 47);
          if (dod > 65536) dod -= 131072;
          pos += 20;
        } else if ((w >>> 60) == 0b1110) {
          dod = <i64>((w << 4) >>> 44);
          if (dod > 524288) dod -= 1048576;
          pos += 24;
        } else {
          dod = <i64>peekBits(chunk, pos + 4);
          pos += 68;
        }
        tDelta += dod;
      }
    }
    t += tDelta;
    // value: the control bits, a new window and most significant-bit runs fit one 64-bit window
    const w = peekBits(chunk, pos);
    if ((w >>> 63) != 0) {
      let significant: u32;
      let bits: u64;
      if ((w >>> 62) == 0b10) {
        significant = 64 - leading - trailing;
        bits = significant <= 62 ? (w << 2) >>> (64 - <u64>significant) : readBits(chunk, pos + 2, significant);
        pos += 2 + significant;
      } else {
        leading = <u32>(w >>> 57) & 31;
        significant = <u32>(w >>> 51) & 63;
        if (significant == 0) significant = 64;
        if (leading + significant > 64) return ERR_BAD_WINDOW;
        trailing = 64 - leading - significant;
        bits = significant <= 51 ? (w << 13) >>> (64 - <u64>significant) : readBits(chunk, pos + 13, significant);
        pos += 13 + significant;
      }
      v ^= bits << trailing;
    } else {
      pos += 1;
    }
    if (pos > totalBits) return ERR_TRUNCATED;
    store<f64>(tOut + (<usize>i << 3), <f64>t);
    store<u64>(vOut + (<usize>i << 3), v);
  }
  return n;
}
