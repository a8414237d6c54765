/**
 * Writes a complete block directory the way Prometheus does: everything goes
 * into `<parent>/<ulid>.tmp-for-creation` (chunks/, index, tombstones,
 * meta.json, each fsynced), which is then renamed to `<parent>/<ulid>`, so a
 * crash never leaves a half-written block under a block name.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compareLabels, labelsKey, type Labels } from "../../model/index.ts";
import { chunkNumSamples } from "../chunkenc/index.ts";
import type { ChunkMeta } from "../types.ts";
import { ChunkSegmentWriter, DEFAULT_SEGMENT_SIZE } from "./chunks.ts";
import { encodeIndex, type IndexSeries } from "./index_format.ts";
import { type BlockDesc, type BlockMeta, writeMeta } from "./meta.ts";
import { encodeEmptyTombstones, TOMBSTONES_FILENAME } from "./tombstones.ts";
import { newULID } from "./ulid.ts";

/** Suffix of a block directory being written. */
export const TMP_FOR_CREATION = ".tmp-for-creation";
/** Suffix of a block directory being deleted. */
export const TMP_FOR_DELETION = ".tmp-for-deletion";

/** A series to write: its labels and XOR chunks, sorted by time and not overlapping. */
export interface BlockSeries {
  labels: Labels;
  chunks: readonly ChunkMeta[];
}

/** What the block covers and how it came to be. */
export interface WriteBlockOptions {
  /** Inclusive lower bound of the block's time range. */
  minTime: number;
  /** Exclusive upper bound. */
  maxTime: number;
  ulid?: string;
  /** Compaction level: 1 for blocks cut from the head or backfilled. */
  level?: number;
  /** ULIDs of the level-1 blocks this one holds data of (default: itself). */
  sources?: string[];
  parents?: BlockDesc[];
  segmentSize?: number;
}

function fsyncFile(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `series` as a new block under `parentDir` and returns its meta.
 * Series without chunks are left out; the input need not be sorted.
 * Throws when two series have the same labels.
 *
 * @example
 * const meta = writeBlock("/data", [{ labels, chunks: [{ mint: 0, maxt: 9, data: encodeXor(t, v) }] }], { minTime: 0, maxTime: 10 });
 */
export function writeBlock(parentDir: string, series: Iterable<BlockSeries>, opts: WriteBlockOptions): BlockMeta {
  const ulid = opts.ulid ?? newULID();
  const tmp = join(parentDir, ulid + TMP_FOR_CREATION);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const chunkWriter = new ChunkSegmentWriter(join(tmp, "chunks"), opts.segmentSize ?? DEFAULT_SEGMENT_SIZE);
    const indexSeries: IndexSeries[] = [];
    let numSamples = 0, numChunks = 0;
    try {
      for (const s of series) {
        if (s.chunks.length === 0) continue;
        const refs = s.chunks.map((c) => {
          numSamples += chunkNumSamples(c.data);
          return { mint: c.mint, maxt: c.maxt, ref: chunkWriter.write(c.data) };
        });
        numChunks += refs.length;
        indexSeries.push({ labels: s.labels, chunks: refs });
      }
    } finally {
      chunkWriter.close();
    }
    indexSeries.sort((a, b) => compareLabels(a.labels, b.labels));
    for (let i = 1; i < indexSeries.length; i++) {
      if (compareLabels(indexSeries[i - 1]!.labels, indexSeries[i]!.labels) === 0) {
        throw new Error(`block ${ulid}: series ${labelsKey(indexSeries[i]!.labels)} given twice`);
      }
    }
    writeFileSync(join(tmp, "index"), encodeIndex(indexSeries));
    fsyncFile(join(tmp, "index"));
    writeFileSync(join(tmp, TOMBSTONES_FILENAME), encodeEmptyTombstones());
    const meta: BlockMeta = {
      ulid,
      minTime: opts.minTime,
      maxTime: opts.maxTime,
      stats: { numSamples, numSeries: indexSeries.length, numChunks },
      compaction: { level: opts.level ?? 1, sources: opts.sources ?? [ulid], parents: opts.parents },
      version: 1,
    };
    writeMeta(tmp, meta);
    fsyncFile(join(tmp, "meta.json"));
    renameSync(tmp, join(parentDir, ulid));
    fsyncFile(parentDir);
    return meta;
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}
