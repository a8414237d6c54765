import { describe, expect, test } from "bun:test";
import { chunkNumSamples, decodeXor, encodeXor, DUPLICATE_IGNORED, HeadChunkStore, MAX_SERIES_REF, wasmExports, type CutChunk } from "../../../src/tsdb/chunkenc/index.ts";
import type { ChunkMeta } from "../../../src/tsdb/types.ts";
import {
  bitsOf, floatsFromBits, loadVectors, STALE_NAN_BITS, vectorChunks, vectorSamples,
} from "./helpers.ts";
import { seededRandom } from "../../support/random.ts";

const HOUR2 = 7_200_000;
const RANGE_START = 1_699_999_200_000; // a multiple of 2h

/** Appends one series' samples in one batch; returns the statuses. */
function appendSeries(store: HeadChunkStore, ref: number, t: Float64Array, v: Float64Array): Uint8Array {
  const status = new Uint8Array(t.length).fill(255);
  store.appendBatch(new Uint32Array(t.length).fill(ref), t, v, t.length, status);
  return status;
}

/** Every chunk of `ref`, cut then open, in order. */
function chunksOf(cut: CutChunk[], store: HeadChunkStore, ref: number): ChunkMeta[] {
  const chunks: ChunkMeta[] = cut.filter((c) => c.ref === ref);
  const open = store.openChunk(ref);
  if (open !== null) chunks.push(open);
  return chunks;
}

function regular(n: number, start: number, step: number): Float64Array {
  return new Float64Array(n).map((_, i) => start + i * step);
}

describe("HeadChunkStore cutting", () => {
  test("cuts the Prometheus vectors where Prometheus did, into the same bytes", () => {
    for (const c of loadVectors()) {
      const store = new HeadChunkStore();
      store.ensure(0);
      const { t, v } = vectorSamples(c);
      const status = appendSeries(store, 0, t, v);
      expect(status.every((s) => s === 0), c.name).toBe(true);
      const got = chunksOf(store.drainCut(), store, 0).map((chunk) => Buffer.from(chunk.data).toString("hex"));
      expect(got, c.name).toEqual(vectorChunks(c).map((chunk) => Buffer.from(chunk).toString("hex")));
      store.close();
    }
  });

  test("a steady 15s series gets 120-sample chunks, four per 2h range", () => {
    const store = new HeadChunkStore();
    store.ensure(0);
    const t = regular(1000, RANGE_START, 15000);
    const status = appendSeries(store, 0, t, new Float64Array(1000).map((_, i) => i));
    expect(status.every((s) => s === 0)).toBe(true);
    const cut = store.drainCut();
    expect(cut.length).toBe(8);
    for (const c of cut) {
      expect(chunkNumSamples(c.data)).toBe(120);
      expect(Math.floor(c.mint / HOUR2)).toBe(Math.floor(c.maxt / HOUR2));
    }
    expect(store.drainCut()).toEqual([]);
    store.close();
  });

  test("no chunk crosses a 2h boundary even when it is short", () => {
    const store = new HeadChunkStore();
    store.ensure(3);
    const start = RANGE_START + HOUR2 - 200_000; // 20 samples before the boundary
    const t = regular(300, start, 10_000);
    appendSeries(store, 3, t, new Float64Array(300).fill(1));
    const chunks = chunksOf(store.drainCut(), store, 3);
    expect(chunks[0]!.mint).toBe(start);
    expect(chunkNumSamples(chunks[0]!.data)).toBe(20);
    expect(chunks[0]!.maxt).toBeLessThan(RANGE_START + HOUR2);
    expect(chunks[1]!.mint).toBe(RANGE_START + HOUR2);
    for (const c of chunks) expect(Math.floor(c.mint / HOUR2)).toBe(Math.floor(c.maxt / HOUR2));
    expect(chunks.reduce((sum, c) => sum + chunkNumSamples(c.data), 0)).toBe(300);
    store.close();
  });

  test("a chunk never holds more than 2 × samplesPerChunk when the rate jumps", () => {
    const store = new HeadChunkStore();
    store.ensure(0);
    // 30 samples a minute apart set the chunk's end far out, then 1ms samples flood in
    const slow = regular(30, RANGE_START, 60_000);
    const fast = regular(1000, RANGE_START + 30 * 60_000, 1);
    appendSeries(store, 0, slow, new Float64Array(30));
    appendSeries(store, 0, fast, new Float64Array(1000));
    const cut = store.drainCut();
    expect(chunkNumSamples(cut[0]!.data)).toBe(240);
    for (const c of cut) expect(chunkNumSamples(c.data)).toBeLessThanOrEqual(240);
    store.close();
  });

  test("samplesPerChunk and chunkRange options are honoured", () => {
    const store = new HeadChunkStore({ chunkRange: 60_000, samplesPerChunk: 8 });
    store.ensure(0);
    appendSeries(store, 0, regular(100, 0, 1000), new Float64Array(100));
    for (const c of chunksOf(store.drainCut(), store, 0)) {
      expect(Math.floor(c.mint / 60_000)).toBe(Math.floor(c.maxt / 60_000));
      expect(chunkNumSamples(c.data)).toBeLessThanOrEqual(16);
    }
    store.close();
  });

  test("cutOpen closes the open chunk and the next sample starts a new one", () => {
    const store = new HeadChunkStore();
    store.ensure(1);
    appendSeries(store, 1, regular(5, RANGE_START, 1000), new Float64Array([1, 2, 3, 4, 5]));
    store.cutOpen(1);
    expect(store.openChunk(1)).toBeNull();
    const cut = store.drainCut();
    expect(cut.map((c) => [c.ref, c.mint, c.maxt, chunkNumSamples(c.data)])).toEqual([[1, RANGE_START, RANGE_START + 4000, 5]]);
    store.cutOpen(1); // nothing open: no-op
    expect(store.drainCut()).toEqual([]);
    appendSeries(store, 1, new Float64Array([RANGE_START + 5000]), new Float64Array([6]));
    expect(store.openChunk(1)!.mint).toBe(RANGE_START + 5000);
    // the series still remembers its last sample across the cut
    expect(appendSeries(store, 1, new Float64Array([RANGE_START + 4000]), new Float64Array([9]))[0]).toBe(1);
    store.close();
  });
});

