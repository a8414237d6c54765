/**
 * An opened block: meta.json, the index (read whole), the chunk segments
 * (memory-mapped) and tombstones. Index and chunks never change; deletions
 * add tombstones. It answers queries through the `Querier` contract and
 * lists its series for compaction.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { compareLabels, type Labels, type Matcher } from "../../model/index.ts";
import type { ChunkMeta, LabelQueryOptions, SampleBatch, StoredSeries, SyncQuerier } from "../types.ts";
import { ChunkSegmentReader } from "./chunks.ts";
import { IndexReader, type ChunkRef } from "./index_format.ts";
import { BlockFormatError } from "./encoding.ts";
import { decodeChunks, emptyBatch, encodeChunks } from "./merge.ts";
import { type BlockMeta, readMeta, writeMetaAtomically } from "./meta.ts";
import { addInterval, applyTombstones, coveredBy, readTombstones, TOMBSTONES_FILENAME, writeTombstones, type Intervals } from "./tombstones.ts";
import type { BlockSeries } from "./writer.ts";

function intersect(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(Math.min(a.length, b.length));
  let i = 0, j = 0, n = 0;
  while (i < a.length && j < b.length) {
    if (a[i]! < b[j]!) i++;
    else if (a[i]! > b[j]!) j++;
    else {
      out[n++] = a[i]!;
      i++;
      j++;
    }
  }
  return out.subarray(0, n);
}

function union(lists: Uint32Array[]): Uint32Array {
  if (lists.length === 0) return new Uint32Array(0);
  if (lists.length === 1) return lists[0]!;
  let total = 0;
  for (const l of lists) total += l.length;
  const all = new Uint32Array(total);
  let n = 0;
  for (const l of lists) {
    all.set(l, n);
    n += l.length;
  }
  all.sort();
  let w = 0;
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[i - 1]) all[w++] = all[i]!;
  return all.subarray(0, w);
}

function subtract(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length);
  let i = 0, j = 0, n = 0;
  while (i < a.length) {
    while (j < b.length && b[j]! < a[i]!) j++;
    if (j >= b.length || b[j] !== a[i]) out[n++] = a[i]!;
    i++;
  }
  return out.subarray(0, n);
}

/**
 * Series refs of the index matching all matchers, with Prometheus's
 * semantics: a matcher that accepts "" also accepts series without the label.
 */
export function postingsForMatchers(ix: IndexReader, matchers: readonly Matcher[]): Uint32Array {
  let result: Uint32Array | undefined;
  const negatives: Matcher[] = [];
  for (const m of matchers) {
    if (m.matches("")) {
      negatives.push(m);
      continue;
    }
    const p = m.type === "=" ? ix.postings(m.name, m.value) : union(ix.labelValues(m.name).filter((v) => m.matches(v)).map((v) => ix.postings(m.name, v)));
    result = result ? intersect(result, p) : p;
    if (result.length === 0) return result;
  }
  if (!result) result = ix.allPostings();
  for (const m of negatives) {
    const excluded = ix.labelValues(m.name).filter((v) => !m.matches(v));
    if (excluded.length > 0) result = subtract(result, union(excluded.map((v) => ix.postings(m.name, v))));
  }
  return result;
}

/** A series of a block as seen by a querier restricted to [mint, maxt]. */
class BlockStoredSeries implements StoredSeries {
  constructor(
    readonly labels: Labels,
    private readonly refs: readonly ChunkRef[],
    private readonly block: Block,
    private readonly mint: number,
    private readonly maxt: number,
    private readonly deleted: Intervals | undefined,
  ) {}

  hasDeletions(): boolean {
    return this.deleted !== undefined;
  }

  /** The chunks as stored or, when the series has deleted intervals, re-encoded without the deleted samples. */
  chunks(): ChunkMeta[] {
    if (this.deleted) return encodeChunks(this.samples());
    return this.storedChunks();
  }

  private storedChunks(): ChunkMeta[] {
    return this.refs.map((c) => ({ mint: c.mint, maxt: c.maxt, data: this.block.chunkReader.chunk(c.ref) }));
  }

