/**
 * HeadChunkStore: the open (head) XOR chunks of many series, held in
 * WebAssembly memory and appended to in batches, one WASM call per batch.
 * Chunks are cut the way Prometheus's head cuts them; cut chunks wait in the
 * store until drainCut() hands them to JS.
 */
import { wasmExports, scratch, memoryBytes, rawBytes } from "./wasm.ts";
import type { ChunkMeta } from "../types.ts";

/** A chunk cut from a series' head, with the series ref it belongs to. */
export interface CutChunk extends ChunkMeta {
  ref: number;
}

/** Options of a HeadChunkStore. */
export interface HeadChunkStoreOptions {
  /** Width in ms of the aligned ranges no chunk crosses (Prometheus: the block range, 2h). */
  chunkRange?: number;
  /** Samples per chunk to aim for; a chunk never holds more than twice this. */
  samplesPerChunk?: number;
}

/** Samples handed to WASM per call, bounding the scratch area. */
const BATCH_SLICE = 65536;
const MAX_REF = 0xffff_ffff;
/**
 * Store status of an exact duplicate (same timestamp and value bits as the
 * series' last sample): nothing is appended. Prometheus ignores such samples
 * silently, so the head reports them as accepted but neither logs nor counts them.
 */
export const DUPLICATE_IGNORED = 5;
/** The largest ref ensure() accepts: the series table (64 B a ref, paged) must fit in wasm32 memory. */
export const MAX_SERIES_REF = 2 ** 26 - 1;

/**
 * Per-series head chunks in WASM memory. Series are dense refs (0..N) made
 * live with ensure(); appendBatch() writes a status per sample using the
 * AppendStatus numbers: 0 appended, 1 out of order, 2 duplicate timestamp
 * with another value, 3 timestamp not an int64 integer, 4 unknown ref — plus
 * {@link DUPLICATE_IGNORED} (5) for an exact duplicate, which is not appended.
 *
 * Cutting (Prometheus head_append.go): a chunk never crosses the end of the
 * aligned chunkRange holding its first sample; at samplesPerChunk/4 samples
 * the end is re-estimated so the rest of the range holds chunks of about
 * samplesPerChunk; at 2×samplesPerChunk samples it is cut regardless.
 *
 * @example
 * const store = new HeadChunkStore();
 * store.ensure(0);
 * const status = new Uint8Array(2);
 * store.appendBatch(new Uint32Array([0, 0]), new Float64Array([1000, 2000]), new Float64Array([1, 2]), 2, status);
 * store.openChunk(0); // { mint: 1000, maxt: 2000, data: <XOR chunk of 2 samples> }
 */
/** Frees the WASM side of stores garbage-collected without close(). */
const unclosedStores = new FinalizationRegistry<number>((handle) => wasmExports().headFree(handle));

export class HeadChunkStore {
  private handle: number;
  /** Registry token, so close() can cancel the cleanup. */
  private readonly token = {};

  constructor(opts: HeadChunkStoreOptions = {}) {
    const chunkRange = opts.chunkRange ?? 7_200_000;
    const samplesPerChunk = opts.samplesPerChunk ?? 120;
    if (!Number.isSafeInteger(chunkRange) || chunkRange < 1) {
      throw new RangeError(`HeadChunkStore: chunkRange=${chunkRange} must be a positive integer of milliseconds`);
    }
    if (!Number.isInteger(samplesPerChunk) || samplesPerChunk < 1 || samplesPerChunk > 32767) {
      throw new RangeError(`HeadChunkStore: samplesPerChunk=${samplesPerChunk} must be an integer in [1, 32767]`);
    }
    this.handle = wasmExports().headNew(chunkRange, samplesPerChunk);
    unclosedStores.register(this, this.handle, this.token);
  }

  private live(): number {
    if (this.handle === 0) throw new Error("HeadChunkStore: used after close()");
    return this.handle;
  }

  private static checkRef(what: string, ref: number, max: number = MAX_REF): void {
    if (!Number.isInteger(ref) || ref < 0 || ref > max) {
      throw new RangeError(`HeadChunkStore.${what}: ref=${ref} must be an integer in [0, ${max}]`);
    }
  }

  /** Makes `ref` a live series; idempotent (a live series keeps its samples). After release() it starts empty. */
  ensure(ref: number): void {
    HeadChunkStore.checkRef("ensure", ref, MAX_SERIES_REF);
    wasmExports().headEnsure(this.live(), ref);
  }

  /** Frees a series' open chunk; appends to `ref` then get status 4 until ensure(). Chunks already cut stay queued. */
  release(ref: number): void {
    HeadChunkStore.checkRef("release", ref);
    wasmExports().headRelease(this.live(), ref);
  }

