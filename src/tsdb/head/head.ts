/**
 * The head block: the in-memory, appendable part of the TSDB. It owns
 *
 * - the series. Each has an external ref (what appenders, the WAL and
 *   queriers see: 32-bit, issued in increasing order and not reissued until
 *   the counter wraps past 2^32 − 1, and then only refs no live series holds,
 *   so a stale cached ref misses rather than hits another series) and an
 *   internal slot indexing the per-series tables (label sets made of interned
 *   `Label` objects, min/max sample times, the WASM chunk store's table).
 *   Slots of removed series are reused, lowest first, and truncation compacts
 *   the tables when they hold many more slots than series, so memory and
 *   truncation time follow the live series, not how many ever existed.
 *   {@link SlotIndex} hash tables map refs and label-set hashes to slots;
 * - the inverted index ({@link MemPostings}) answering label matchers;
 * - the chunks: open chunks live in the WASM {@link HeadChunkStore} (indexed
 *   by slot), cut (completed) chunks in a packed {@link CutChunkList} per slot;
 * - the write-ahead log: new series and accepted samples are logged before
 *   `appendBatch` returns, and replayed by {@link Head.open}.
 *
 * @example
 * const head = await Head.open({ dir: "data" });
 * const app = head.appender();
 * const ref = app.ref(labelsFromRecord({ __name__: "up", job: "node" }));
 * app.appendBatch(Uint32Array.of(ref), Float64Array.of(1000), Float64Array.of(1), 1);
 * head.querier(0, 2000).select([newMatcher("=", "job", "node")], 0, 2000)[0]!.samples();
 * await head.close();
 */
import { join } from "node:path";
import { nopLogger, type Logger } from "../../log/index.ts";
import { METRIC_NAME, compareLabels, labelsHash, labelsKey, Registry, type Counter, type Gauge, type Label, type Labels, type Matcher } from "../../model/index.ts";
import { DUPLICATE_IGNORED, HeadChunkStore, MAX_SERIES_REF, decodeXor, encodeXor } from "../chunkenc/index.ts";
import {
  AppendStatus, MAX_TIME, MIN_TIME,
  type AppendResult, type Appender, type ChunkMeta, type LabelQueryOptions, type SyncQuerier, type SampleBatch, type StoredSeries,
} from "../types.ts";
import {
  RecordType, WAL, decodeSamples, decodeSeries, decodeTombstones, encodeSamples, encodeSeries, encodeTombstones, lastCheckpoint, listSegments,
  readSegmentBytes, registerWALMetrics, segmentRecords, writeCheckpoint, type SeriesRecord, type TombstoneRecord, type WriteFn,
} from "../wal/index.ts";
import { addInterval, applyTombstones, coveredBy, type Intervals } from "../block/tombstones.ts";
import { encodeChunks } from "../block/merge.ts";
import { WorkSlicer, runStepsNow, sortSteps } from "../event_loop.ts";
import { postingsForMatchers } from "./matching.ts";
import { MemPostings, type PostingsEntry } from "./postings.ts";
import { CutChunkList } from "./cut_chunks.ts";
import { SlotIndex } from "./slot_index.ts";
import { postingsStats, type TSDBStats } from "./stats.ts";

/** Default head chunk range: 2h in milliseconds, as Prometheus's. */
export const DEFAULT_CHUNK_RANGE = 2 * 60 * 60 * 1000;

/** Series per WAL series record: bounds the work of decoding one record (replay, checkpoints). */
const SERIES_PER_RECORD = 4096;

/** Prometheus's error texts for rejected samples, indexed by {@link AppendStatus}. */
export const APPEND_ERRORS: Readonly<Record<number, string>> = {
  [AppendStatus.OutOfOrder]: "out of order sample",
  [AppendStatus.DuplicateTimestamp]: "duplicate sample for timestamp",
  [AppendStatus.OutOfBounds]: "out of bounds",
  [AppendStatus.UnknownRef]: "unknown series ref",
};

/** How to open a {@link Head}. */
export interface HeadOptions {
  /** Data directory; the WAL lives in `dir/wal`. */
  dir: string;
  logger?: Logger;
  /** Where the head and WAL metrics are registered (a private registry when omitted). */
  registry?: Registry;
  /** Chunk range in ms (2h default); also the span after which open chunks are cut. */
  chunkRange?: number;
  /** WAL segment size in bytes (128 MiB default); tests use small ones. */
  walSegmentSize?: number;
  /** Replaces write(2) for the WAL, for fault-injection tests. */
  walWriteFn?: WriteFn;
  /**
   * Samples older than this are out of bounds, also during WAL replay (the
   * DB passes the newest block's maxTime: those samples are in a block
   * already, e.g. after a crash between writing the block and truncating).
   */
  minValidTime?: number;
  /**
   * The largest series ref issued before the counter wraps back to 1
   * (2^32 − 1, the default, is the most the appender's Uint32Array refs
   * carry). Tests lower it to exercise wrap-around cheaply.
   */
  maxRef?: number;
}

/** See {@link Head.footprint}. */
export interface HeadFootprint {
  /** Live series. */
  series: number;
  /** Slots handed out ([0, slotsInUse)); close to `series` after truncation. */
  slotsInUse: number;
  /** Slots the per-series tables have room for. */
  slotCapacity: number;
  /** Bytes of the ref and label-hash indexes. */
  indexBytes: number;
  /** Bytes of the per-slot typed arrays (refs, hashes, label offsets, times, generations). */
  tableBytes: number;
  /** Bytes of the label-id arena. */
  labelArenaBytes: number;
  /** Bytes of WASM memory the chunk store holds (series table pages, open and undrained chunks). */
  chunkStoreBytes: number;
  /** The ref the next new series gets (unless a live series holds it). */
  nextRef: number;
}

/** Largest series ref by default: refs travel in Uint32Arrays. */
export const DEFAULT_MAX_REF = 0xffff_ffff;

interface HeadMetrics {
  seriesCreated: Counter;
  seriesRemoved: Counter;
  samplesAppended: Counter;
  outOfOrder: Counter;
  checkpointCreations: Counter;
  replayDuration: Gauge;
}

function growF64(a: Float64Array, need: number, fill: number): Float64Array {
  if (need <= a.length) return a;
  const next = new Float64Array(Math.max(need, a.length * 2));
  next.set(a);
  next.fill(fill, a.length);
  return next;
}

/** A copy of `a` with `len` entries (the first min(len, a.length) kept, the rest `fill`). */
function resizeF64(a: Float64Array, len: number, fill: number): Float64Array {
  const next = new Float64Array(len);
  next.set(a.subarray(0, Math.min(len, a.length)));
  if (len > a.length) next.fill(fill, a.length);
  return next;
}

function resizeU32(a: Uint32Array, len: number): Uint32Array {
  const next = new Uint32Array(len);
  next.set(a.subarray(0, Math.min(len, a.length)));
  return next;
}

