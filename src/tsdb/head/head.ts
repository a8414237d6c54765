/**
 * The head block: the in-memory, appendable part of the TSDB. It owns
 *
 * - the series: dense numeric refs (never reused, so a stale cached ref can
 *   only ever miss, not hit another series), label sets made of interned
 *   `Label` objects, and per-series min/max sample times in typed arrays;
 * - the inverted index ({@link MemPostings}) answering label matchers;
 * - the chunks: open chunks live in the WASM {@link HeadChunkStore}, cut
 *   (completed) chunks in per-series arrays;
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
import { METRIC_NAME, compareLabels, labelsEqual, labelsHash, labelsKey, Registry, type Counter, type Gauge, type Label, type Labels, type Matcher } from "../../model/index.ts";
import { DUPLICATE_IGNORED, HeadChunkStore, decodeXor, encodeXor } from "../chunkenc/index.ts";
import {
  AppendStatus, MAX_TIME, MIN_TIME,
  type AppendResult, type Appender, type ChunkMeta, type LabelQueryOptions, type SyncQuerier, type SampleBatch, type StoredSeries,
} from "../types.ts";
import {
  RecordType, WAL, decodeSamples, decodeSeries, encodeSamples, encodeSeries, lastCheckpoint, listSegments, readSegmentBytes,
  registerWALMetrics, segmentRecords, writeCheckpoint, type SeriesRecord, type WriteFn,
} from "../wal/index.ts";
import { WorkSlicer, runStepsNow, sortSteps } from "../event_loop.ts";
import { postingsForMatchers } from "./matching.ts";
import { MemPostings } from "./postings.ts";
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
}

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

function growU32(a: Uint32Array, need: number): Uint32Array {
  if (need <= a.length) return a;
  const next = new Uint32Array(Math.max(need, a.length * 2));
  next.set(a);
  return next;
}

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

  private labelsOf: (Labels | undefined)[] = [];
  private cutChunks: (ChunkMeta[] | undefined)[] = [];
  private seriesMint: Float64Array = new Float64Array(1024).fill(Infinity);
  private seriesMaxt: Float64Array = new Float64Array(1024).fill(-Infinity);
  private seriesGen: Uint32Array = new Uint32Array(1024);
  private readonly byHash = new Map<number, number | number[]>();
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
  private closed = false;
  private truncation: Promise<void> = Promise.resolve(); // serializes truncate() calls

  // Scratch space reused by appends so the hot path allocates nothing per sample.
  private scRefs = new Uint32Array(1024);
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
    let series = 0, samples = 0, unknownRefs = 0, outOfBounds = 0;
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
              if (existing !== 0 && existing !== s.ref) refMap.set(s.ref, existing);
              else if (existing === 0 && head.labelsOf[s.ref] === undefined) head.createSeries(s.ref, s.labels);
            }
          } else if (rec[0] === RecordType.Samples) {
            const s = decodeSamples(rec);
            if (refMap.size > 0) for (let i = 0; i < s.length; i++) s.refs[i] = refMap.get(s.refs[i]!) ?? s.refs[i]!;
            const res = head.appendInternal(s.refs, s.t, s.v, s.length, undefined, false);
            samples += res.appended;
            unknownRefs += res.unknownRef;
            outOfBounds += res.outOfBounds;
          } else {
            head.logger.warn("Unknown WAL record type, skipping", { type: rec[0] });
          }
        } catch (e) {
          walMetrics.corruptions.inc();
          head.logger.warn("Skipping undecodable WAL record", { err: (e as Error).message, type: rec[0], bytes: rec.length });
        }
      },
    });
    const elapsed = (performance.now() - start) / 1000;
    head.metrics.replayDuration.set(elapsed);
    if (unknownRefs > 0) head.logger.warn("Unknown series references in WAL samples", { samples: unknownRefs });
    if (outOfBounds > 0) head.logger.info("Skipped WAL samples already persisted in blocks", { samples: outOfBounds, minValidTime: head.minValidTimestamp });
    head.logger.info("WAL replay completed", { series, samples, duration: `${elapsed.toFixed(3)}s` });
    return head;
  }

  // ---- series ------------------------------------------------------------

  /** The ref of an existing series with exactly these labels, or 0. */
  private lookup(labels: Labels): number {
    const hit = this.byHash.get(labelsHash(labels));
    if (hit === undefined) return 0;
    if (typeof hit === "number") return labelsEqual(this.labelsOf[hit]!, labels) ? hit : 0;
    for (const r of hit) if (labelsEqual(this.labelsOf[r]!, labels)) return r;
    return 0;
  }

  private createSeries(ref: number, labels: Labels): void {
    const need = ref + 1;
    if (need > this.seriesMint.length) {
      this.seriesMint = growF64(this.seriesMint, need, Infinity);
      this.seriesMaxt = growF64(this.seriesMaxt, need, -Infinity);
      this.seriesGen = growU32(this.seriesGen, this.seriesMint.length);
    }
    this.labelsOf[ref] = labels;
    this.seriesMint[ref] = Infinity;
    this.seriesMaxt[ref] = -Infinity;
    this.seriesGen[ref] = this.gen;
    const h = labelsHash(labels);
    const prev = this.byHash.get(h);
    if (prev === undefined) this.byHash.set(h, ref);
    else if (typeof prev === "number") this.byHash.set(h, [prev, ref]);
    else prev.push(ref);
    this.postings.add(ref, labels);
    this.store.ensure(ref);
    if (ref >= this.nextRef) this.nextRef = ref + 1;
    this.liveSeries++;
    this.metrics.seriesCreated.inc();
  }

  private removeSeries(removed: Map<number, Labels>): void {
    for (const [ref, labels] of removed) {
      const h = labelsHash(labels);
      const prev = this.byHash.get(h);
      if (typeof prev === "number") this.byHash.delete(h);
      else if (prev) {
        const rest = prev.filter((r) => r !== ref);
        if (rest.length === 1) this.byHash.set(h, rest[0]!);
        else this.byHash.set(h, rest);
      }
      this.labelsOf[ref] = undefined;
      const cs = this.cutChunks[ref];
      if (cs) this.cutChunkCount -= cs.length;
      this.cutChunks[ref] = undefined;
      this.seriesMint[ref] = Infinity;
      this.seriesMaxt[ref] = -Infinity;
      this.store.release(ref);
    }
    this.postings.delete(removed);
    this.liveSeries -= removed.size;
    this.metrics.seriesRemoved.inc(removed.size);
  }

  /** The ref for `labels`, creating the series (and queuing its WAL record) if new. */
  private getOrCreate(labels: Labels): number {
    const found = this.lookup(labels);
    if (found !== 0) return found;
    if (labels.length === 0) throw new Error("cannot create a series with an empty label set");
    const interned: Label[] = [];
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i]!;
      if (l.name === "") throw new Error(`label set ${labelsKey(labels)} has an empty label name`);
      if (l.value === "") throw new Error(`label set ${labelsKey(labels)} has an empty value for label ${l.name}`);
      if (i > 0 && l.name <= labels[i - 1]!.name) throw new Error(`label set ${labelsKey(labels)} is not sorted by name or repeats label ${l.name}`);
      interned.push(this.postings.intern(l.name, l.value));
    }
    if (this.nextRef > 0xffffffff) throw new Error("head ran out of series refs");
    const ref = this.nextRef;
    this.createSeries(ref, interned);
    this.pendingSeries.push({ ref, labels: interned });
    return ref;
  }

  // ---- appends -----------------------------------------------------------

  private growScratch(n: number): void {
    if (n <= this.scRefs.length) return;
    const cap = Math.max(n, this.scRefs.length * 2);
    this.scRefs = new Uint32Array(cap);
    this.scT = new Float64Array(cap);
    this.scV = new Float64Array(cap);
    this.scIdx = new Uint32Array(cap);
    this.scAccepted = new Uint32Array(cap);
    this.scStatus = new Uint8Array(cap);
  }

  /**
   * Validates, appends to the chunk store (one WASM call), records times,
   * collects cut chunks and — when `log` — writes pending series and the
   * accepted samples to the WAL.
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
    let valid = 0;
    for (let i = 0; i < n; i++) {
      const r = refs[i]!;
      let st: number = AppendStatus.Ok;
      if (this.labelsOf[r] === undefined) st = AppendStatus.UnknownRef;
      else if (t[i]! < lowest || t[i] !== Math.trunc(t[i]!)) st = AppendStatus.OutOfBounds;
      if (st === AppendStatus.Ok) {
        valid++;
      } else {
        if (status) status[i] = st;
        if (st === AppendStatus.UnknownRef) res.unknownRef++;
        else res.outOfBounds++;
      }
    }
    let R = refs, T = t, V = v, map: Uint32Array | null = null;
    if (valid < n) {
      // Compact the valid samples; values move as raw 32-bit halves so NaN payloads survive.
      const src = new Uint32Array(v.buffer, v.byteOffset, n * 2), dst = new Uint32Array(this.scV.buffer);
      let k = 0;
      for (let i = 0; i < n; i++) {
        const r = refs[i]!;
        if (this.labelsOf[r] === undefined || t[i]! < lowest || t[i] !== Math.trunc(t[i]!)) continue;
        this.scRefs[k] = r;
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
      this.store.appendBatch(R, T, V, valid, sst);
      const mint = this.seriesMint, maxt = this.seriesMaxt;
      for (let k = 0; k < valid; k++) {
        const s = sst[k]!;
        const orig = map ? map[k]! : k;
        if (s === 0) {
          this.scAccepted[accepted++] = k;
          const r = R[k]!, ts = T[k]!;
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

  private collectCutChunks(): void {
    for (const c of this.store.drainCut()) {
      if (this.labelsOf[c.ref] === undefined) continue;
      let list = this.cutChunks[c.ref];
      if (!list) this.cutChunks[c.ref] = list = [];
      list.push({ mint: c.mint, maxt: c.maxt, data: c.data });
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
    const out: number[] = [];
    for (let r = 1; r < this.nextRef; r++) if (this.labelsOf[r] !== undefined) out.push(r);
    return out;
  }

  /** Labels of a live series (undefined for unknown refs). */
  seriesLabels(ref: number): Labels | undefined {
    return this.labelsOf[ref];
  }

  /** Cut chunks and the open chunk of `ref` overlapping [mint, maxt], in time order. */
  seriesChunks(ref: number, mint: number, maxt: number): ChunkMeta[] {
    const out: ChunkMeta[] = [];
    for (const c of this.cutChunks[ref] ?? []) if (c.maxt >= mint && c.mint <= maxt) out.push(c);
    const open = this.labelsOf[ref] !== undefined ? this.store.openChunk(ref) : null;
    if (open && open.maxt >= mint && open.mint <= maxt) out.push(open);
    return out;
  }

  /** Sorted refs of series matching `matchers` whose samples overlap [mint, maxt]. */
  selectRefs(matchers: readonly Matcher[], mint: number, maxt: number): number[] {
    const refs = postingsForMatchers(this.postings, () => this.allRefs(), matchers);
    return refs.filter((r) => this.seriesMaxt[r]! >= mint && this.seriesMint[r]! <= maxt);
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
    const refs = this.allRefs().filter((r) => this.seriesMaxt[r]! >= mint && this.seriesMint[r]! < maxt);
    yield* sortSteps(refs, (a, b) => compareLabels(this.labelsOf[a]!, this.labelsOf[b]!));
    return this.blockSeries(refs, mint, maxt);
  }

  /** The series `refs` (sorted by labels) with their chunks in [mint, maxt), cutting and re-encoding as seriesInRange describes. */
  private *blockSeries(refs: readonly number[], mint: number, maxt: number): Iterable<{ labels: Labels; chunks: ChunkMeta[] }> {
    for (const ref of refs) {
      const labels = this.labelsOf[ref];
      if (!labels) continue;
      const open = this.store.openChunk(ref);
      if (open && open.maxt < maxt) {
        this.store.cutOpen(ref);
        this.collectCutChunks();
      }
      const chunks: ChunkMeta[] = [];
      const candidates = [...(this.cutChunks[ref] ?? [])];
      const stillOpen = this.store.openChunk(ref);
      if (stillOpen) candidates.push(stillOpen);
      for (const c of candidates) {
        if (c.maxt < mint || c.mint >= maxt) continue;
        if (c.mint >= mint && c.maxt < maxt) chunks.push(c);
        else {
          const part = reencode(c, mint, maxt);
          if (part) chunks.push(part);
        }
      }
      if (chunks.length > 0) yield { labels, chunks };
    }
  }

  /**
   * Drops samples older than `mint`, removes series left without samples,
   * checkpoints the WAL (live series, samples >= mint) and deletes the
   * segments the checkpoint covers. Later appends older than `mint` fail with
   * "out of bounds".
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
    const removed = new Map<number, Labels>();
    const slicer = new WorkSlicer();
    // Appends may run while this yields; they are all >= mint (out of bounds otherwise).
    for (let r = 1; r < this.nextRef; r++) {
      if ((r & 15) === 0 && slicer.due()) await slicer.yield();
      const labels = this.labelsOf[r];
      if (!labels) continue;
      const maxt = this.seriesMaxt[r]!;
      if (maxt < mint && (maxt !== -Infinity || this.seriesGen[r]! < this.gen)) {
        removed.set(r, labels);
        continue;
      }
      this.trimSeries(r, mint);
    }
    // A series found without recent samples may have received some since: keep it.
    for (const r of removed.keys()) {
      if (this.seriesMaxt[r]! < mint) continue;
      removed.delete(r);
      this.trimSeries(r, mint);
    }
    if (removed.size > 0) this.removeSeries(removed);
    let newMint = Infinity;
    for (let r = 1; r < this.nextRef; r++) if (this.labelsOf[r] !== undefined && this.seriesMint[r]! < newMint) newMint = this.seriesMint[r]!;
    this.headMint = newMint;
    if (newMint === Infinity) this.headMaxt = -Infinity;
    this.gen++;
    await this.checkpoint(mint);
  }

  /** Drops the cut chunks of series `r` that end before `mint`, re-encoding one that straddles it. */
  private trimSeries(r: number, mint: number): void {
    if (this.seriesMint[r]! >= mint) return;
    const open = this.store.openChunk(r);
    if (open && open.maxt < mint) {
      this.store.cutOpen(r);
      this.collectCutChunks();
    }
    const kept: ChunkMeta[] = [];
    for (const c of this.cutChunks[r] ?? []) {
      if (c.maxt < mint) continue;
      if (c.mint >= mint) kept.push(c);
      else {
        const part = reencode(c, mint, Infinity);
        if (part) kept.push(part);
      }
    }
    this.cutChunkCount += kept.length - (this.cutChunks[r]?.length ?? 0);
    this.cutChunks[r] = kept.length > 0 ? kept : undefined;
    const first = kept.length > 0 ? kept[0]!.mint : this.store.openChunk(r)?.mint ?? Infinity;
    this.seriesMint[r] = Math.max(first, mint);
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
          const keep = decodeSeries(rec).filter((s) => this.labelsOf[s.ref] !== undefined);
          if (keep.length > 0) push(encodeSeries(keep));
        } else if (rec[0] === RecordType.Samples) {
          const s = decodeSamples(rec);
          const idx = new Uint32Array(s.length);
          let k = 0;
          for (let i = 0; i < s.length; i++) if (s.t[i]! >= mint && this.labelsOf[s.refs[i]!] !== undefined) idx[k++] = i;
          if (k > 0) push(encodeSamples(s.refs, s.t, s.v, k, idx));
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
  constructor(private readonly head: Head, private readonly ref: number, readonly labels: Labels, private readonly mint: number, private readonly maxt: number) {}

  chunks(): ChunkMeta[] {
    return this.head.seriesChunks(this.ref, this.mint, this.maxt);
  }

  samples(): SampleBatch {
    return samplesInRange(this.chunks(), this.mint, this.maxt);
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
      out.push(new HeadStoredSeries(this.head, ref, this.head.seriesLabels(ref)!, lo, hi));
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
