/**
 * Merging what several sources (blocks, the head) hold for the same series:
 * sample batches merged in time order with duplicates dropped, series lists
 * merged by labels, and samples re-cut into XOR chunks of at most 120
 * samples — the pieces behind the DB querier and vertical compaction.
 */
import { compareLabels, type Labels } from "../../model/index.ts";
import { decodeXor, encodeXor, HeadChunkStore, WasmSamples, wasmExports } from "../chunkenc/index.ts";
import type { ChunkMeta, SampleBatch, StoredSeries } from "../types.ts";

/** Prometheus's target number of samples per chunk. */
export const SAMPLES_PER_CHUNK = 120;

/** An empty batch. */
export function emptyBatch(): SampleBatch {
  return { t: new Float64Array(0), v: new Float64Array(0), length: 0 };
}

/**
 * Merges batches (each in time order) into one; when several hold a sample
 * at the same timestamp, the one from the earliest batch wins.
 *
 * @example
 * mergeSampleBatches([{ t: f64(1, 3), v: f64(1, 3), length: 2 }, { t: f64(2, 3), v: f64(2, 9), length: 2 }]);
 * // t = [1, 2, 3], v = [1, 2, 3]
 */
export function mergeSampleBatches(batches: readonly SampleBatch[]): SampleBatch {
  const live = batches.filter((b) => b.length > 0);
  if (live.length === 0) return emptyBatch();
  if (live.length === 1) return live[0]!;
  let total = 0;
  for (const b of live) total += b.length;
  const t = new Float64Array(total), v = new Float64Array(total);
  if (inDisjointTimeOrder(live)) {
    // The usual case (one series spread over consecutive blocks): a plain concatenation.
    let n = 0;
    for (const b of live) {
      t.set(b.t.length === b.length ? b.t : b.t.subarray(0, b.length), n);
      v.set(b.v.length === b.length ? b.v : b.v.subarray(0, b.length), n);
      n += b.length;
    }
    return { t, v, length: n };
  }
  const pos = new Array<number>(live.length).fill(0);
  let n = 0;
  for (;;) {
    let best = -1, bestT = Infinity;
    for (let i = 0; i < live.length; i++) {
      const b = live[i]!;
      if (pos[i]! < b.length && b.t[pos[i]!]! < bestT) {
        bestT = b.t[pos[i]!]!;
        best = i;
      }
    }
    if (best < 0) break;
    t[n] = bestT;
    v[n] = live[best]!.v[pos[best]!]!;
    n++;
    for (let i = 0; i < live.length; i++) {
      const b = live[i]!;
      while (pos[i]! < b.length && b.t[pos[i]!]! === bestT) pos[i]!++;
    }
  }
  return { t: t.subarray(0, n), v: v.subarray(0, n), length: n };
}

/** True when each non-empty batch starts after the previous one ends. */
function inDisjointTimeOrder(batches: readonly SampleBatch[]): boolean {
  for (let i = 1; i < batches.length; i++) {
    const prev = batches[i - 1]!;
    if (!(batches[i]!.t[0]! > prev.t[prev.length - 1]!)) return false;
  }
  return true;
}

/** Module memory the in-order path of decodeChunks decodes into; reused, as decoding is synchronous. */
let decodeArea: WasmSamples | null = null;
/** Past this many samples the decode area is given back after use rather than kept for the next series. */
const DECODE_AREA_KEPT_SAMPLES = 1 << 16;

/**
 * decodeChunks for chunks in time order without overlap (the usual case):
 * all decoded into one module-memory area, each trimmed to [mint, maxt] in
 * place, then copied out once (same-type typed-array copies are bit-exact).
 */
function decodeOrderedChunks(chunks: readonly ChunkMeta[], mint: number, maxt: number): SampleBatch {
  const area = (decodeArea ??= new WasmSamples());
  area.clear();
  const bounds: number[] = [];
  for (const c of chunks) {
    if (c.maxt < mint || c.mint > maxt) continue;
    const start = area.length;
    bounds.push(start, start + area.appendChunk(c.data));
  }
  const buffer = wasmExports().memory.buffer;
  const t = new Float64Array(buffer, area.tPtr, area.length), v = new Float64Array(buffer, area.vPtr, area.length);
  let n = 0, first = 0;
  for (let i = 0; i < bounds.length; i += 2) {
    let lo = bounds[i]!, hi = bounds[i + 1]!;
    while (lo < hi && t[lo]! < mint) lo++;
    while (hi > lo && t[hi - 1]! > maxt) hi--;
    if (i === 0) {
      first = lo;
      n = lo;
    } else if (lo !== n) {
      t.copyWithin(n, lo, hi);
      v.copyWithin(n, lo, hi);
    }
    n += hi - lo;
  }
  const length = n - first;
  const outT = new Float64Array(length), outV = new Float64Array(length);
  outT.set(t.subarray(first, n));
  outV.set(v.subarray(first, n));
  if (area.capacity > DECODE_AREA_KEPT_SAMPLES) area.free();
  return { t: outT, v: outV, length };
}