/** Series removed per step of a truncation (the event loop runs between steps). */
const REMOVE_BATCH = 2048;

/** Smallest table capacity for the per-slot arrays. */
const MIN_SLOTS = 1024;

/** First index in sorted `t[0, n)` with t >= x. */
function lowerBound(t: Float64Array, n: number, x: number): number {
  let lo = 0, hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Samples of a chunk list with lo <= t <= hi, concatenated (value bits preserved). */
function samplesInRange(chunks: readonly ChunkMeta[], lo: number, hi: number): SampleBatch {
  const parts: { t: Float64Array; v: Float64Array }[] = [];
  let total = 0;
  for (const c of chunks) {
    if (c.maxt < lo || c.mint > hi) continue;
    const d = decodeXor(c.data);
    const n = d.t.length;
    const a = lowerBound(d.t, n, lo), b = lowerBound(d.t, n, hi + 1);
    if (b > a) {
      parts.push({ t: d.t.subarray(a, b), v: d.v.subarray(a, b) });
      total += b - a;
    }
  }
  const t = new Float64Array(total), v = new Float64Array(total);
  let o = 0, lastT = -Infinity;
  for (const p of parts) {
    // Head chunks of one series never overlap; skip defensively if one does.
    const skip = lowerBound(p.t, p.t.length, lastT + 1);
    t.set(p.t.subarray(skip), o);
    v.set(p.v.subarray(skip), o);
    o += p.t.length - skip;
    if (p.t.length > skip) lastT = p.t[p.t.length - 1]!;
  }
  return { t, v, length: o };
}

/** Re-encodes the samples of `c` with lo <= t < hi; null when none are left. */
function reencode(c: ChunkMeta, lo: number, hi: number): ChunkMeta | null {
  const d = decodeXor(c.data);
  const a = lowerBound(d.t, d.t.length, lo), b = lowerBound(d.t, d.t.length, hi);
  if (b <= a) return null;
  const t = d.t.slice(a, b), v = d.v.slice(a, b);
  return { mint: t[0]!, maxt: t[t.length - 1]!, data: encodeXor(t, v) };
}

/** See the module comment. Create with {@link Head.open}. */
export class Head {
  private readonly logger: Logger;
  private readonly store: HeadChunkStore;
  private readonly postings = new MemPostings();
  private wal!: WAL;
  private readonly walDir: string;
  private readonly walWriteFn: WriteFn | undefined;
  private readonly metrics: HeadMetrics;

  // Per-slot tables (see the module comment); refOf[slot] === 0 marks a free slot.
  /** Offset in `arena` of each slot's label set: a count, then that many postings entry ids. */
  private labelsAt: Uint32Array = new Uint32Array(MIN_SLOTS);
  private arena = new Uint32Array(MIN_SLOTS * 4);
  private arenaUsed = 0;
  private arenaGarbage = 0;
  private cutChunks: (CutChunkList | undefined)[] = [];
  private refOf: Uint32Array = new Uint32Array(MIN_SLOTS);
  private hashOf: Uint32Array = new Uint32Array(MIN_SLOTS);
  private seriesMint: Float64Array = new Float64Array(MIN_SLOTS).fill(Infinity);
  private seriesMaxt: Float64Array = new Float64Array(MIN_SLOTS).fill(-Infinity);
  private seriesGen: Uint32Array = new Uint32Array(MIN_SLOTS);
  /** Slots [0, slotsUsed) have been handed out; the rest of the tables is spare capacity. */
  private slotsUsed = 0;
  /** No free slot lies below this. */
  private freeHint = 0;
  private readonly byRef = new SlotIndex(this.refOf);
  private readonly byHash = new SlotIndex(this.hashOf);
  private readonly maxRef: number;
  private nextRef = 1;
  private liveSeries = 0;
  private cutChunkCount = 0;
  private gen = 0;
  private minValidTimestamp = MIN_TIME;
  /** Appends older than this are refused while older data stays queryable; see refuseAppendsBefore(). */
  private appendFloor = MIN_TIME;
  private headMint = Infinity;
  private headMaxt = -Infinity;
  private pendingSeries: SeriesRecord[] = [];
  /** Deleted intervals by series ref (delete_series); each list is replaced, never changed in place. */
  private readonly stones = new Map<number, Intervals>();
  private closed = false;
  private truncation: Promise<void> = Promise.resolve(); // serializes truncate() calls

  // Scratch space reused by appends so the hot path allocates nothing per sample.
  private scRefs = new Uint32Array(1024);
  private scSlots = new Uint32Array(1024);
  private scT = new Float64Array(1024);
  private scV = new Float64Array(1024);
  private scIdx = new Uint32Array(1024);
  private scAccepted = new Uint32Array(1024);
  private scStatus = new Uint8Array(1024);

  private constructor(opts: HeadOptions, registry: Registry) {
    this.logger = opts.logger ?? nopLogger;
    const chunkRange = opts.chunkRange ?? DEFAULT_CHUNK_RANGE;
    if (!(chunkRange > 0)) throw new Error(`head chunk range must be positive, got ${opts.chunkRange}`);
    this.store = new HeadChunkStore({ chunkRange });
    const maxRef = opts.maxRef ?? DEFAULT_MAX_REF;
    if (!Number.isInteger(maxRef) || maxRef < 1 || maxRef > DEFAULT_MAX_REF) throw new Error(`head maxRef must be an integer in [1, ${DEFAULT_MAX_REF}], got ${opts.maxRef}`);
    this.maxRef = maxRef;
    this.walDir = join(opts.dir, "wal");
    this.walWriteFn = opts.walWriteFn;
    this.metrics = {
      seriesCreated: registry.counter("prometheus_tsdb_head_series_created_total", "Total number of series created in the head"),
      seriesRemoved: registry.counter("prometheus_tsdb_head_series_removed_total", "Total number of series removed in the head"),
      samplesAppended: registry.counter("prometheus_tsdb_head_samples_appended_total", "Total number of appended samples."),
      outOfOrder: registry.counter("prometheus_tsdb_out_of_order_samples_total", "Total number of out of order samples ingestion failed attempts due to out of order being disabled."),
      checkpointCreations: registry.counter("prometheus_tsdb_checkpoint_creations_total", "Total number of checkpoint creations attempted."),
      replayDuration: registry.gauge("prometheus_tsdb_data_replay_duration_seconds", "Time taken to replay the data on disk."),
    };
    registry.gaugeFunc("prometheus_tsdb_head_series", "Total number of series in the head block.", () => this.liveSeries);
    registry.gaugeFunc("prometheus_tsdb_head_chunks", "Total number of chunks in the head block.", () => this.numChunks());
    registry.gaugeFunc("prometheus_tsdb_head_min_time", "Minimum time bound of the head block.", () => this.minTime());
    registry.gaugeFunc("prometheus_tsdb_head_max_time", "Maximum timestamp of the head block.", () => this.maxTime());
  }

  /** Opens the head in `opts.dir`, replaying the WAL (checkpoint first) into memory. */
  static async open(opts: HeadOptions): Promise<Head> {
    const registry = opts.registry ?? new Registry();
    const head = new Head(opts, registry);
    if (opts.minValidTime !== undefined) head.setMinValidTime(opts.minValidTime);
    const walMetrics = registerWALMetrics(registry);
    const start = performance.now();
    let series = 0, samples = 0, unknownRefs = 0, outOfBounds = 0, lastRef = 0;
    const refMap = new Map<number, number>();
    head.logger.info("Replaying WAL, this may take a while", { dir: head.walDir });
    head.wal = await WAL.open({
      dir: head.walDir,
      logger: head.logger,
      metrics: walMetrics,
      segmentSize: opts.walSegmentSize,
      writeFn: opts.walWriteFn,
      onRecord: (rec) => {
        try {
          if (rec[0] === RecordType.Series) {
            for (const s of decodeSeries(rec, (n, v) => head.postings.intern(n, v))) {
              if (!(s.ref >= 1 && s.ref <= 0xffffffff) || s.labels.length === 0) throw new Error(`invalid series ref ${s.ref} or empty labels`);
              series++;
              const existing = head.lookup(s.labels);
              if (existing >= 0) {
                const ref = head.refOf[existing]!;
                if (ref !== s.ref) refMap.set(s.ref, ref);
                continue;
              }
              // A ref already held by other labels was reissued after the counter wrapped (the
              // checkpoint drops removed series, so this only happens with a hand-made WAL): the newer series wins.
              const clash = head.slotOf(s.ref);
              if (clash >= 0) head.removeSlots([clash]);
              refMap.delete(s.ref);
              head.createSeries(s.ref, s.labels);
              lastRef = s.ref;
            }
          } else if (rec[0] === RecordType.Samples) {
            const s = decodeSamples(rec);
            if (refMap.size > 0) for (let i = 0; i < s.length; i++) s.refs[i] = refMap.get(s.refs[i]!) ?? s.refs[i]!;
            const res = head.appendInternal(s.refs, s.t, s.v, s.length, undefined, false);
            samples += res.appended;
            unknownRefs += res.unknownRef;
            outOfBounds += res.outOfBounds;
          } else if (rec[0] === RecordType.Tombstones) {
            for (const st of decodeTombstones(rec)) {
              const ref = refMap.get(st.ref) ?? st.ref;
              if (head.slotOf(ref) >= 0) head.stones.set(ref, addInterval(head.stones.get(ref), st.mint, st.maxt));
            }
          } else {
            head.logger.warn("Unknown WAL record type, skipping", { type: rec[0] });
          }
        } catch (e) {
          walMetrics.corruptions.inc();
          head.logger.warn("Skipping undecodable WAL record", { err: (e as Error).message, type: rec[0], bytes: rec.length });
        }
      },
    });
    // Continue after the newest series' ref (WAL order is creation order, also across a wrap).
    if (lastRef > 0) head.nextRef = lastRef >= head.maxRef ? 1 : lastRef + 1;
    const elapsed = (performance.now() - start) / 1000;
    head.metrics.replayDuration.set(elapsed);
    if (unknownRefs > 0) head.logger.warn("Unknown series references in WAL samples", { samples: unknownRefs });
    if (outOfBounds > 0) head.logger.info("Skipped WAL samples already persisted in blocks", { samples: outOfBounds, minValidTime: head.minValidTimestamp });
    head.logger.info("WAL replay completed", { series, samples, duration: `${elapsed.toFixed(3)}s` });
    return head;
  }

  // ---- series ------------------------------------------------------------

  /** The slot of the live series with exactly these labels, or -1. */
  private lookup(labels: Labels, hash: number = labelsHash(labels)): number {
    const ix = this.byHash;
    for (let it = ix.first(hash); it >= 0; it = ix.next(hash, it)) {
      const slot = ix.slotAt(it);
      if (this.hasLabels(slot, labels)) return slot;
    }
    return -1;
  }

  /** Whether the series in `slot` has exactly `labels`. */
  private hasLabels(slot: number, labels: Labels): boolean {
    const arena = this.arena, off = this.labelsAt[slot]!, n = arena[off]!;
    if (n !== labels.length) return false;
    for (let i = 0; i < n; i++) {
      const have = this.postings.label(arena[off + 1 + i]!), want = labels[i]!;
      if (have !== want && (have.name !== want.name || have.value !== want.value)) return false;
    }
    return true;
  }

  /** The label set of the series in `slot`, built from its entry ids (a new array each call). */
  private labelsOf(slot: number): Labels {
    const arena = this.arena, off = this.labelsAt[slot]!, n = arena[off]!;
    const out: Label[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.postings.label(arena[off + 1 + i]!);
    return out;
  }

  /** Stores the entry ids of a new series' labels at the arena's end. */
  private storeLabels(slot: number, entries: readonly PostingsEntry[]): void {
    const need = entries.length + 1;
    if (this.arenaUsed + need > this.arena.length) {
      const next = new Uint32Array(Math.max(this.arena.length * 2, this.arenaUsed + need));
      next.set(this.arena.subarray(0, this.arenaUsed));
      this.arena = next;
    }
    const off = this.arenaUsed;
    this.arena[off] = entries.length;
    for (let i = 0; i < entries.length; i++) this.arena[off + 1 + i] = entries[i]!.id;
    this.labelsAt[slot] = off;
    this.arenaUsed += need;
  }

  /** Rewrites the arena without the label sets of removed series once they are most of it. */
  private compactArena(): void {
    if (this.arenaGarbage * 2 <= this.arenaUsed) return;
    let live = this.arenaUsed - this.arenaGarbage, cap = MIN_SLOTS * 4;
    while (cap < live * 1.5) cap *= 2;
    const old = this.arena, next = new Uint32Array(Math.max(cap, live));
    let o = 0;
    for (let s = 0; s < this.slotsUsed; s++) {
      if (this.refOf[s] === 0) continue;
      const off = this.labelsAt[s]!, n = old[off]! + 1;
      next.set(old.subarray(off, off + n), o);
      this.labelsAt[s] = o;
      o += n;
    }
    live = o;
    this.arena = next;
    this.arenaUsed = live;
    this.arenaGarbage = 0;
  }

  /** The slot of series `ref`, or -1 when no live series has that ref. */
  private slotOf(ref: number): number {
    return this.byRef.get(ref);
  }

  /** Resizes every per-slot table to `cap` slots (>= slotsUsed). */
  private resizeTables(cap: number): void {
    this.refOf = resizeU32(this.refOf, cap);
    this.hashOf = resizeU32(this.hashOf, cap);
    this.byRef.setKeys(this.refOf);
    this.byHash.setKeys(this.hashOf);
    this.seriesGen = resizeU32(this.seriesGen, cap);
    this.seriesMint = resizeF64(this.seriesMint, cap, Infinity);
    this.seriesMaxt = resizeF64(this.seriesMaxt, cap, -Infinity);
    this.labelsAt = resizeU32(this.labelsAt, cap);
    if (this.cutChunks.length > cap) this.cutChunks.length = cap;
  }

  /** The lowest free slot, growing the tables when every slot is taken. */
  private allocSlot(): number {
    let s = this.freeHint;
    while (s < this.slotsUsed && this.refOf[s] !== 0) s++;
    if (s === this.slotsUsed) {
      if (s > MAX_SERIES_REF) throw new Error(`head holds the most series it can (${MAX_SERIES_REF + 1})`);
      this.slotsUsed++;
      if (this.slotsUsed > this.refOf.length) this.resizeTables(this.refOf.length * 2);
    }
    this.freeHint = s + 1;
    return s;
  }

  /** The next ref no live series holds, wrapping from maxRef back to 1. */
  private issueRef(): number {
    for (let tries = 0; tries <= this.liveSeries; tries++) {
      const ref = this.nextRef;
      this.nextRef = ref >= this.maxRef ? 1 : ref + 1;
      if (this.slotOf(ref) < 0) return ref;
    }
    throw new Error(`head ran out of series refs: all ${this.maxRef} are held by live series`);
  }

  private createSeries(ref: number, labels: Labels): number {
    const entries = labels.map((l) => this.postings.entry(l.name, l.value));
    const slot = this.allocSlot();
    const hash = labelsHash(labels) >>> 0;
    this.refOf[slot] = ref;
    this.hashOf[slot] = hash;
    this.storeLabels(slot, entries);
    this.cutChunks[slot] = undefined;
    this.seriesMint[slot] = Infinity;
    this.seriesMaxt[slot] = -Infinity;
    this.seriesGen[slot] = this.gen;
    this.byRef.add(ref, slot);
    this.byHash.add(hash, slot);
    this.postings.addEntries(ref, entries);
    this.store.ensure(slot);
    this.liveSeries++;
    this.metrics.seriesCreated.inc();
    return slot;
  }

  /** Removes the series in `slots` (all live, none repeated) and frees their slots. */
  private removeSlots(slots: readonly number[]): void {
    if (slots.length === 0) return;
    this.collectCutChunks();
    const removed = new Set<number>();
    const byEntry = new Map<number, number[]>(); // postings entry id → refs leaving it
    for (const slot of slots) {
      const ref = this.refOf[slot]!;
      removed.add(ref);
      this.stones.delete(ref);
      const off = this.labelsAt[slot]!, n = this.arena[off]!;
      for (let i = 1; i <= n; i++) {
        const id = this.arena[off + i]!;
        const refs = byEntry.get(id);
        if (refs) refs.push(ref);
        else byEntry.set(id, [ref]);
      }
      this.arenaGarbage += n + 1;
      this.byRef.remove(ref, slot);
      this.byHash.remove(this.hashOf[slot]!, slot);
      const cs = this.cutChunks[slot];
      if (cs) this.cutChunkCount -= cs.length;
      this.cutChunks[slot] = undefined;
      this.refOf[slot] = 0;
      this.seriesMint[slot] = Infinity;
      this.seriesMaxt[slot] = -Infinity;
      this.store.release(slot);
      if (slot < this.freeHint) this.freeHint = slot;
    }
    this.postings.deleteRefs(byEntry);
    // A series created but never logged (no append since) must not be logged after it is gone.
    if (this.pendingSeries.length > 0) this.pendingSeries = this.pendingSeries.filter((p) => !removed.has(p.ref) || this.slotOf(p.ref) >= 0);
    this.liveSeries -= removed.size;
    this.metrics.seriesRemoved.inc(removed.size);
  }

  /** Moves the live series in slot `from` to the free slot `to` (both tables and the chunk store). */
  private moveSlot(from: number, to: number): void {
    const ref = this.refOf[from]!, hash = this.hashOf[from]!;
    this.store.move(from, to);
    this.refOf[to] = ref;
    this.hashOf[to] = hash;
    this.labelsAt[to] = this.labelsAt[from]!;
    this.cutChunks[to] = this.cutChunks[from];
    this.seriesMint[to] = this.seriesMint[from]!;
    this.seriesMaxt[to] = this.seriesMaxt[from]!;
    this.seriesGen[to] = this.seriesGen[from]!;
    this.byRef.retarget(ref, from, to);
    this.byHash.retarget(hash, from, to);
    this.refOf[from] = 0;
    this.cutChunks[from] = undefined;
    this.seriesMint[from] = Infinity;
    this.seriesMaxt[from] = -Infinity;
  }

  /**
   * When the tables hold many more slots than live series (after many series
   * went away at once), moves the series in the highest slots into the
   * lowest free ones and shrinks the tables and the chunk store's pages.
   * Appends may run while this yields: they take the lowest free slots, as
   * the moves do, and every step re-checks the slots it uses.
   */
  private async compact(slicer: WorkSlicer): Promise<void> {
    if (this.slotsUsed > Math.max(MIN_SLOTS, 2 * this.liveSeries)) {
      this.collectCutChunks();
      let hole = 0;
      for (let top = this.slotsUsed - 1; top > hole; top--) {
        if ((top & 63) === 0 && slicer.due()) {
          await slicer.yield();
          this.collectCutChunks();
          if (top >= this.slotsUsed) top = this.slotsUsed - 1;
        }
        if (this.refOf[top] === 0) continue;
        while (hole < top && this.refOf[hole] !== 0) hole++;
        if (hole >= top) break;
        this.moveSlot(top, hole);
      }
    }
    while (this.slotsUsed > 0 && this.refOf[this.slotsUsed - 1] === 0) this.slotsUsed--;
    if (this.freeHint > this.slotsUsed) this.freeHint = this.slotsUsed;
    let cap = MIN_SLOTS;
    while (cap < this.slotsUsed * 2) cap *= 2;
    if (this.refOf.length > cap) {
      this.resizeTables(cap);
      this.store.shrink(this.slotsUsed);
    }
  }

  /** The ref for `labels`, creating the series (and queuing its WAL record) if new. */
  private getOrCreate(labels: Labels): number {
    const found = this.lookup(labels);
    if (found >= 0) return this.refOf[found]!;
    if (labels.length === 0) throw new Error("cannot create a series with an empty label set");
    const interned: Label[] = [];
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i]!;
      if (l.name === "") throw new Error(`label set ${labelsKey(labels)} has an empty label name`);
      if (l.value === "") throw new Error(`label set ${labelsKey(labels)} has an empty value for label ${l.name}`);
      if (i > 0 && l.name <= labels[i - 1]!.name) throw new Error(`label set ${labelsKey(labels)} is not sorted by name or repeats label ${l.name}`);
      interned.push(this.postings.intern(l.name, l.value));
    }
    const ref = this.issueRef();
    this.createSeries(ref, interned);
    this.pendingSeries.push({ ref, labels: interned });
    // A burst of new series (a large target's first scrape) is logged in
    // record-sized steps rather than held until the next append.
    if (this.pendingSeries.length >= SERIES_PER_RECORD && !this.closed) {
      this.wal.log(this.seriesRecords());
      this.pendingSeries = [];
    }
    return ref;
  }

  // ---- appends -----------------------------------------------------------

  private growScratch(n: number): void {
    if (n <= this.scRefs.length) return;
    const cap = Math.max(n, this.scRefs.length * 2);
    this.scRefs = new Uint32Array(cap);
    this.scSlots = new Uint32Array(cap);
    this.scT = new Float64Array(cap);
    this.scV = new Float64Array(cap);
    this.scIdx = new Uint32Array(cap);
    this.scAccepted = new Uint32Array(cap);
    this.scStatus = new Uint8Array(cap);
  }

  /**
   * Validates, resolves refs to slots, appends to the chunk store (one WASM
   * call), records times, collects cut chunks and — when `log` — writes
   * pending series and the accepted samples to the WAL.
   */
  private appendInternal(refs: Uint32Array, t: Float64Array, v: Float64Array, n: number, status: Uint8Array | undefined, log: boolean): AppendResult {
    if (this.closed) throw new Error("head is closed");
    if (!(n >= 0) || n > refs.length || n > t.length || n > v.length || (status && n > status.length)) {
      throw new Error(`appendBatch: sample count ${n} exceeds the given arrays (refs ${refs.length}, t ${t.length}, v ${v.length})`);
    }
    // After a failed WAL write (disk full), nothing is applied in memory until
    // the log holds everything applied before: this throws WALWriteError until then.
    if (log && this.wal.hasPending()) this.wal.flushPending();
    const res: AppendResult = { appended: 0, outOfOrder: 0, duplicate: 0, outOfBounds: 0, unknownRef: 0 };
    const lowest = log ? Math.max(this.minValidTimestamp, this.appendFloor) : this.minValidTimestamp;
    this.growScratch(n);
    const slots = this.scSlots, byRef = this.byRef;
    let valid = 0;
    for (let i = 0; i < n; i++) {
      const slot = byRef.get(refs[i]!);
      slots[i] = slot;
      if (slot < 0) {
        if (status) status[i] = AppendStatus.UnknownRef;
        res.unknownRef++;
      } else if (t[i]! < lowest || t[i] !== Math.trunc(t[i]!)) {
        slots[i] = 0xffff_ffff;
        if (status) status[i] = AppendStatus.OutOfBounds;
        res.outOfBounds++;
      } else {
        valid++;
      }
    }
    let R = refs, T = t, V = v, map: Uint32Array | null = null;
    if (valid < n) {
      // Compact the valid samples (slots in place); values move as raw 32-bit halves so NaN payloads survive.
      const src = new Uint32Array(v.buffer, v.byteOffset, n * 2), dst = new Uint32Array(this.scV.buffer);
      let k = 0;
      for (let i = 0; i < n; i++) {
        const slot = slots[i]!;
        if (slot === 0xffff_ffff) continue;
        slots[k] = slot;
        this.scRefs[k] = refs[i]!;
        this.scT[k] = t[i]!;
        dst[2 * k] = src[2 * i]!;
        dst[2 * k + 1] = src[2 * i + 1]!;
        this.scIdx[k] = i;
        k++;
      }
      R = this.scRefs; T = this.scT; V = this.scV; map = this.scIdx;
    }
    const sst = this.scStatus;
    let accepted = 0;
    if (valid > 0) {
      this.store.appendBatch(slots, T, V, valid, sst);
      const mint = this.seriesMint, maxt = this.seriesMaxt;
      for (let k = 0; k < valid; k++) {
        const s = sst[k]!;
        const orig = map ? map[k]! : k;
        if (s === 0) {
          this.scAccepted[accepted++] = k;
          const r = slots[k]!, ts = T[k]!;
          if (ts < mint[r]!) mint[r] = ts;
          if (ts > maxt[r]!) maxt[r] = ts;
          if (ts < this.headMint) this.headMint = ts;
          if (ts > this.headMaxt) this.headMaxt = ts;
          if (status) status[orig] = AppendStatus.Ok;
        } else if (s === DUPLICATE_IGNORED) {
          // Prometheus ignores an exact duplicate: accepted, but not stored, logged or counted.
          if (status) status[orig] = AppendStatus.Ok;
        } else if (s === 1) {
          res.outOfOrder++;
          if (status) status[orig] = AppendStatus.OutOfOrder;
        } else {
          res.duplicate++;
          if (status) status[orig] = AppendStatus.DuplicateTimestamp;
        }
      }
      this.collectCutChunks();
    }
    res.appended = accepted;
    if (log && (accepted > 0 || this.pendingSeries.length > 0)) {
      const recs: Uint8Array[] = [];
      if (this.pendingSeries.length > 0) recs.push(...this.seriesRecords());
      if (accepted > 0) recs.push(encodeSamples(R, T, V, accepted, this.scAccepted));
      // A failed write keeps the records in the WAL's queue (written first once writing works), so they are handed over either way.
      this.pendingSeries = [];
      this.wal.log(recs);
    }
    this.metrics.samplesAppended.inc(accepted);
    if (res.outOfOrder > 0) this.metrics.outOfOrder.inc(res.outOfOrder);
    return res;
  }

  /** The pending series as WAL records of at most SERIES_PER_RECORD series, so a checkpoint handles them in short steps. */
  private seriesRecords(): Uint8Array[] {
    const recs: Uint8Array[] = [];
    for (let i = 0; i < this.pendingSeries.length; i += SERIES_PER_RECORD) recs.push(encodeSeries(this.pendingSeries.slice(i, i + SERIES_PER_RECORD)));
    return recs;
  }

  /** Files chunks the store has cut under their series (the queue holds slots). */
  private collectCutChunks(): void {
    for (const c of this.store.drainCut()) {
      if (this.refOf[c.ref] === 0) continue;
      let list = this.cutChunks[c.ref];
      if (!list) this.cutChunks[c.ref] = list = new CutChunkList();
      list.push(c);
      this.cutChunkCount++;
    }
  }

  /** An appender writing into this head. Appenders are cheap; share or create freely. */
  appender(): Appender {
    return {
      ref: (labels) => this.getOrCreate(labels),
      appendBatch: (refs, t, v, n, status) => this.appendInternal(refs, t, v, n, status, true),
    };
  }

  // ---- reads -------------------------------------------------------------

  /** Min timestamp of samples in the head; MAX_TIME when empty. */
  minTime(): number {
    return this.headMint === Infinity ? MAX_TIME : Math.max(this.headMint, this.minValidTimestamp);
  }

  /** Max timestamp of samples in the head; MIN_TIME when empty. */
  maxTime(): number {
    return this.headMaxt === -Infinity ? MIN_TIME : this.headMaxt;
  }

  /** The time before which samples were truncated away (MIN_TIME before any truncation); older appends are out of bounds. */
  minValidTime(): number {
    return this.minValidTimestamp;
  }

  /**
   * Raises the time before which appends are "out of bounds" without
   * truncating (the DB calls this on open with the newest block's max time,
   * since that bound is not stored in the WAL).
   */
  setMinValidTime(mint: number): void {
    if (mint > this.minValidTimestamp) this.minValidTimestamp = mint;
  }

  /**
   * Refuses appends older than `t` ("out of bounds") while older data stays
   * queryable. The DB calls this before it writes [.., t) into a block, so no
   * sample can land in the range being persisted (while compaction yields to
   * the event loop) and then be dropped by the truncation that follows.
   * Only ever raises the bound.
   */
  refuseAppendsBefore(t: number): void {
    if (t > this.appendFloor) this.appendFloor = t;
  }

  numSeries(): number {
    return this.liveSeries;
  }

  /**
   * What the head's series bookkeeping holds, for tests and benchmarks: it
   * follows the live series, not how many were ever created.
   */
  footprint(): HeadFootprint {
    return {
      series: this.liveSeries,
      slotsInUse: this.slotsUsed,
      slotCapacity: this.refOf.length,
      indexBytes: this.byRef.byteLength + this.byHash.byteLength,
      tableBytes: this.refOf.length * 32,
      labelArenaBytes: this.arena.byteLength,
      chunkStoreBytes: this.store.memoryBytes(),
      nextRef: this.nextRef,
    };
  }

  /** Chunks in the head: cut ones plus one open chunk per series (the prometheus_tsdb_head_chunks gauge). */
  numChunks(): number {
    return this.cutChunkCount + this.liveSeries;
  }

  /**
   * Cardinality statistics for /api/v1/status/tsdb: head totals plus top-`limit`
   * lists, largest first.
   *
   * @example
   * head.stats(5).seriesCountByMetricName; // [{ name: "http_requests_total", value: 120 }, …]
   */
  stats(limit = 10): TSDBStats {
    const lists = postingsStats(this.postings, METRIC_NAME, limit);
    return {
      headStats: { numSeries: this.liveSeries, numLabelPairs: lists.numLabelPairs, chunkCount: this.numChunks(), minTime: this.minTime(), maxTime: this.maxTime() },
      seriesCountByMetricName: lists.seriesCountByMetricName,
      labelValueCountByLabelName: lists.labelValueCountByLabelName,
      memoryInBytesByLabelName: lists.memoryInBytesByLabelName,
      seriesCountByLabelValuePair: lists.seriesCountByLabelValuePair,
    };
  }

  /** Live refs in increasing order. */
  private allRefs(): number[] {
    const refs = new Uint32Array(this.liveSeries);
    let k = 0;
    for (let s = 0; s < this.slotsUsed && k < refs.length; s++) if (this.refOf[s] !== 0) refs[k++] = this.refOf[s]!;
    refs.subarray(0, k).sort();
    return Array.from(refs.subarray(0, k));
  }

  /** Labels of a live series (undefined for unknown refs). */
  seriesLabels(ref: number): Labels | undefined {
    const slot = this.slotOf(ref);
    return slot < 0 ? undefined : this.labelsOf(slot);
  }

  /** Cut chunks and the open chunk of `ref` overlapping [mint, maxt], in time order (none once the series is gone). */
  seriesChunks(ref: number, mint: number, maxt: number): ChunkMeta[] {
    const slot = this.slotOf(ref);
    if (slot < 0) return [];
    const out: ChunkMeta[] = [];
    const cut = this.cutChunks[slot];
    if (cut) for (let i = 0; i < cut.length; i++) if (cut.maxt(i) >= mint && cut.mint(i) <= maxt) out.push(cut.chunk(i));
    const open = this.store.openChunk(slot);
    if (open && open.maxt >= mint && open.mint <= maxt) out.push(open);
    return out;
  }

  /** Sorted refs of series matching `matchers` whose samples overlap [mint, maxt]. */
  selectRefs(matchers: readonly Matcher[], mint: number, maxt: number): number[] {
    const refs = postingsForMatchers(this.postings, () => this.allRefs(), matchers);
    return refs.filter((r) => {
      const slot = this.slotOf(r);
      return slot >= 0 && this.seriesMaxt[slot]! >= mint && this.seriesMint[slot]! <= maxt;
    });
  }

  /** Deleted intervals of series `ref` (undefined when none). */
  deletedIntervals(ref: number): Intervals | undefined {
    return this.stones.get(ref);
  }

  /**
   * Whether every chunk of `ref` in [mint, maxt] lies inside a deleted
   * interval. As in Prometheus's head, the open chunk counts as ending at
   * +Inf, so a series still being appended to is never fully deleted (its
   * samples are hidden, the series still listed).
   */
  fullyDeleted(ref: number, mint: number, maxt: number, deleted: Intervals): boolean {
    const slot = this.slotOf(ref);
    if (slot < 0) return true;
    const open = this.store.openChunk(slot);
    if (open && open.mint <= maxt) return false;
    const cut = this.cutChunks[slot];
    if (cut) for (let i = 0; i < cut.length; i++) if (cut.maxt(i) >= mint && cut.mint(i) <= maxt && !coveredBy(cut.mint(i), cut.maxt(i), deleted)) return false;
    return true;
  }

  /**
   * Marks [mint, maxt] of every series matching `matchers` deleted, as
   * Prometheus's Head.Delete: the range is clamped to each series' data (so
   * samples appended later stay visible), logged to the WAL as a tombstones
   * record (replay applies it again), and hidden from queries at once. The
   * samples leave memory when the head is compacted into a block. Returns
   * how many series were marked.
   */
  delete(mint: number, maxt: number, matchers: readonly Matcher[]): number {
    if (this.closed) throw new Error("head is closed");
    const stones: TombstoneRecord[] = [];
    for (const ref of postingsForMatchers(this.postings, () => this.allRefs(), matchers)) {
      const slot = this.slotOf(ref);
      if (slot < 0) continue;
      const t0 = this.seriesMint[slot]!, t1 = this.seriesMaxt[slot]!;
      if (t1 === -Infinity || t0 === Infinity) continue;
      const lo = Math.max(mint, t0), hi = Math.min(maxt, t1);
      if (lo > hi) continue;
      stones.push({ ref, mint: lo, maxt: hi });
    }
    if (stones.length === 0) return 0;
    if (this.pendingSeries.length > 0) {
      this.wal.log(this.seriesRecords());
      this.pendingSeries = [];
    }
    this.wal.log([encodeTombstones(stones)]);
    for (const st of stones) this.stones.set(st.ref, addInterval(this.stones.get(st.ref), st.mint, st.maxt));
    return stones.length;
  }

  /** A querier over head data restricted to [mint, maxt]. */
  querier(mint: number, maxt: number): SyncQuerier {
    return new HeadQuerier(this, this.postings, mint, maxt);
  }

  /**
   * Series with samples in [mint, maxt), sorted by labels, each with its
   * chunks in that range. An open chunk ending before maxt is cut first (it is
   * complete for the block); chunks straddling a bound are re-encoded.
   */
  *seriesInRange(mint: number, maxt: number): Iterable<{ labels: Labels; chunks: ChunkMeta[] }> {
    yield* runStepsNow(this.seriesInRangeSteps(mint, maxt));
  }

  /**
   * {@link seriesInRange} for callers that yield to the event loop (drive it
   * with runSteps): sorting the series by labels pauses between steps, then
   * it returns the series, read lazily one at a time.
   */
  *seriesInRangeSteps(mint: number, maxt: number): Generator<void, Iterable<{ labels: Labels; chunks: ChunkMeta[] }>, undefined> {
    const items: { ref: number; labels: Labels }[] = [];
    for (let s = 0; s < this.slotsUsed; s++) {
      if (this.refOf[s] !== 0 && this.seriesMaxt[s]! >= mint && this.seriesMint[s]! < maxt) items.push({ ref: this.refOf[s]!, labels: this.labelsOf(s) });
    }
    yield* sortSteps(items, (a, b) => compareLabels(a.labels, b.labels));
    return this.blockSeries(items, mint, maxt);
  }

  /** The series `items` (sorted by labels) with their chunks in [mint, maxt), cutting and re-encoding as seriesInRange describes. */
  private *blockSeries(items: readonly { ref: number; labels: Labels }[], mint: number, maxt: number): Iterable<{ labels: Labels; chunks: ChunkMeta[] }> {
    for (const { ref, labels } of items) {
      // Resolved now: the series may have gone (or moved slot) while the caller yielded.
      const slot = this.slotOf(ref);
      if (slot < 0) continue;
      const open = this.store.openChunk(slot);
      if (open && open.maxt < maxt) {
        this.store.cutOpen(slot);
        this.collectCutChunks();
      }
      const chunks: ChunkMeta[] = [];
      const candidates = [...(this.cutChunks[slot] ?? [])];
      const stillOpen = this.store.openChunk(slot);
      if (stillOpen) candidates.push(stillOpen);
      for (const c of candidates) {
        if (c.maxt < mint || c.mint >= maxt) continue;
        if (c.mint >= mint && c.maxt < maxt) chunks.push(c);
        else {
          const part = reencode(c, mint, maxt);
          if (part) chunks.push(part);
        }
      }
      const deleted = this.stones.get(ref);
      if (deleted && chunks.length > 0) {
        const kept = applyTombstones(samplesInRange(chunks, mint, maxt - 1), deleted);
        if (kept.length > 0) yield { labels, chunks: encodeChunks(kept) };
        continue;
      }
      if (chunks.length > 0) yield { labels, chunks };
    }
  }

  /**
   * Drops samples older than `mint`, removes series left without samples,
   * checkpoints the WAL (live series, samples >= mint) and deletes the
   * segments the checkpoint covers. Later appends older than `mint` fail with
   * "out of bounds". Takes time in the number of live series (the slots in
   * use), and compacts the tables when far more slots than series are held.
   */
  async truncate(mint: number): Promise<void> {
    const run = this.truncation.then(() => this.truncateNow(mint));
    this.truncation = run.catch(() => {});
    return run;
  }

  private async truncateNow(mint: number): Promise<void> {
    if (this.closed) throw new Error("head is closed");
    if (mint <= this.minValidTimestamp) return;
    this.minValidTimestamp = mint;
    const removed: number[] = [];
    const slicer = new WorkSlicer();
    // Appends may run while this yields; they are all >= mint (out of bounds otherwise).
    // No slot is freed before the loop ends, so a slot keeps its series throughout.
    for (let s = 0; s < this.slotsUsed; s++) {
      if ((s & 15) === 0 && slicer.due()) await slicer.yield();
      if (this.refOf[s] === 0) continue;
      const maxt = this.seriesMaxt[s]!;
      if (maxt < mint && (maxt !== -Infinity || this.seriesGen[s]! < this.gen)) {
        removed.push(s);
        continue;
      }
      this.trimSeries(s, mint);
    }
    // Removed in batches, yielding between them. A series found without recent samples may
    // have received some since (here or while yielding): keep it. Only truncation frees
    // slots, so each slot still holds the series the loop found.
    for (let i = 0; i < removed.length; i += REMOVE_BATCH) {
      if (i > 0 && slicer.due()) await slicer.yield();
      const gone: number[] = [];
      for (const s of removed.slice(i, i + REMOVE_BATCH)) {
        if (this.seriesMaxt[s]! < mint) gone.push(s);
        else this.trimSeries(s, mint);
      }
      this.removeSlots(gone);
    }
    await this.compact(slicer);
    this.compactArena();
    let newMint = Infinity;
    for (let s = 0; s < this.slotsUsed; s++) if (this.refOf[s] !== 0 && this.seriesMint[s]! < newMint) newMint = this.seriesMint[s]!;
    this.headMint = newMint;
    if (newMint === Infinity) this.headMaxt = -Infinity;
    this.gen++;
    await this.checkpoint(mint);
  }

  /** Drops the cut chunks of the series in `slot` that end before `mint`, re-encoding one that straddles it. */
  private trimSeries(slot: number, mint: number): void {
    if (this.seriesMint[slot]! >= mint) return;
    const open = this.store.openChunk(slot);
    if (open && open.maxt < mint) {
      this.store.cutOpen(slot);
      this.collectCutChunks();
    }
    const kept: ChunkMeta[] = [];
    const cut = this.cutChunks[slot];
    let unchanged = true;
    for (const c of cut ?? []) {
      if (c.maxt < mint) {
        unchanged = false;
        continue;
      }
      if (c.mint >= mint) kept.push(c);
      else {
        unchanged = false;
        const part = reencode(c, mint, Infinity);
        if (part) kept.push(part);
      }
    }
    if (!unchanged) {
      this.cutChunkCount += kept.length - (cut?.length ?? 0);
      this.cutChunks[slot] = CutChunkList.of(kept);
    }
    const first = kept.length > 0 ? kept[0]!.mint : this.store.openChunk(slot)?.mint ?? Infinity;
    this.seriesMint[slot] = Math.max(first, mint);
  }

  /** True when `ref` is live with exactly `labels` (not a ref since reissued to other labels). */
  private liveWith(ref: number, labels: Labels): boolean {
    const slot = this.slotOf(ref);
    return slot >= 0 && this.hasLabels(slot, labels);
  }

  /** Folds the checkpoint and all completed segments into a new checkpoint, then deletes them. */
  private async checkpoint(mint: number): Promise<void> {
    const last = this.wal.nextSegment();
    const prev = lastCheckpoint(this.walDir);
    const segs = listSegments(this.walDir).filter((s) => s <= last && (!prev || s > prev.index));
    this.metrics.checkpointCreations.inc();
    const start = performance.now();
    await writeCheckpoint(this.walDir, last, async (log) => {
      let batch: Uint8Array[] = [];
      let bytes = 0;
      const push = (rec: Uint8Array) => {
        batch.push(rec);
        bytes += rec.length;
        if (bytes >= 1 << 20) {
          log(batch);
          batch = [];
          bytes = 0;
        }
      };
      const filter = (rec: Uint8Array) => {
        if (rec[0] === RecordType.Series) {
          const keep = decodeSeries(rec, undefined, (ref) => this.slotOf(ref) >= 0).filter((s) => this.liveWith(s.ref, s.labels));
          if (keep.length > 0) push(encodeSeries(keep));
        } else if (rec[0] === RecordType.Samples) {
          const s = decodeSamples(rec);
          const idx = new Uint32Array(s.length);
          let k = 0;
          for (let i = 0; i < s.length; i++) if (s.t[i]! >= mint && this.slotOf(s.refs[i]!) >= 0) idx[k++] = i;
          if (k > 0) push(encodeSamples(s.refs, s.t, s.v, k, idx));
        } else if (rec[0] === RecordType.Tombstones) {
          const keep = decodeTombstones(rec).filter((st) => st.maxt >= mint && this.slotOf(st.ref) >= 0);
          if (keep.length > 0) push(encodeTombstones(keep));
        }
      };
      // Scrapes and queries run while this yields; appends meanwhile go to segments after `last`.
      const slicer = new WorkSlicer();
      const fold = async (dir: string, segment: number) => {
        for (const rec of segmentRecords(await readSegmentBytes(dir, segment), dir, segment)) {
          filter(rec);
          if (slicer.due()) await slicer.yield();
        }
      };
      if (prev) for (const s of listSegments(prev.dir)) await fold(prev.dir, s);
      for (const s of segs) await fold(this.walDir, s);
      if (batch.length > 0) log(batch);
    }, this.walWriteFn);
    this.wal.truncate(last + 1);
    this.logger.info("WAL checkpoint complete", { first: segs[0] ?? last, last, mint, duration: `${((performance.now() - start) / 1000).toFixed(3)}s` });
  }

  /** Logs any series not yet in the WAL and closes it. Idempotent. */
  async close(): Promise<void> {
    await this.truncation;
    if (this.closed) return;
    if (this.pendingSeries.length > 0) {
      this.wal.log(this.seriesRecords());
      this.pendingSeries = [];
    }
    await this.wal.close();
    this.store.close();
    this.closed = true;
  }
}