describe("HeadChunkStore statuses", () => {
  test("out of order, duplicate, exact duplicate, unknown ref, bad timestamp", () => {
    const store = new HeadChunkStore();
    store.ensure(0);
    store.ensure(2);
    const refs = new Uint32Array([0, 0, 0, 0, 1, 5, 2, 2, 2, 0, 0]);
    const t = new Float64Array([1000, 500, 1000, 1000, 1000, 1000, 2000, 2000, 2000, 1.5, 3000]);
    // values as bit patterns: reading a NaN into a JS number may lose its payload
    const v = floatsFromBits([1, 9, 2, 1, 1, 1].map((x) => new BigUint64Array(new Float64Array([x]).buffer)[0]!)
      .concat([STALE_NAN_BITS, STALE_NAN_BITS, 0x7ff0000000000003n, 0n, 0n]));
    const status = new Uint8Array(refs.length).fill(255);
    const appended = store.appendBatch(refs, t, v, refs.length, status);
    expect(Array.from(status)).toEqual([0, 1, 2, DUPLICATE_IGNORED, 4, 4, 0, DUPLICATE_IGNORED, 2, 3, 0]);
    expect(appended).toBe(3);
    expect(store.lastTimestamp(0)).toBe(3000);
    expect(store.lastTimestamp(2)).toBe(2000);
    expect(store.lastTimestamp(1)).toBe(-Infinity);
    expect(store.lastTimestamp(1_000_000)).toBe(-Infinity);
    expect(bitsOf(decodeXor(store.openChunk(2)!.data).v)).toEqual([STALE_NAN_BITS.toString(16)]);
    store.close();
  });

  test("release makes a ref unknown; ensure brings it back empty", () => {
    const store = new HeadChunkStore();
    store.ensure(7);
    appendSeries(store, 7, new Float64Array([10, 20]), new Float64Array([1, 2]));
    store.ensure(7); // already live: keeps its samples
    expect(store.lastTimestamp(7)).toBe(20);
    store.release(7);
    expect(store.openChunk(7)).toBeNull();
    expect(appendSeries(store, 7, new Float64Array([30]), new Float64Array([3]))[0]).toBe(4);
    store.ensure(7);
    expect(store.lastTimestamp(7)).toBe(-Infinity);
    expect(appendSeries(store, 7, new Float64Array([5]), new Float64Array([3]))[0]).toBe(0);
    expect(store.openChunk(7)!.mint).toBe(5);
    store.release(123_456); // never ensured: no-op
    store.close();
  });

  test("bad arguments are reported", () => {
    expect(() => new HeadChunkStore({ chunkRange: 0 })).toThrow(/chunkRange/);
    expect(() => new HeadChunkStore({ samplesPerChunk: 1.5 })).toThrow(/samplesPerChunk/);
    const store = new HeadChunkStore();
    expect(() => store.ensure(-1)).toThrow(/ref=-1/);
    expect(() => store.ensure(MAX_SERIES_REF + 1)).toThrow(/ref=/);
    expect(store.lastTimestamp(2 ** 32 - 1)).toBe(-Infinity);
    expect(() => store.appendBatch(new Uint32Array(1), new Float64Array(1), new Float64Array(1), 2, new Uint8Array(1))).toThrow(/n=2/);
    store.close();
    expect(() => store.ensure(0)).toThrow(/close/);
  });
});

