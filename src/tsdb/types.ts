/**
 * The storage contracts other rooms build on: the appender (scrape, remote
 * write, rules, backfill) and the querier (PromQL, federation, remote read,
 * the series/labels APIs). Timestamps are int64 milliseconds carried in
 * float64 (exact up to 2^53); values are float64 with NaN payloads preserved.
 */
import type { Labels, Matcher } from "../model/index.ts";

/** The staleness marker: a NaN with this exact bit pattern (0x7ff0000000000002). */
export const STALE_NAN_BITS = 0x7ff0000000000002n;

/** A batch of samples of one series, in time order; only the first `length` entries count. */
export interface SampleBatch {
  t: Float64Array;
  v: Float64Array;
  length: number;
}

/** One encoded chunk (XOR, encoding 1): the payload starts with the 2-byte sample count. */
export interface ChunkMeta {
  mint: number;
  maxt: number;
  data: Uint8Array;
}

/** A series selected by a querier, restricted to the querier's [mint, maxt]. */
export interface StoredSeries {
  readonly labels: Labels;
  /** The chunks overlapping the range, in time order (blocks then head; they may overlap). */
  chunks(): ChunkMeta[];
  /** Decoded, merged, de-duplicated samples with mint <= t <= maxt, in time order. */
  samples(): SampleBatch;
}

export interface LabelQueryOptions {
  matchers?: readonly Matcher[];
  mint?: number;
  maxt?: number;
}

/** What a select may be told beyond its matchers and range. */
export interface SelectHints {
  /** Aborts the read (the query was cancelled or timed out): the select rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Receives problems that do not fail the read (a secondary source of a fan-out was unreachable). */
  onWarning?: (message: string) => void;
}

/**
 * A read view over one storage for [mint, maxt], as Prometheus's
 * storage.Querier. Reads are asynchronous so a source may pause (a large
 * select yields to the event loop) or be remote. A querier holds what it
 * reads: blocks it covers are not deleted by compaction or retention until
 * close(), so results stay complete however long a query runs. Always close
 * a querier (close() is idempotent).
 *
 * @example
 * const q = db.querier(mint, maxt);
 * try {
 *   for (const s of await q.select([newMatcher("=", "__name__", "up")], mint, maxt)) use(s.samples());
 * } finally {
 *   q.close();
 * }
 */
export interface Querier {
  /** Series matching all matchers (at least one must not match ""), sorted by labels. */
  select(matchers: readonly Matcher[], mint: number, maxt: number, hints?: SelectHints): Promise<StoredSeries[]>;
  /** Sorted label names of series matching the matchers (all series when none). */
  labelNames(opts?: LabelQueryOptions): Promise<string[]>;
  /** Sorted values of label `name` among series matching the matchers. */
  labelValues(name: string, opts?: LabelQueryOptions): Promise<string[]>;
  /** Releases what the querier holds (block references); reads after close() reject. */
  close(): void;
}

/** Something that opens queriers over a time range: the local DB, a fan-out of several sources. */
export interface Queryable {
  querier(mint: number, maxt: number): Querier;
}

/**
 * A synchronous querier over one head or one block: the parts a storage
 * Querier is built from. Its series stay readable only while the part is
 * held (see Querier).
 */
export interface SyncQuerier {
  select(matchers: readonly Matcher[], mint: number, maxt: number): StoredSeries[];
  labelNames(opts?: LabelQueryOptions): string[];
  labelValues(name: string, opts?: LabelQueryOptions): string[];
}

/** Why a sample was not appended. 0 means it was. */
export const enum AppendStatus {
  Ok = 0,
  OutOfOrder = 1, // "out of order sample"
  DuplicateTimestamp = 2, // "duplicate sample for timestamp" (same t, other value)
  OutOfBounds = 3, // "out of bounds" (older than the head's minimum valid time)
  UnknownRef = 4, // series ref not (or no longer) in the head
}

export interface AppendResult {
  /** Samples stored (and logged); an exact duplicate of a series' last sample is reported Ok but not counted, as Prometheus ignores it. */
  appended: number;
  outOfOrder: number;
  duplicate: number;
  outOfBounds: number;
  unknownRef: number;
}

/** Batched appends: one call takes a whole scrape or remote-write request. */
export interface Appender {
  /** The series ref for a label set, creating the series if needed. Stable while the series is in the head. */
  ref(labels: Labels): number;
  /**
   * Appends samples (refs[i], t[i], v[i]) for i < n. Every accepted sample is
   * in the WAL before this returns. When `status` is given, status[i] is set
   * to an AppendStatus for each sample.
   */
  appendBatch(refs: Uint32Array, t: Float64Array, v: Float64Array, n: number, status?: Uint8Array): AppendResult;
}

/** Sentinel for "no bound" in queries. */
export const MIN_TIME = -9007199254740991;
export const MAX_TIME = 9007199254740991;