/** A series as seen by a head querier; chunks are read when asked for. */
class HeadStoredSeries implements StoredSeries {
  constructor(
    private readonly head: Head,
    private readonly ref: number,
    readonly labels: Labels,
    private readonly mint: number,
    private readonly maxt: number,
    private readonly deleted: Intervals | undefined,
  ) {}

  /** The chunks as held or, when the series has deleted intervals, re-encoded without the deleted samples. */
  chunks(): ChunkMeta[] {
    if (this.deleted) return encodeChunks(this.samples());
    return this.head.seriesChunks(this.ref, this.mint, this.maxt);
  }

  samples(): SampleBatch {
    const batch = samplesInRange(this.head.seriesChunks(this.ref, this.mint, this.maxt), this.mint, this.maxt);
    return this.deleted ? applyTombstones(batch, this.deleted) : batch;
  }
}

/** Querier over the head restricted to [mint, maxt]. */
class HeadQuerier implements SyncQuerier {
  constructor(private readonly head: Head, private readonly postings: MemPostings, private readonly mint: number, private readonly maxt: number) {}

  select(matchers: readonly Matcher[], mint: number, maxt: number): StoredSeries[] {
    const lo = Math.max(mint, this.mint, this.head.minValidTime()), hi = Math.min(maxt, this.maxt);
    if (lo > hi) return [];
    const out: StoredSeries[] = [];
    for (const ref of this.head.selectRefs(matchers, lo, hi)) {
      const deleted = this.head.deletedIntervals(ref);
      // A series whose chunks in range are all deleted is not selected (as Prometheus's head querier).
      if (deleted && this.head.fullyDeleted(ref, lo, hi, deleted)) continue;
      out.push(new HeadStoredSeries(this.head, ref, this.head.seriesLabels(ref)!, lo, hi, deleted));
    }
    return out.sort((a, b) => compareLabels(a.labels, b.labels));
  }

