/**
 * XOR chunk encoding and decoding (Prometheus chunk encoding 1) through the
 * WebAssembly codec. Chunk bytes are exactly what Prometheus stores in a
 * block's chunk segment: a 2-byte big-endian sample count, then the bit
 * stream. Values survive bit-exactly, NaN payloads included.
 */
import { wasmExports, scratch, memoryBytes, rawBytes, copyFloat64sOut, copyFloat64PairOut } from "./wasm.ts";

/** The most samples one chunk can hold: its count header is 16 bits. */
export const MAX_CHUNK_SAMPLES = 65535;

/** Slack past the chunk the WASM decoder may read (its reads are bounds-checked per sample). */
const DECODE_SLACK = 32;

function checkLength(what: string, n: number, t: ArrayLike<number>, v: ArrayLike<number>): void {
  if (!Number.isInteger(n) || n < 0 || n > t.length || n > v.length) {
    throw new RangeError(`${what}: n=${n} must be an integer in [0, min(t.length=${t.length}, v.length=${v.length})]`);
  }
  if (n > MAX_CHUNK_SAMPLES) throw new RangeError(`${what}: ${n} samples exceed the ${MAX_CHUNK_SAMPLES} a chunk can hold`);
}

/**
 * Encodes samples (t: int64 ms as float64, v: float64) into one XOR chunk.
 * Timestamps must be integers; they need not increase (Prometheus encodes
 * what it is given). Throws a RangeError naming the first bad timestamp.
 *
 * @example
 * const chunk = encodeXor(new Float64Array([1000, 16000]), new Float64Array([1, 2]));
 * chunkNumSamples(chunk); // 2
 */
export function encodeXor(t: Float64Array, v: Float64Array, n: number = t.length): Uint8Array {
  checkLength("encodeXor", n, t, v);
  const wasm = wasmExports();
  const outBytes = wasm.xorMaxBytes(n);
  const base = scratch(16 * n + outBytes);
  const tPtr = base;
  const vPtr = base + 8 * n;
  const out = base + 16 * n;
  const mem = memoryBytes();
  mem.set(rawBytes(t, n), tPtr);
  mem.set(rawBytes(v, n), vPtr);
  const len = wasm.xorEncode(tPtr, vPtr, n, out);
  if (len < 0) {
    const index = -len - 16;
    throw new RangeError(`encodeXor: timestamp t[${index}]=${t[index]} is not an integer number of milliseconds in int64 range`);
  }
  return memoryBytes().slice(out, out + len);
}

/**
 * Sample count of a chunk, from its 2-byte header.
 *
 * @example
 * chunkNumSamples(new Uint8Array([0, 120, 0x80])); // 120
 */
export function chunkNumSamples(chunk: Uint8Array): number {
  if (chunk.length < 2) throw new RangeError(`chunk of ${chunk.length} bytes has no 2-byte sample count header`);
  return (chunk[0]! << 8) | chunk[1]!;
}

/** Copies a chunk into module memory with decoder slack; returns its pointer (in the scratch area after `reserve` bytes). */
function chunkIntoMemory(chunk: Uint8Array, reserve: number): number {
  const ptr = scratch(reserve + chunk.length + DECODE_SLACK) + reserve;
  memoryBytes().set(chunk, ptr);
  return ptr;
}

/** Turns a negative xorDecode result into an Error naming the problem. */
export function decodeError(code: number, chunk: Uint8Array): Error {
  const what = `XOR chunk of ${chunk.length} bytes (header: ${chunk.length >= 2 ? chunkNumSamples(chunk) : "missing"} samples)`;
  switch (code) {
    case -2:
      return new RangeError(`${what} is truncated`);
    case -3:
      return new RangeError(`${what} has a value window wider than 64 bits`);
    case -5:
      return new RangeError(`${what} has a varint longer than 10 bytes`);
    default:
      return new RangeError(`${what} could not be decoded (code ${code})`);
  }
}

/**
 * Decodes an XOR chunk into new arrays (bit-exact values). Throws a
 * RangeError for a truncated or malformed chunk.
 *
 * @example
 * const { t, v } = decodeXor(encodeXor(new Float64Array([5]), new Float64Array([0.5])));
 * // t[0] === 5, v[0] === 0.5
 */