/** Decodes chunks (in any order, possibly overlapping) into one sorted, de-duplicated batch within [mint, maxt]. */
export function decodeChunks(chunks: readonly ChunkMeta[], mint: number, maxt: number): SampleBatch {
  let inOrder = true;
  let previousMaxt = -Infinity;
  for (const c of chunks) {
    if (c.maxt < mint || c.mint > maxt) continue;
    if (c.mint <= previousMaxt) inOrder = false;
    previousMaxt = Math.max(previousMaxt, c.maxt);
  }
  if (inOrder) return decodeOrderedChunks(chunks, mint, maxt);
  const parts: SampleBatch[] = [];
  for (const c of chunks) {
    if (c.maxt < mint || c.mint > maxt) continue;
    const d = decodeXor(c.data);
    let lo = 0, hi = d.t.length;
    while (lo < hi && d.t[lo]! < mint) lo++;
    while (hi > lo && d.t[hi - 1]! > maxt) hi--;
    parts.push({ t: d.t.subarray(lo, hi), v: d.v.subarray(lo, hi), length: hi - lo });
  }
  return mergeSampleBatches(parts);
}

/** Cuts a sorted batch into XOR chunks of at most `perChunk` samples. */
export function encodeChunks(batch: SampleBatch, perChunk = SAMPLES_PER_CHUNK): ChunkMeta[] {
  const out: ChunkMeta[] = [];
  for (let i = 0; i < batch.length; i += perChunk) {
    const end = Math.min(i + perChunk, batch.length);
    const t = batch.t.subarray(i, end), v = batch.v.subarray(i, end);
    out.push({ mint: t[0]!, maxt: t[end - i - 1]!, data: encodeXor(t, v, end - i) });
  }
  return out;
}

/** One store reused by {@link encodeChunksLikeHead}, per chunk range. */
const headCutters = new Map<number, HeadChunkStore>();

/**
 * Encodes a series' samples (sorted, unique timestamps) into chunks cut
 * exactly as Prometheus's head cuts them — sized so each chunk range fills
 * with chunks of about 120 samples, never crossing a range boundary — so a
 * backfilled block holds the same chunks as promtool's on the same input.
 */
export function encodeChunksLikeHead(batch: SampleBatch, chunkRange: number): ChunkMeta[] {
  let store = headCutters.get(chunkRange);
  if (!store) headCutters.set(chunkRange, (store = new HeadChunkStore({ chunkRange })));
  const ref = 1, n = batch.length;
  store.ensure(ref);
  try {
    const status = new Uint8Array(n);
    store.appendBatch(new Uint32Array(n).fill(ref), batch.t.subarray(0, n), batch.v.subarray(0, n), n, status);
    const bad = status.findIndex((s) => s !== 0);
    if (bad >= 0) throw new Error(`encodeChunksLikeHead: sample ${bad} at ${batch.t[bad]} not appendable (status ${status[bad]})`);
    store.cutOpen(ref);
    return store.drainCut().map((c) => ({ mint: c.mint, maxt: c.maxt, data: c.data }));
  } finally {
    store.release(ref);
  }
}

/**
 * Restricts chunks to [mint, maxt]: chunks fully inside are kept as they
 * are; chunks crossing a bound, or overlapping each other, are decoded,
 * merged and re-encoded. The result is sorted and non-overlapping.
 */
export function normalizeChunks(chunks: readonly ChunkMeta[], mint: number, maxt: number): ChunkMeta[] {
  const sorted = [...chunks].filter((c) => c.maxt >= mint && c.mint <= maxt).sort((a, b) => a.mint - b.mint);
  let clean = true;
  for (let i = 0; i < sorted.length; i++) {
    const c = sorted[i]!;
    if (c.mint < mint || c.maxt > maxt || (i > 0 && c.mint <= sorted[i - 1]!.maxt)) {
      clean = false;
      break;
    }
  }
  if (clean) return sorted;
  return encodeChunks(decodeChunks(sorted, mint, maxt));
}

/** One series found in several sources: chunks concatenated by time, samples merged. */
class MergedSeries implements StoredSeries {
  constructor(readonly labels: Labels, private readonly parts: readonly StoredSeries[]) {}

  chunks(): ChunkMeta[] {
    const all: ChunkMeta[] = [];
    for (const p of this.parts) all.push(...p.chunks());
    return all.sort((a, b) => a.mint - b.mint);
  }

  samples(): SampleBatch {
    return mergeSampleBatches(this.parts.map((p) => p.samples()));
  }
}

/**
 * Merges series lists (each sorted by labels) into one sorted list; series
 * with equal labels in several lists become one whose samples are merged
 * (earlier lists win on equal timestamps).
 */
export function mergeSeriesLists(lists: readonly (readonly StoredSeries[])[]): StoredSeries[] {
  const live = lists.filter((l) => l.length > 0);
  if (live.length === 0) return [];
  if (live.length === 1) return [...live[0]!];
  const pos = new Array<number>(live.length).fill(0);
  const out: StoredSeries[] = [];
  for (;;) {
    let best: Labels | undefined;
    for (let i = 0; i < live.length; i++) {
      const s = live[i]![pos[i]!];
      if (s && (!best || compareLabels(s.labels, best) < 0)) best = s.labels;
    }
    if (!best) break;
    const same: StoredSeries[] = [];
    for (let i = 0; i < live.length; i++) {
      const s = live[i]![pos[i]!];
      if (s && compareLabels(s.labels, best) === 0) {
        same.push(s);
        pos[i]!++;
      }
    }
    out.push(same.length === 1 ? same[0]! : new MergedSeries(best, same));
  }
  return out;
}
