/**
 * The one promts WebAssembly instance (codec, head chunk store, PromQL
 * kernels), instantiated synchronously and lazily from the embedded module
 * bytes, plus the helpers every binding needs to move data across the
 * JS↔WASM boundary bit-exactly.
 *
 * Values cross only as bytes (Uint8Array copies, ArrayBuffer.slice): reading
 * a float64 into a JS number may canonicalize a NaN payload such as the
 * staleness marker, so no binding ever does that.
 */
import { wasmBase64 } from "./wasm_module.generated.ts";

/** Exports of the promts module used by the chunk bindings; other rooms' kernels appear under their own names. */
export interface PromtsWasmExports {
  readonly memory: WebAssembly.Memory;
  memAlloc(size: number): number;
  memFree(ptr: number): void;
  memGrow(ptr: number, size: number): number;
  memBlockCapacity(ptr: number): number;
  memBytesInUse(): number;
  xorEncode(tPtr: number, vPtr: number, n: number, out: number): number;
  xorDecode(chunk: number, len: number, tOut: number, vOut: number, cap: number): number;
  xorNumSamples(chunk: number): number;
  xorMaxBytes(n: number): number;
  headNew(chunkRange: number, samplesPerChunk: number): number;
  headFree(store: number): void;
  headEnsure(store: number, ref: number): number;
  headRelease(store: number, ref: number): void;
  headShrink(store: number, from: number): void;
  headMove(store: number, from: number, to: number): void;
  headAppendBatch(store: number, refs: number, t: number, v: number, n: number, status: number): number;
  headCutOpen(store: number, ref: number): void;
  headCutLength(store: number): number;
  headCutQueue(store: number): number;
  headDrainDone(store: number): void;
  headOpenLength(store: number, ref: number): number;
  headOpenBuffer(store: number, ref: number): number;
  headOpenMinTime(store: number, ref: number): number;
  headLastTimestamp(store: number, ref: number): number;
  headMemoryBytes(store: number): number;
  readonly [name: string]: unknown;
}

let exportsOnce: PromtsWasmExports | null = null;

function decodeUtf16(memory: WebAssembly.Memory, ptr: number): string {
  if (ptr === 0) return "";
  const byteLength = new Uint32Array(memory.buffer, ptr - 4, 1)[0]!;
  return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, byteLength >>> 1));
}

/**
 * The module's exports and memory, instantiating it on first use. Other rooms
 * (the PromQL range kernels) call their functions on the same instance so
 * they can work on samples decoded into module memory.
 *
 * @example
 * const wasm = wasmExports();
 * const ptr = wasm.memAlloc(1024); // zeroed, 8-byte aligned
 * wasm.memFree(ptr);
 */
export function wasmExports(): PromtsWasmExports {
  if (exportsOnce !== null) return exportsOnce;
  const module = new WebAssembly.Module(Buffer.from(wasmBase64, "base64"));
  let memory: WebAssembly.Memory | null = null;
  // The imports AssemblyScript code may ask for: abort (failed assertions,
  // allocation errors), seed (Math.random), trace (debug output).
  const instance = new WebAssembly.Instance(module, {
    env: {
      abort(message: number, file: number, line: number, column: number): never {
        const text = memory === null ? "" : `${decodeUtf16(memory, message)} at ${decodeUtf16(memory, file)}`;
        throw new Error(`promts wasm aborted: ${text}:${line}:${column}`);
      },
      trace(): void {},
      seed(): number {
        return Date.now();
      },
    },
  });
  exportsOnce = instance.exports as unknown as PromtsWasmExports;
  memory = exportsOnce.memory;
  return exportsOnce;
}

let scratchPtr = 0;
let scratchBytes = 0;

/**
 * A module-memory scratch area of at least `bytes` bytes (8-byte aligned),
 * shared by the synchronous bindings: valid until the next scratch() call.
 */
export function scratch(bytes: number): number {
  if (bytes > scratchBytes) {
    const wasm = wasmExports();
    scratchPtr = wasm.memGrow(scratchPtr, Math.max(bytes, 4096));
    scratchBytes = wasm.memBlockCapacity(scratchPtr);
  }
  return scratchPtr;
}

let viewedBuffer: ArrayBuffer | null = null;
let byteView = new Uint8Array(0);

/** A byte view of module memory as it is now (memory growth invalidates older views). */
export function memoryBytes(): Uint8Array {
  const buffer = wasmExports().memory.buffer;
  if (buffer !== viewedBuffer) {
    viewedBuffer = buffer;
    byteView = new Uint8Array(buffer);
  }
  return byteView;
}

/** The raw bytes of the first `n` elements of a typed array, without copying. */
export function rawBytes(array: Float64Array | Uint32Array | Uint8Array, n: number): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, n * array.BYTES_PER_ELEMENT);
}

/** A new Float64Array holding a byte copy of `n` float64s at `ptr` in module memory. */
export function copyFloat64sOut(ptr: number, n: number): Float64Array {
  return new Float64Array(wasmExports().memory.buffer.slice(ptr, ptr + n * 8));
}

/**
 * Byte copies of two adjacent float64 arrays (`n` at `ptr`, `n` right after)
 * sharing one new ArrayBuffer: one allocation instead of two.
 */
export function copyFloat64PairOut(ptr: number, n: number): [Float64Array, Float64Array] {
  const out = new Uint8Array(n * 16);
  out.set(memoryBytes().subarray(ptr, ptr + n * 16));
  return [new Float64Array(out.buffer, 0, n), new Float64Array(out.buffer, n * 8, n)];
}
