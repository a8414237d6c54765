/**
 * Merging what several sources (blocks, the head) hold for the same series:
 * sample batches merged in time order with duplicates dropped, series lists
 * merged by labels, and samples re-cut into XOR chunks of at most 120
 * samples — the pieces behind the DB querier and vertical compaction.
 */
import { compareLabels, type Labels } from "../../model/index.ts";
import { decodeXor, encodeXor } from "../chunkenc/index.ts";
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

/** Decodes chunks (in any order, possibly overlapping) into one sorted, de-duplicated batch within [mint, maxt]. */
export function decodeChunks(chunks: readonly ChunkMeta[], mint: number, maxt: number): SampleBatch {
  const parts: SampleBatch[] = [];
  let ordered = true;
  let lastMaxt = -Infinity;
  for (const c of chunks) {
    if (c.maxt < mint || c.mint > maxt) continue;
    if (c.mint <= lastMaxt) ordered = false;
    lastMaxt = Math.max(lastMaxt, c.maxt);
    const d = decodeXor(c.data);
    let lo = 0, hi = d.t.length;
    while (lo < hi && d.t[lo]! < mint) lo++;
    while (hi > lo && d.t[hi - 1]! > maxt) hi--;
    parts.push({ t: d.t.subarray(lo, hi), v: d.v.subarray(lo, hi), length: hi - lo });
  }
  if (parts.length === 1) return parts[0]!;
  if (ordered) {
    let total = 0;
    for (const p of parts) total += p.length;
    const t = new Float64Array(total), v = new Float64Array(total);
    let n = 0;
    for (const p of parts) {
      t.set(p.t.subarray(0, p.length), n);
      v.set(p.v.subarray(0, p.length), n);
      n += p.length;
    }
    return { t, v, length: n };
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
