/**
 * Writes a complete block directory the way Prometheus does: everything goes
 * into `<parent>/<ulid>.tmp-for-creation` (chunks/, index, tombstones,
 * meta.json, each fsynced), which is then renamed to `<parent>/<ulid>`, so a
 * crash never leaves a half-written block under a block name. A write error
 * (disk full, I/O error) removes the temporary directory and throws; what
 * a crash leaves of it is removed when the DB opens.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { compareLabels, labelsKey, type Labels } from "../../model/index.ts";
import { chunkNumSamples } from "../chunkenc/index.ts";
import { WorkSlicer, runSteps, runStepsNow, sortSteps } from "../event_loop.ts";
import type { ChunkMeta } from "../types.ts";
import { ChunkSegmentWriter, DEFAULT_SEGMENT_SIZE } from "./chunks.ts";
import { indexEncoder, type IndexSeries } from "./index_format.ts";
import { ioErrorText, type WriteFn } from "../wal/index.ts";
import { type BlockDesc, type BlockMeta, encodeMeta, META_FILENAME } from "./meta.ts";
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
  /** Replaces write(2) for every file of the block, for fault-injection tests. */
  writeFn?: WriteFn;
}

function fsyncFile(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A block could not be written (disk full, I/O error, …); nothing of it was kept. */
export class BlockWriteError extends Error {
  override name = "BlockWriteError";
  /** The system error's code (ENOSPC, EIO, …). */
  readonly code: string;
  constructor(dir: string, cause: unknown) {
    super(`write block ${dir}: ${ioErrorText(cause)}`, { cause });
    this.code = (cause as { code?: string }).code ?? "";
  }
}

/** An error from the file system (it has an errno code) becomes a BlockWriteError naming the block. */
function blockWriteError(dir: string, err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && !(err instanceof BlockWriteError) ? new BlockWriteError(dir, err) : err;
}

/** Creates `path` with `bytes` through `write` and fsyncs it. */
function writeFileSynced(path: string, bytes: Uint8Array, write: WriteFn): void {
  const fd = openSync(path, "w", 0o644);
  try {
    let done = 0;
    while (done < bytes.length) done += write(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Removes a block directory crash-safely: it is renamed to
 * `<dir>.tmp-for-deletion` first, so a crash never leaves a partly deleted
 * block under a block name (leftovers are removed when the DB opens).
 */
export function removeBlockDir(dir: string): void {
  const tmp = dir + TMP_FOR_DELETION;
  rmSync(tmp, { recursive: true, force: true });
  renameSync(dir, tmp);
  rmSync(tmp, { recursive: true, force: true });
}

/** Builds one block in its temporary directory; finish() renames it into place. */
class BlockBuilder {
  readonly ulid: string;
  readonly tmp: string;
  private readonly chunkWriter: ChunkSegmentWriter;
  private readonly write: WriteFn;
  /** Set once the block was renamed into place; abort() then removes it there. */
  private renamed = false;
  private readonly indexSeries: IndexSeries[] = [];
  private numSamples = 0;
  private numChunks = 0;

  constructor(private readonly parentDir: string, private readonly opts: WriteBlockOptions) {
    this.ulid = opts.ulid ?? newULID();
    this.tmp = join(parentDir, this.ulid + TMP_FOR_CREATION);
    this.write = opts.writeFn ?? writeSync;
    rmSync(this.tmp, { recursive: true, force: true });
    mkdirSync(this.tmp, { recursive: true });
    try {
      this.chunkWriter = new ChunkSegmentWriter(join(this.tmp, "chunks"), opts.segmentSize ?? DEFAULT_SEGMENT_SIZE, this.write);
    } catch (err) {
      this.abort();
      throw err;
    }
  }

  add(s: BlockSeries): void {
    if (s.chunks.length === 0) return;
    const refs = s.chunks.map((c) => {
      this.numSamples += chunkNumSamples(c.data);
      return { mint: c.mint, maxt: c.maxt, ref: this.chunkWriter.write(c.data) };
    });
    this.numChunks += refs.length;
    this.indexSeries.push({ labels: s.labels, chunks: refs });
  }

  /** Closes the chunk files, then sorts the series added, checks them for duplicates and encodes the index, in steps. */
  *indexSteps(): Generator<void, Uint8Array, undefined> {
    this.chunkWriter.close();
    const { ulid, indexSeries } = this;
    yield* sortSteps(indexSeries, (a, b) => compareLabels(a.labels, b.labels));
    for (let i = 1; i < indexSeries.length; i++) {
      if (compareLabels(indexSeries[i - 1]!.labels, indexSeries[i]!.labels) === 0) {
        throw new Error(`block ${ulid}: series ${labelsKey(indexSeries[i]!.labels)} given twice`);
      }
      if ((i & 4095) === 0) yield;
    }
    return yield* indexEncoder(indexSeries);
  }

  /** Writes the index, tombstones and meta.json, then renames the block into place. */
  finish(index: Uint8Array): BlockMeta {
    const { tmp, ulid, indexSeries, opts } = this;
    writeFileSynced(join(tmp, "index"), index, this.write);
    writeFileSynced(join(tmp, TOMBSTONES_FILENAME), encodeEmptyTombstones(), this.write);
    const meta: BlockMeta = {
      ulid,
      minTime: opts.minTime,
      maxTime: opts.maxTime,
      stats: { numSamples: this.numSamples, numSeries: indexSeries.length, numChunks: this.numChunks },
      compaction: { level: opts.level ?? 1, sources: opts.sources ?? [ulid], parents: opts.parents },
      version: 1,
    };
    writeFileSynced(join(tmp, META_FILENAME), Buffer.from(encodeMeta(meta)), this.write);
    renameSync(tmp, join(this.parentDir, ulid));
    this.renamed = true;
    fsyncFile(this.parentDir);
    return meta;
  }

  /**
   * Closes files and removes the temporary directory (or the block, when
   * the failure came after it was renamed into place), so the caller's data
   * stays where it was and nothing half-done is left under a block name.
   */
  abort(): void {
    try {
      this.chunkWriter?.close();
    } catch {
      // The directory goes away below; a failed flush of it does not matter.
    }
    rmSync(this.tmp, { recursive: true, force: true });
    if (this.renamed) {
      try {
        removeBlockDir(join(this.parentDir, this.ulid));
      } catch {
        // Left for the next open, which loads it (it is complete) or removes its .tmp-for-deletion.
      }
    }
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
  const builder = new BlockBuilder(parentDir, opts);
  try {
    for (const s of series) builder.add(s);
    return builder.finish(runStepsNow(builder.indexSteps()));
  } catch (err) {
    builder.abort();
    throw blockWriteError(builder.tmp, err);
  }
}

/**
 * {@link writeBlock} that yields to the event loop every few milliseconds of
 * work (see WorkSlicer) while it pulls and writes series and encodes the
 * index, so scrapes and queries keep being served while a large head or
 * several blocks are persisted. The input is pulled lazily: whatever
 * produces it must stay valid across the yields.
 *
 * @example
 * const meta = await writeBlockAsync("/data", head.seriesInRange(0, 7_200_000), { minTime: 0, maxTime: 7_200_000 });
 */
export async function writeBlockAsync(parentDir: string, series: Iterable<BlockSeries>, opts: WriteBlockOptions): Promise<BlockMeta> {
  const builder = new BlockBuilder(parentDir, opts);
  try {
    const slicer = new WorkSlicer();
    for (const s of series) {
      builder.add(s);
      if (slicer.due()) await slicer.yield();
    }
    await slicer.yield();
    return builder.finish(await runSteps(builder.indexSteps(), slicer));
  } catch (err) {
    builder.abort();
    throw blockWriteError(builder.tmp, err);
  }
}
