/**
 * Compaction as Prometheus's leveled compactor does it: which blocks to
 * merge (overlapping blocks first, "vertical" compaction; then runs of
 * blocks filling an aligned range of 3×, 9×, … the block duration) and the
 * merge itself, which writes one new block holding the union of the series.
 */
import { join } from "node:path";
import { compareLabels, type Labels } from "../model/index.ts";
import {
  type Block, type BlockMeta, type BlockSeries, type WriteBlockOptions, normalizeChunks, removeBlockDir, writeBlock, writeBlockAsync,
} from "./block/index.ts";
import type { ChunkMeta } from "./types.ts";
import type { WriteFn } from "./wal/index.ts";

/** Upper bound for a compacted block's span when no retention limits it: 31 days. */
export const MAX_BLOCK_DURATION = 31 * 24 * 3600 * 1000;

/**
 * `steps` ranges starting at `minSize`, each `stepSize` times the previous.
 *
 * @example
 * exponentialBlockRanges(2 * HOUR, 3, 3); // [2h, 6h, 18h]
 */
export function exponentialBlockRanges(minSize: number, steps: number, stepSize: number): number[] {
  const out: number[] = [];
  let cur = minSize;
  for (let i = 0; i < steps; i++) {
    out.push(cur);
    cur *= stepSize;
  }
  return out;
}

/**
 * The compaction ranges Prometheus uses for a block duration and time
 * retention: 2h, 6h, 18h, … up to min(retention / 10, 31d).
 */
export function compactionRanges(blockDuration: number, retentionTime: number): number[] {
  let max = MAX_BLOCK_DURATION;
  if (retentionTime > 0 && retentionTime / 10 < max) max = retentionTime / 10;
  const ranges = exponentialBlockRanges(blockDuration, 10, 3).filter((r) => r <= max);
  return ranges.length > 0 ? ranges : [blockDuration];
}

/** The first run of blocks (sorted by minTime) whose time ranges overlap. */
export function selectOverlapping(metas: readonly BlockMeta[]): BlockMeta[] {
  if (metas.length < 2) return [];
  const out: BlockMeta[] = [];
  let globalMaxt = metas[0]!.maxTime;
  for (let i = 1; i < metas.length; i++) {
    const m = metas[i]!;
    if (m.minTime < globalMaxt) {
      if (out.length === 0) out.push(metas[i - 1]!);
      out.push(m);
    } else if (out.length > 0) {
      break;
    }
    if (m.maxTime > globalMaxt) globalMaxt = m.maxTime;
  }
  return out;
}

/** Groups blocks (sorted by minTime) by the aligned range of size `range` they fall in; larger blocks are skipped. */
export function splitByRange(metas: readonly BlockMeta[], range: number): BlockMeta[][] {
  const out: BlockMeta[][] = [];
  let i = 0;
  while (i < metas.length) {
    const m = metas[i]!;
    const t0 = m.minTime >= 0 ? range * Math.trunc(m.minTime / range) : range * Math.trunc((m.minTime - range + 1) / range);
    if (m.maxTime > t0 + range) {
      i++;
      continue;
    }
    const group: BlockMeta[] = [];
    for (; i < metas.length; i++) {
      if (metas[i]!.maxTime > t0 + range) break;
      group.push(metas[i]!);
    }
    if (group.length > 0) out.push(group);
  }
  return out;
}

/**
 * Picks the blocks to compact next, or [] when there is nothing to do.
 * Overlapping blocks come first. Otherwise the newest block is left alone
 * (it was just cut from the head) and the first run of older blocks that
 * fills an aligned range — or lies wholly before the newest of them — is
 * chosen, trying ranges from small to large.
 */