  samples(): SampleBatch {
    if (this.refs.length === 0) return emptyBatch();
    const batch = decodeChunks(this.storedChunks(), this.mint, this.maxt);
    return this.deleted ? applyTombstones(batch, this.deleted) : batch;
  }
}

/**
 * A block directory opened for reading. Throws BlockFormatError (naming the
 * file) when meta.json, the index or a chunk segment is malformed.
 *
 * @example
 * const b = Block.open("/data/01HF...");
 * b.querier(b.meta.minTime, b.meta.maxTime - 1).select([newMatcher("=", "__name__", "up")], MIN_TIME, MAX_TIME);
 */
export class Block {
  readonly index: IndexReader;
  readonly chunkReader: ChunkSegmentReader;
  /** series ref → deleted [mint, maxt] intervals, from the tombstones file (each list replaced, never changed in place). */
  private readonly tombstones = new Map<number, Intervals>();

  private constructor(readonly dir: string, readonly meta: BlockMeta, index?: IndexReader) {
    this.index = index ?? IndexReader.open(join(dir, "index"));
    this.chunkReader = new ChunkSegmentReader(join(dir, "chunks"));
    for (const t of readTombstones(join(dir, TOMBSTONES_FILENAME))) {
      this.tombstones.set(t.seriesRef, addInterval(this.tombstones.get(t.seriesRef), t.mint, t.maxt));
    }
  }

  /** Opens the block in `dir`. */
  static open(dir: string): Block {
    return new Block(dir, readMeta(dir));
  }

  /** {@link Block.open} that reads and parses the index without blocking the event loop for long. */
  static async openAsync(dir: string): Promise<Block> {
    const meta = readMeta(dir);
    return new Block(dir, meta, await IndexReader.openAsync(join(dir, "index")));
  }

  get ulid(): string {
    return this.meta.ulid;
  }

  /** Bytes on disk: index, chunk segments, meta.json and tombstones. */
  size(): number {
    let n = this.index.size() + this.chunkReader.size();
    for (const f of ["meta.json", TOMBSTONES_FILENAME]) {
      try {
        n += statSync(join(this.dir, f)).size;
      } catch {
        // An absent tombstones file is allowed.
      }
    }
    return n;
  }

  /** Whether any series of the block has deleted intervals. */
  hasTombstones(): boolean {
    return this.tombstones.size > 0;
  }

  /** A querier over samples with mint <= t <= maxt. */
  querier(mint: number, maxt: number): SyncQuerier {
    return new BlockQuerier(this, mint, maxt);
  }

  /**
   * Every series with its chunks (tombstoned samples removed), sorted by
   * labels: the input of compaction. Series are read one at a time, so a
   * caller may pause between them; an index whose series are not in label
   * order (as every Prometheus index is) throws BlockFormatError.
   */
  *series(): Iterable<BlockSeries> {
    const q = new BlockQuerier(this, this.meta.minTime, this.meta.maxTime - 1);
    const refs = this.index.allPostings();
    let prev: Labels | undefined;
    for (let i = 0; i < refs.length; i++) {
      for (const s of q.seriesFor(refs.subarray(i, i + 1))) {
        if (prev && compareLabels(prev, s.labels) >= 0) {
          throw new BlockFormatError(`${join(this.dir, "index")}: series are not sorted by labels at series ref ${refs[i]}`);
        }
        prev = s.labels;
        yield { labels: s.labels, chunks: s.chunks() };
      }
    }
  }

  /** Deleted intervals of series `ref` (used by the block's querier). */
  deletedIntervals(ref: number): Intervals | undefined {
    return this.tombstones.get(ref);
  }