export function decodeXor(chunk: Uint8Array): { t: Float64Array; v: Float64Array } {
  const n = chunkNumSamples(chunk);
  const wasm = wasmExports();
  const outBytes = 16 * n;
  const chunkPtr = chunkIntoMemory(chunk, outBytes);
  const tPtr = chunkPtr - outBytes;
  const vPtr = tPtr + 8 * n;
  const got = wasm.xorDecode(chunkPtr, chunk.length, tPtr, vPtr, n);
  if (got < 0) throw decodeError(got, chunk);
  const [t, v] = copyFloat64PairOut(tPtr, n);
  return { t, v };
}

/**
 * Decoded samples kept in module memory: timestamps (float64 ms) and values
 * (float64, bit-exact) in two arrays at `tPtr`/`vPtr`, `length` used. This is
 * the path the PromQL kernels read from without copying samples to JS.
 * Call free() when done (memory of a collected, unfreed object is returned
 * eventually); pointers move when the arrays grow.
 *
 * @example
 * const samples = new WasmSamples();
 * samples.appendChunk(chunkA);
 * samples.appendChunk(chunkB);
 * kernel(samples.tPtr, samples.vPtr, samples.length);
 * samples.free();
 */
/** Returns the blocks of WasmSamples garbage-collected without free() to the module. */
const unfreedSamples = new FinalizationRegistry<{ t: number; v: number }>((blocks) => {
  const wasm = wasmExports();
  wasm.memFree(blocks.t);
  wasm.memFree(blocks.v);
});

export class WasmSamples {
  /** The blocks to free if this object is collected without free(); also the registry token. */
  private readonly blocks = { t: 0, v: 0 };
  /** Byte address of the timestamp array in module memory. */
  tPtr = 0;
  /** Byte address of the value array in module memory. */
  vPtr = 0;
  /** Samples the arrays can hold before growing. */
  capacity = 0;
  /** Samples in use. */
  length = 0;

  /** Makes room for `n` samples in total, keeping the ones held. */
  reserve(n: number): void {
    if (n <= this.capacity) return;
    const wasm = wasmExports();
    const capacity = Math.max(n, this.capacity * 2, 64);
    if (this.capacity === 0) unfreedSamples.register(this, this.blocks, this.blocks);
    this.tPtr = this.blocks.t = wasm.memGrow(this.tPtr, capacity * 8);
    this.vPtr = this.blocks.v = wasm.memGrow(this.vPtr, capacity * 8);
    this.capacity = capacity;
  }

  /** Decodes a chunk and appends its samples; returns how many were appended. */
  appendChunk(chunk: Uint8Array): number {
    const n = chunkNumSamples(chunk);
    this.reserve(this.length + n);
    const chunkPtr = chunkIntoMemory(chunk, 0);
    const got = wasmExports().xorDecode(
      chunkPtr, chunk.length, this.tPtr + 8 * this.length, this.vPtr + 8 * this.length, n);
    if (got < 0) throw decodeError(got, chunk);
    this.length += got;
    return got;
  }

  /** Forgets the samples, keeping the memory. */
  clear(): void {
    this.length = 0;
  }

  /** A view of the timestamps (invalid after module memory grows). */
  times(): Float64Array {
    return new Float64Array(wasmExports().memory.buffer, this.tPtr, this.length);
  }

  /** Byte copies of the held samples as new arrays. */
  copyOut(): { t: Float64Array; v: Float64Array } {
    return { t: copyFloat64sOut(this.tPtr, this.length), v: copyFloat64sOut(this.vPtr, this.length) };
  }

  /** Returns the memory to the module now (collection would too, later); the object is empty afterwards. */
  free(): void {
    if (this.capacity === 0) return;
    unfreedSamples.unregister(this.blocks);
    const wasm = wasmExports();
    wasm.memFree(this.tPtr);
    wasm.memFree(this.vPtr);
    this.tPtr = this.vPtr = this.capacity = this.length = 0;
    this.blocks.t = this.blocks.v = 0;
  }
}