export function planCompaction(metas: readonly BlockMeta[], ranges: readonly number[]): BlockMeta[] {
  const sorted = [...metas].sort((a, b) => a.minTime - b.minTime);
  const overlapping = selectOverlapping(sorted);
  if (overlapping.length > 0) return overlapping;
  const candidates = sorted.slice(0, -1);
  if (ranges.length < 2 || candidates.length < 1) return [];
  const highTime = candidates[candidates.length - 1]!.minTime;
  for (const range of ranges.slice(1)) {
    for (const group of splitByRange(candidates, range)) {
      if (group.some((m) => m.compaction.failed)) continue;
      const mint = group[0]!.minTime;
      const maxt = group[group.length - 1]!.maxTime;
      if ((maxt - mint === range || maxt <= highTime) && group.length > 1) return group;
    }
  }
  return [];
}

/** K-way merge of per-block series iterators (each sorted by labels) into label-ordered groups of chunks. */
function* mergeBlockSeries(blocks: readonly Block[]): Iterable<{ labels: Labels; chunks: ChunkMeta[] }> {
  const iters = blocks.map((b) => b.series()[Symbol.iterator]());
  const heads: (BlockSeries | undefined)[] = iters.map((it) => {
    const r = it.next();
    return r.done ? undefined : r.value;
  });
  for (;;) {
    let best: Labels | undefined;
    for (const h of heads) if (h && (!best || compareLabels(h.labels, best) < 0)) best = h.labels;
    if (!best) return;
    const chunks: ChunkMeta[] = [];
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      if (h && compareLabels(h.labels, best) === 0) {
        chunks.push(...h.chunks);
        const r = iters[i]!.next();
        heads[i] = r.done ? undefined : r.value;
      }
    }
    yield { labels: best, chunks };
  }
}

/** What merging `blocks` writes: the merged series and the new block's options. */
function mergePlan(blocks: readonly Block[]): { series: Iterable<BlockSeries>; opts: WriteBlockOptions } {
  const minTime = Math.min(...blocks.map((b) => b.meta.minTime));
  const maxTime = Math.max(...blocks.map((b) => b.meta.maxTime));
  const sources = [...new Set(blocks.flatMap((b) => b.meta.compaction.sources))].sort();
  const level = Math.max(...blocks.map((b) => b.meta.compaction.level)) + 1;
  const parents = blocks.map((b) => ({ ulid: b.meta.ulid, minTime: b.meta.minTime, maxTime: b.meta.maxTime }));
  const series = (function* () {
    for (const s of mergeBlockSeries(blocks)) yield { labels: s.labels, chunks: normalizeChunks(s.chunks, minTime, maxTime - 1) };
  })();
  return { series, opts: { minTime, maxTime, level, sources, parents } };
}

/** Keeps a merged block only when it holds samples. */
function keepIfNotEmpty(parentDir: string, meta: BlockMeta): BlockMeta | undefined {
  if (meta.stats.numSamples > 0) return meta;
  removeBlockDir(join(parentDir, meta.ulid));
  return undefined;
}

/**
 * Merges `blocks` into one new block under `parentDir` (level = highest
 * parent level + 1, sources = union of the parents' sources). Overlapping
 * chunks of a series are merged sample by sample, duplicates dropped.
 * Returns the new block's meta, or undefined when the parents held no
 * samples (then no block is kept). The parents are left in place.
 */
export function compactBlocks(parentDir: string, blocks: readonly Block[]): BlockMeta | undefined {
  if (blocks.length === 0) return undefined;
  const { series, opts } = mergePlan(blocks);
  return keepIfNotEmpty(parentDir, writeBlock(parentDir, series, opts));
}

/**
 * {@link compactBlocks} that yields to the event loop while it writes (see
 * writeBlockAsync); the DB compacts this way so queries and scrapes go on.
 * A write error (`writeFn` injects them in tests) leaves the parents as they
 * were and no new block behind.
 */
export async function compactBlocksAsync(parentDir: string, blocks: readonly Block[], writeFn?: WriteFn): Promise<BlockMeta | undefined> {
  if (blocks.length === 0) return undefined;
  const { series, opts } = mergePlan(blocks);
  return keepIfNotEmpty(parentDir, await writeBlockAsync(parentDir, series, { ...opts, writeFn }));
}