  /**
   * Marks [mint, maxt] of every series matching `matchers` deleted, as
   * Prometheus's Block.Delete: each series whose chunks overlap the range
   * gets the range clamped to its data as a tombstone; the tombstones file
   * and meta.json's numTombstones are rewritten. Queries no longer see the
   * samples at once; they leave the disk when the block is rewritten
   * (clean_tombstones or compaction). Returns how many series were marked.
   */
  delete(mint: number, maxt: number, matchers: readonly Matcher[]): number {
    const refs = postingsForMatchers(this.index, matchers);
    const next = new Map(this.tombstones);
    let marked = 0;
    for (let i = 0; i < refs.length; i++) {
      const chunks = this.index.series(refs[i]!).chunks;
      if (chunks.length === 0 || !chunks.some((c) => c.maxt >= mint && c.mint <= maxt)) continue;
      const lo = Math.max(mint, chunks[0]!.mint), hi = Math.min(maxt, chunks[chunks.length - 1]!.maxt);
      next.set(refs[i]!, addInterval(next.get(refs[i]!), lo, hi));
      marked++;
    }
    if (marked === 0) return 0;
    writeTombstones(join(this.dir, TOMBSTONES_FILENAME), next);
    let intervals = 0;
    for (const list of next.values()) intervals += list.length;
    this.meta.stats.numTombstones = intervals;
    writeMetaAtomically(this.dir, this.meta);
    for (const [ref, list] of next) this.tombstones.set(ref, list);
    return marked;
  }
}

class BlockQuerier implements SyncQuerier {
  constructor(private readonly block: Block, private readonly mint: number, private readonly maxt: number) {}

  private overlaps(mint: number, maxt: number): boolean {
    return mint < this.block.meta.maxTime && maxt >= this.block.meta.minTime;
  }

  /** The series at `refs` with chunks overlapping [mint, maxt], sorted by labels. */
  seriesFor(refs: Uint32Array, mint = this.mint, maxt = this.maxt): BlockStoredSeries[] {
    const out: BlockStoredSeries[] = [];
    const ix = this.block.index;
    for (let i = 0; i < refs.length; i++) {
      const s = ix.series(refs[i]!);
      const chunks = s.chunks.filter((c) => c.maxt >= mint && c.mint <= maxt);
      const deleted = this.block.deletedIntervals(refs[i]!);
      // A series whose chunks in range are all deleted is not selected (as Prometheus's block querier).
      if (chunks.length === 0 || (deleted && chunks.every((c) => coveredBy(c.mint, c.maxt, deleted)))) continue;
      out.push(new BlockStoredSeries(s.labels, chunks, this.block, mint, maxt, deleted));
    }
    let sorted = true;
    for (let i = 1; i < out.length && sorted; i++) if (compareLabels(out[i - 1]!.labels, out[i]!.labels) > 0) sorted = false;
    if (!sorted) out.sort((a, b) => compareLabels(a.labels, b.labels));
    return out;
  }

  select(matchers: readonly Matcher[], mint: number, maxt: number): StoredSeries[] {
    const lo = Math.max(mint, this.mint), hi = Math.min(maxt, this.maxt);
    if (lo > hi || !this.overlaps(lo, hi)) return [];
    return this.seriesFor(postingsForMatchers(this.block.index, matchers), lo, hi);
  }

  private matching(opts: LabelQueryOptions | undefined): StoredSeries[] | undefined {
    if (!opts?.matchers || opts.matchers.length === 0) return undefined;
    return this.select(opts.matchers, opts.mint ?? this.mint, opts.maxt ?? this.maxt);
  }

  /** Whether the label query's range (intersected with the querier's) overlaps the block. */
  private labelRangeOverlaps(opts: LabelQueryOptions | undefined): boolean {
    const lo = Math.max(opts?.mint ?? this.mint, this.mint), hi = Math.min(opts?.maxt ?? this.maxt, this.maxt);
    return lo <= hi && this.overlaps(lo, hi);
  }

  labelNames(opts?: LabelQueryOptions): string[] {
    if (!this.labelRangeOverlaps(opts)) return [];
    const series = this.matching(opts);
    if (!series) return this.block.index.labelNames();
    const names = new Set<string>();
    for (const s of series) for (const l of s.labels) names.add(l.name);
    return [...names].sort();
  }

  labelValues(name: string, opts?: LabelQueryOptions): string[] {
    if (!this.labelRangeOverlaps(opts)) return [];
    const series = this.matching(opts);
    if (!series) return this.block.index.labelValues(name);
    const values = new Set<string>();
    for (const s of series) for (const l of s.labels) if (l.name === name) values.add(l.value);
    return [...values].sort();
  }
}