  /**
   * The [lo, hi] a label query covers (querier range, requested range and
   * the head's valid range intersected), or null when it misses the head's
   * [minTime, maxTime]: Prometheus's head then answers nothing. A head
   * without samples (only series created) answers nothing either.
   */
  private labelRange(opts: LabelQueryOptions): [number, number] | null {
    const lo = Math.max(opts.mint ?? MIN_TIME, this.mint, this.head.minValidTime()), hi = Math.min(opts.maxt ?? MAX_TIME, this.maxt);
    const headMint = this.head.minTime(), headMaxt = this.head.maxTime();
    if (lo > hi || headMint > headMaxt || hi < headMint || lo > headMaxt) return null;
    return [lo, hi];
  }

  private matchingLabels(matchers: readonly Matcher[], [lo, hi]: [number, number]): Labels[] {
    return this.head.selectRefs(matchers, lo, hi).map((r) => this.head.seriesLabels(r)!);
  }

  /** Without matchers, every name in the head's index when the range overlaps the head (as Prometheus); with matchers, names of matching series with samples in range. */
  labelNames(opts: LabelQueryOptions = {}): string[] {
    const range = this.labelRange(opts);
    if (!range) return [];
    if (!opts.matchers || opts.matchers.length === 0) {
      return [...this.postings.names()].filter((n) => this.indexedValues(n).length > 0).sort();
    }
    const names = new Set<string>();
    for (const ls of this.matchingLabels(opts.matchers, range)) for (const l of ls) names.add(l.name);
    return [...names].sort();
  }

  /** Like labelNames, for the values of label `name`. */
  labelValues(name: string, opts: LabelQueryOptions = {}): string[] {
    const range = this.labelRange(opts);
    if (!range) return [];
    if (!opts.matchers || opts.matchers.length === 0) return this.indexedValues(name).sort();
    const values = new Set<string>();
    for (const ls of this.matchingLabels(opts.matchers, range)) for (const l of ls) if (l.name === name) values.add(l.value);
    return [...values].sort();
  }

  /** Values of `name` that at least one live series carries (unsorted). */
  private indexedValues(name: string): string[] {
    const out: string[] = [];
    for (const [v, e] of this.postings.values(name) ?? []) if (e.refs.length > 0) out.push(v);
    return out;
  }
}