describe("HeadChunkStore with many series", () => {
  test("interleaved batches give the same bytes as encodeXor, bit-exact values", () => {
    const random = seededRandom(2024);
    const series = 300;
    const store = new HeadChunkStore();
    const wantT: number[][] = Array.from({ length: series }, () => []);
    const wantV: bigint[][] = Array.from({ length: series }, () => []);
    const nextT = new Float64Array(series).map((_, r) => RANGE_START - 3_600_000 + r * 37);
    for (let r = 0; r < series; r++) store.ensure(r);
    const cut: CutChunk[] = [];
    const batch = 2000;
    for (let round = 0; round < 60; round++) {
      const refs = new Uint32Array(batch);
      const t = new Float64Array(batch);
      const v = new Float64Array(batch);
      const vBits = new BigUint64Array(v.buffer);
      for (let i = 0; i < batch; i++) {
        const r = Math.floor(random() * series);
        refs[i] = r;
        nextT[r] = nextT[r]! + 15000 + Math.floor((random() - 0.5) * 2000);
        t[i] = nextT[r]!;
        const kind = r % 4;
        vBits[i] = kind === 0 ? 0x3ff0000000000000n
          : kind === 1 ? BigInt(wantV[r]!.length) * 0x10000000000n
          : kind === 2 && random() < 0.05 ? STALE_NAN_BITS
          : BigInt(Math.floor(random() * 2 ** 32)) << 20n;
        wantT[r]!.push(t[i]!);
        wantV[r]!.push(vBits[i]!);
      }
      const status = new Uint8Array(batch).fill(255);
      expect(store.appendBatch(refs, t, v, batch, status)).toBe(batch);
      expect(status.every((s) => s === 0)).toBe(true);
      if (round % 7 === 0) cut.push(...store.drainCut());
    }
    cut.push(...store.drainCut());
    expect(cut.length).toBeGreaterThan(series);
    for (let r = 0; r < series; r++) {
      let offset = 0;
      for (const chunk of chunksOf(cut, store, r)) {
        const n = chunkNumSamples(chunk.data);
        const t = new Float64Array(wantT[r]!.slice(offset, offset + n));
        const v = floatsFromBits(wantV[r]!.slice(offset, offset + n));
        expect(Buffer.from(chunk.data).equals(Buffer.from(encodeXor(t, v))), `series ${r} chunk at ${offset}`).toBe(true);
        expect(chunk.mint).toBe(t[0]!);
        expect(chunk.maxt).toBe(t[n - 1]!);
        expect(bitsOf(decodeXor(chunk.data).v)).toEqual(bitsOf(v));
        offset += n;
      }
      expect(offset).toBe(wantT[r]!.length);
    }
    store.close();
  });

  test("memoryBytes grows with data and shrinks when cut chunks are drained or series released", () => {
    const store = new HeadChunkStore();
    const empty = store.memoryBytes();
    for (let r = 0; r < 100; r++) store.ensure(r);
    const withTable = store.memoryBytes();
    expect(withTable).toBeGreaterThan(empty);
    const n = 100 * 300;
    const refs = new Uint32Array(n).map((_, i) => i % 100);
    const t = new Float64Array(n).map((_, i) => RANGE_START + Math.floor(i / 100) * 15000);
    const v = new Float64Array(n).map((_, i) => Math.sin(i));
    store.appendBatch(refs, t, v, n, new Uint8Array(n));
    const full = store.memoryBytes();
    expect(full).toBeGreaterThan(withTable + 100 * 300 * 2);
    store.drainCut();
    const drained = store.memoryBytes();
    expect(drained).toBeLessThan(full);
    for (let r = 0; r < 100; r++) store.release(r);
    const released = store.memoryBytes();
    expect(released).toBeLessThan(drained);
    expect(released).toBeLessThan(withTable + 65536); // the table and the (kept) cut queue
    store.close();
  });

  test("move carries a series (state and open chunk) to a released ref; shrink gives back whole table pages", () => {
    const store = new HeadChunkStore();
    for (let r = 0; r < 5000; r++) store.ensure(r);
    const t = new Float64Array([RANGE_START, RANGE_START + 15000, RANGE_START + 30000]);
    expect(Array.from(appendSeries(store, 4321, t, new Float64Array([1, 2, 3])))).toEqual([0, 0, 0]);
    const before = store.openChunk(4321)!;
    store.release(7);
    store.move(4321, 7);
    expect(store.openChunk(4321)).toBeNull();
    expect(appendSeries(store, 4321, new Float64Array([RANGE_START + 45000]), new Float64Array([4]))[0]).toBe(4); // released
    expect(store.openChunk(7)).toEqual(before);
    // The moved series keeps its last timestamp: an older sample is out of order, a newer one appends.
    expect(appendSeries(store, 7, new Float64Array([RANGE_START + 20000]), new Float64Array([9]))[0]).toBe(1);
    expect(appendSeries(store, 7, new Float64Array([RANGE_START + 45000]), new Float64Array([4]))[0]).toBe(0);
    expect(decodeXor(store.openChunk(7)!.data).v).toEqual(new Float64Array([1, 2, 3, 4]));
    // A move onto a live ref does nothing.
    store.move(8, 7);
    expect(store.openChunk(7)!.maxt).toBe(RANGE_START + 45000);
    const full = store.memoryBytes();
    for (let r = 1024; r < 5000; r++) store.release(r);
    store.shrink(1024);
    expect(store.memoryBytes()).toBeLessThanOrEqual(full - 3 * 1024 * 64);
    expect(store.openChunk(7)).not.toBeNull(); // below the shrink point: kept
    store.ensure(4999); // pages come back on demand
    expect(appendSeries(store, 4999, t, new Float64Array([1, 2, 3]))[2]).toBe(0);
    store.close();
  });

  test("module memory growing mid-way (a large series table) keeps every view correct", () => {
    const wasm = wasmExports();
    const before = wasm.memory.buffer.byteLength;
    const store = new HeadChunkStore();
    const top = 400_000 + Math.floor(before / 64); // a table bigger than the memory was
    store.ensure(0);
    store.ensure(top);
    expect(wasm.memory.buffer.byteLength).toBeGreaterThan(before);
    const refs = new Uint32Array([0, top, 0, top]);
    const t = new Float64Array([1000, 2000, 3000, 4000]);
    const v = floatsFromBits([STALE_NAN_BITS, 1n, 2n, STALE_NAN_BITS]);
    const status = new Uint8Array(4).fill(255);
    expect(store.appendBatch(refs, t, v, 4, status)).toBe(4);
    expect(Array.from(status)).toEqual([0, 0, 0, 0]);
    const chunk = store.openChunk(top)!;
    expect(Array.from(decodeXor(chunk.data).t)).toEqual([2000, 4000]);
    expect(bitsOf(decodeXor(chunk.data).v)).toEqual(["1", STALE_NAN_BITS.toString(16)]);
    store.close();
  });
});