  /**
   * Moves live series `from` (its state and open chunk) to the released ref
   * `to`; `from` is released. Does nothing when `from` is not live or `to` is.
   * Cut chunks must have been drained first (queued ones keep their old ref).
   */
  move(from: number, to: number): void {
    HeadChunkStore.checkRef("move", from);
    HeadChunkStore.checkRef("move", to, MAX_SERIES_REF);
    wasmExports().headMove(this.live(), from, to);
  }

  /**
   * Gives back the table pages wholly at or above ref `from` (pages hold
   * 1024 refs) once every ref there has been released or moved; ensure()
   * adds pages again when needed.
   */
  shrink(from: number): void {
    HeadChunkStore.checkRef("shrink", from);
    wasmExports().headShrink(this.live(), from);
  }

  /**
   * Appends samples (refs[i], t[i], v[i]) for i < n, writing status[i];
   * returns how many were appended. Values are moved as raw bytes, so NaN
   * payloads (the staleness marker) survive.
   */
  appendBatch(refs: Uint32Array, t: Float64Array, v: Float64Array, n: number, status: Uint8Array): number {
    if (!Number.isInteger(n) || n < 0 || n > refs.length || n > t.length || n > v.length || n > status.length) {
      throw new RangeError(
        `HeadChunkStore.appendBatch: n=${n} must be an integer in [0, min(refs=${refs.length}, t=${t.length}, v=${v.length}, status=${status.length})]`);
    }
    const wasm = wasmExports();
    const handle = this.live();
    let appended = 0;
    for (let start = 0; start < n; start += BATCH_SLICE) {
      const m = Math.min(BATCH_SLICE, n - start);
      const tPtr = scratch(21 * m);
      const vPtr = tPtr + 8 * m;
      const refsPtr = vPtr + 8 * m;
      const statusPtr = refsPtr + 4 * m;
      const mem = memoryBytes();
      mem.set(rawBytes(t.subarray(start, start + m), m), tPtr);
      mem.set(rawBytes(v.subarray(start, start + m), m), vPtr);
      mem.set(rawBytes(refs.subarray(start, start + m), m), refsPtr);
      appended += wasm.headAppendBatch(handle, refsPtr, tPtr, vPtr, m, statusPtr);
      status.set(memoryBytes().subarray(statusPtr, statusPtr + m), start);
    }
    return appended;
  }

  /** Chunks cut since the last call, in cut order, as copies; the store frees its copies. */
  drainCut(): CutChunk[] {
    const wasm = wasmExports();
    const handle = this.live();
    const count = wasm.headCutLength(handle);
    if (count === 0) return [];
    const queue = wasm.headCutQueue(handle);
    const buffer = wasm.memory.buffer;
    const words = new Uint32Array(buffer);
    const floats = new Float64Array(buffer);
    const bytes = new Uint8Array(buffer);
    const chunks: CutChunk[] = [];
    for (let i = 0; i < count; i++) {
      const entry = queue + 32 * i;
      const len = words[(entry >>> 2) + 1]!;
      const data = words[(entry >>> 2) + 2]!;
      chunks.push({
        ref: words[entry >>> 2]!,
        mint: floats[(entry + 16) >>> 3]!,
        maxt: floats[(entry + 24) >>> 3]!,
        data: bytes.slice(data, data + len),
      });
    }
    wasm.headDrainDone(handle);
    return chunks;
  }

  /** A copy of a series' open chunk, or null when it has none (or the ref is unknown). */
  openChunk(ref: number): ChunkMeta | null {
    HeadChunkStore.checkRef("openChunk", ref);
    const wasm = wasmExports();
    const handle = this.live();
    const len = wasm.headOpenLength(handle, ref);
    if (len === 0) return null;
    const ptr = wasm.headOpenBuffer(handle, ref);
    return {
      mint: wasm.headOpenMinTime(handle, ref),
      maxt: wasm.headLastTimestamp(handle, ref),
      data: memoryBytes().slice(ptr, ptr + len),
    };
  }

  /** Timestamp of the series' last appended sample; -Infinity when it has none or the ref is unknown. */
  lastTimestamp(ref: number): number {
    HeadChunkStore.checkRef("lastTimestamp", ref);
    return wasmExports().headLastTimestamp(this.live(), ref);
  }

  /** Closes the series' open chunk now (it appears in the next drainCut); the next sample starts a new chunk. */
  cutOpen(ref: number): void {
    HeadChunkStore.checkRef("cutOpen", ref);
    wasmExports().headCutOpen(this.live(), ref);
  }

  /** Bytes of WASM memory this store holds: series table, open and undrained chunks. */
  memoryBytes(): number {
    return wasmExports().headMemoryBytes(this.live());
  }

  /** Frees all the store's WASM memory now (collection would too, later); the store cannot be used afterwards. */
  close(): void {
    if (this.handle === 0) return;
    unclosedStores.unregister(this.token);
    wasmExports().headFree(this.handle);
    this.handle = 0;
  }
}
