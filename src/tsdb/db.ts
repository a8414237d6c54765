/**
 * The time-series database: the in-memory head (with its WAL) for recent
 * data plus immutable on-disk blocks for older data, in Prometheus's
 * directory layout:
 *
 *   <dir>/wal/…                 the head's write-ahead log
 *   <dir>/<ulid>/               one block per 2h (or a compacted multiple)
 *
 * compact() cuts the head into blocks once it spans more than 1.5 block
 * durations, merges blocks into larger ones, and enforces retention.
 *
 * @example
 * const db = await openDB({ dir: "./data", compactionIntervalMs: 0 });
 * const app = db.appender();
 * app.appendBatch(Uint32Array.of(app.ref(labels)), Float64Array.of(Date.now()), Float64Array.of(1), 1);
 * const q = db.querier(MIN_TIME, MAX_TIME);
 * await q.select([newMatcher("=", "__name__", "up")], MIN_TIME, MAX_TIME);
 * q.close();
 * await db.close();
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { nopLogger, type Logger } from "../log/index.ts";
import { type Counter, type Histogram, type Matcher, Registry } from "../model/index.ts";
import {
  Block,
  type BlockMeta,
  isULID,
  META_FILENAME,
  normalizeChunks,
  removeBlockDir,
  TMP_FOR_CREATION,
  TMP_FOR_DELETION,
  writeBlockAsync,
} from "./block/index.ts";
import { compactBlocksAsync, compactionRanges, planCompaction } from "./compact.ts";
import { runSteps } from "./event_loop.ts";
import { Head, type TSDBStats } from "./head/index.ts";
import { PartsQuerier } from "./querier.ts";
import { walSize, type WriteFn } from "./wal/index.ts";
import { MIN_TIME, type Appender, type Querier, type Queryable, type SyncQuerier } from "./types.ts";

/** Prometheus's default time retention: 15 days. */
export const DEFAULT_RETENTION_TIME = 15 * 24 * 3600 * 1000;
/** Prometheus's default (minimum) block duration: 2 hours. */
export const DEFAULT_BLOCK_DURATION = 2 * 3600 * 1000;
/** How often the background loop compacts: 1 minute, as Prometheus. */
export const DEFAULT_COMPACTION_INTERVAL = 60 * 1000;

/** How to open a DB. */
export interface DBOptions {
  dir: string;
  /** Time retention in ms (default 15d); 0 turns it off. */
  retentionTime?: number;
  /** Size retention in bytes (blocks + WAL); 0 (default) turns it off. */
  retentionSize?: number;
  /** Duration of blocks cut from the head, in ms (default 2h). */
  blockDuration?: number;
  logger?: Logger;
  /** Where the tsdb and head metrics go (a private registry when omitted). */
  registry?: Registry;
  /** Interval of the background compaction loop (default 1m); 0 = no loop, callers run compact(). */
  compactionIntervalMs?: number;
  /** Replaces write(2) for the files of new blocks, for fault-injection tests. */
  blockWriteFn?: WriteFn;
}

/** The database: appends go to the head, queries see blocks and head as one. */
export interface DB extends Queryable {
  /** An appender writing to the head (and its WAL). */
  appender(): Appender;
  /**
   * A querier over blocks and head; a series stored in several of them is
   * returned once, samples merged and de-duplicated. Until it is closed, the
   * blocks it covers stay on disk (compaction and retention delete them
   * afterwards) and the head is not truncated past its range.
   */
  querier(mint: number, maxt: number): Querier;
  head(): Head;
  /** Metas of the loaded blocks, by minTime. */
  blocks(): BlockMeta[];
  /**
   * Cuts the head into blocks, compacts blocks, applies retention. Concurrent
   * calls run one after another. Writing yields to the event loop regularly,
   * so appends and queries are served meanwhile.
   */
  compact(): Promise<void>;
  /** Head cardinality statistics for /api/v1/status/tsdb (see Head.stats). */
  stats(limit?: number): TSDBStats;
  /**
   * Deletes [mint, maxt] of the series matching `matchers` (at least one
   * must not match ""): tombstones in every block overlapping the range and
   * in the head (logged to the WAL). Queries stop seeing the samples at
   * once. Runs between compactions, never during one.
   */
  delete(mint: number, maxt: number, matchers: readonly Matcher[]): Promise<void>;
  /**
   * Rewrites every block with tombstones without the deleted data (a new
   * block with a new ULID, the old one removed once no querier reads it; a
   * block left without samples is removed), as Prometheus's CleanTombstones.
   */
  cleanTombstones(): Promise<void>;
  /** Stops the background loop, waits for a running compaction and closes the head. */
  close(): Promise<void>;
  readonly dir: string;
}

interface DBMetrics {
  compactions: Counter;
  compactionsFailed: Counter;
  compactionDuration: Histogram;
  headTruncations: Counter;
  timeRetentions: Counter;
  sizeRetentions: Counter;
  reloads: Counter;
}

/**
 * Opens every complete block directory in `dir`, deleting blocks already
 * compacted into another one (a crash between writing a compacted block and
 * deleting its parents leaves them behind).
 */
function openBlocks(dir: string, logger: Logger): Block[] {
  const opened: Block[] = [];
  for (const name of readdirSync(dir)) {
    if (!isULID(name) || !existsSync(join(dir, name, META_FILENAME))) continue;
    opened.push(Block.open(join(dir, name)));
  }
  const parents = new Set(opened.flatMap((b) => (b.meta.compaction.parents ?? []).map((p) => p.ulid)));
  const keep: Block[] = [];
  for (const b of opened) {
    if (parents.has(b.ulid)) {
      logger.info("Deleting block already compacted into another", { ulid: b.ulid });
      removeBlockDir(b.dir);
    } else keep.push(b);
  }
  return keep;
}

class TSDB implements DB {
  private loaded: Block[] = [];
  private blockBytes = 0;
  private running: Promise<void> = Promise.resolve();
  private timer: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  /** Open queriers per block; a block dropped while read is deleted when its last reader closes. */
  private readonly readers = new Map<Block, number>();
  private readonly dropped = new Set<Block>();
  /** The range of every open querier, and who waits for them to close. */
  private readonly headReaders = new Set<{ mint: number; maxt: number }>();
  private headReaderWaiters: (() => void)[] = [];
  private readonly ranges: number[];
  private readonly retentionTime: number;
  private readonly retentionSize: number;
  private readonly blockDuration: number;
  private readonly blockWriteFn: WriteFn | undefined;

  constructor(
    readonly dir: string,
    private readonly headDB: Head,
    private readonly logger: Logger,
    private readonly metrics: DBMetrics,
    opts: DBOptions,
    blocks: Block[],
  ) {
    this.retentionTime = opts.retentionTime ?? DEFAULT_RETENTION_TIME;
    this.retentionSize = opts.retentionSize ?? 0;
    this.blockDuration = opts.blockDuration ?? DEFAULT_BLOCK_DURATION;
    this.blockWriteFn = opts.blockWriteFn;
    this.ranges = compactionRanges(this.blockDuration, this.retentionTime);
    this.setBlocks(blocks);
  }

  registerGauges(registry: Registry): void {
    registry.gaugeFunc("prometheus_tsdb_blocks_loaded", "Number of currently loaded data blocks", () => this.loaded.length);
    registry.gaugeFunc("prometheus_tsdb_storage_blocks_bytes", "The number of bytes that are currently used for local storage by all blocks.", () => this.blockBytes);
    registry.gaugeFunc("prometheus_tsdb_lowest_timestamp", "Lowest timestamp value stored in the database. The unit is decided by the library consumer.", () => this.lowestTimestamp());
    registry.gaugeFunc("prometheus_tsdb_retention_limit_bytes", "Max number of bytes to be retained in the tsdb blocks, configured 0 means disabled", () => this.retentionSize);
  }

  private lowestTimestamp(): number {
    if (this.loaded.length > 0) return this.loaded[0]!.meta.minTime;
    const h = this.headDB.minTime();
    return h === Number.MAX_SAFE_INTEGER || this.headDB.numSeries() === 0 ? 0 : h;
  }

  startLoop(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.compact().catch((err) => this.logger.error("compaction failed", { err }));
    }, intervalMs);
    (this.timer as { unref?: () => void }).unref?.();
  }

  appender(): Appender {
    return this.headDB.appender();
  }

  head(): Head {
    return this.headDB;
  }

  blocks(): BlockMeta[] {
    return this.loaded.map((b) => b.meta);
  }

  querier(mint: number, maxt: number): Querier {
    const parts: SyncQuerier[] = [];
    const held: Block[] = [];
    for (const b of this.loaded) {
      if (b.meta.maxTime > mint && b.meta.minTime <= maxt) {
        parts.push(b.querier(mint, maxt));
        held.push(b);
        this.readers.set(b, (this.readers.get(b) ?? 0) + 1);
      }
    }
    parts.push(this.headDB.querier(mint, maxt));
    const headReader = { mint, maxt };
    this.headReaders.add(headReader);
    return new PartsQuerier(parts, () => {
      for (const b of held) this.releaseBlock(b);
      this.headReaders.delete(headReader);
      const waiters = this.headReaderWaiters;
      this.headReaderWaiters = [];
      for (const w of waiters) w();
    });
  }

  private releaseBlock(b: Block): void {
    const n = (this.readers.get(b) ?? 1) - 1;
    if (n > 0) {
      this.readers.set(b, n);
      return;
    }
    this.readers.delete(b);
    if (this.dropped.delete(b)) removeBlockDir(b.dir);
  }

  /**
   * Waits until no open querier reads the head data that truncating it
   * before `maxt` removes, as Prometheus's head waits for pending readers
   * in the range, so a long query sees every sample it selected. Logs while
   * it waits long.
   */
  private async waitForHeadReaders(maxt: number): Promise<void> {
    const since = Date.now();
    let warned = since;
    const reading = (r: { mint: number; maxt: number }): boolean => r.mint < maxt && r.maxt >= this.headDB.minTime();
    while (!this.closed && [...this.headReaders].some(reading)) {
      await new Promise<void>((resolve) => {
        this.headReaderWaiters.push(resolve);
        setTimeout(resolve, 5000).unref?.();
      });
      if (Date.now() - warned >= 60_000) {
        warned = Date.now();
        this.logger.warn("head truncation waiting for open queriers", { waited: `${Math.round((warned - since) / 1000)}s` });
      }
    }
  }

  stats(limit = 10): TSDBStats {
    return this.headDB.stats(limit);
  }

  private setBlocks(blocks: Block[]): void {
    this.loaded = blocks.sort((a, b) => a.meta.minTime - b.meta.minTime);
    this.blockBytes = this.loaded.reduce((n, b) => n + b.size(), 0);
    this.metrics.reloads.inc();
  }

  private removeBlocks(ulids: ReadonlySet<string>): void {
    if (ulids.size === 0) return;
    const keep: Block[] = [];
    for (const b of this.loaded) {
      if (!ulids.has(b.ulid)) keep.push(b);
      else if (this.readers.has(b)) this.dropped.add(b);
      else removeBlockDir(b.dir);
    }
    this.setBlocks(keep);
  }

  private async addBlock(meta: BlockMeta): Promise<void> {
    const block = await Block.openAsync(join(this.dir, meta.ulid));
    this.setBlocks([...this.loaded, block]);
  }

  compact(): Promise<void> {
    return this.serial(() => this.compactNow());
  }

  /** Runs `fn` after the compaction or deletion running now (they never overlap). */
  private serial(fn: () => Promise<void>): Promise<void> {
    const run = this.running.then(fn);
    this.running = run.catch(() => {});
    return run;
  }

  delete(mint: number, maxt: number, matchers: readonly Matcher[]): Promise<void> {
    if (matchers.length === 0 || matchers.every((m) => m.matches(""))) {
      return Promise.reject(new Error("delete: at least one matcher must not match the empty string"));
    }
    return this.serial(async () => {
      if (this.closed) throw new Error("db is closed");
      for (const b of this.loaded) {
        if (b.meta.minTime <= maxt && b.meta.maxTime > mint) b.delete(mint, maxt, matchers);
      }
      this.headDB.delete(mint, maxt, matchers);
    });
  }

  cleanTombstones(): Promise<void> {
    return this.serial(async () => {
      for (const b of [...this.loaded]) {
        if (this.closed) return;
        if (!b.hasTombstones()) continue;
        const meta = await writeBlockAsync(this.dir, b.series(), {
          minTime: b.meta.minTime,
          maxTime: b.meta.maxTime,
          parents: [{ ulid: b.ulid, minTime: b.meta.minTime, maxTime: b.meta.maxTime }],
        });
        if (meta.stats.numSamples > 0) await this.addBlock(meta);
        else removeBlockDir(join(this.dir, meta.ulid));
        this.logger.info("Cleaned tombstones of block", { ulid: b.ulid, new: meta.stats.numSamples > 0 ? meta.ulid : "", samples: meta.stats.numSamples });
        this.removeBlocks(new Set([b.ulid]));
      }
    });
  }

  private async timed<T>(fn: () => T | Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      const out = await fn();
      this.metrics.compactions.inc();
      this.metrics.compactionDuration.observe((performance.now() - start) / 1000);
      return out;
    } catch (err) {
      this.metrics.compactionsFailed.inc();
      throw err;
    }
  }

  private async compactNow(): Promise<void> {
    if (this.closed) return;
    await this.compactHead();
    await this.compactBlocks();
    this.applyRetention();
  }

  /** Cuts [mint, mint + blockDuration) blocks off the head while it spans more than 1.5 block durations. */
  private async compactHead(): Promise<void> {
    const bd = this.blockDuration;
    for (;;) {
      const head = this.headDB;
      const hmin = head.minTime(), hmax = head.maxTime();
      if (head.numSeries() === 0 || hmin > hmax || hmax - hmin <= (bd / 2) * 3) return;
      const mint = Math.floor(hmin / bd) * bd;
      const maxt = mint + bd;
      // Writing yields to the event loop; appends meanwhile must not land in the range being persisted.
      head.refuseAppendsBefore(maxt);
      const meta = await this.timed(async () => {
        const inRange = await runSteps(head.seriesInRangeSteps(mint, maxt));
        const series = (function* () {
          for (const s of inRange) yield { labels: s.labels, chunks: normalizeChunks(s.chunks, mint, maxt - 1) };
        })();
        return writeBlockAsync(this.dir, series, { minTime: mint, maxTime: maxt, writeFn: this.blockWriteFn });
      });
      if (meta.stats.numSamples > 0) {
        await this.addBlock(meta);
        this.logger.info("write block", { mint, maxt, ulid: meta.ulid });
      } else {
        removeBlockDir(join(this.dir, meta.ulid));
      }
      await this.waitForHeadReaders(maxt);
      await head.truncate(maxt);
      this.metrics.headTruncations.inc();
      if (head.minTime() <= hmin && head.numSeries() > 0) {
        this.logger.warn("head truncation did not advance; stopping head compaction", { mint: hmin });
        return;
      }
    }
  }

  /** Compacts blocks as planned until there is nothing left to do. */
  private async compactBlocks(): Promise<void> {
    for (let round = 0; round < 1000 && !this.closed; round++) {
      const plan = planCompaction(this.blocks(), this.ranges);
      if (plan.length === 0) return;
      const ulids = new Set(plan.map((m) => m.ulid));
      const parents = this.loaded.filter((b) => ulids.has(b.ulid));
      const meta = await this.timed(() => compactBlocksAsync(this.dir, parents, this.blockWriteFn));
      this.logger.info("compact blocks", { count: parents.length, ulid: meta?.ulid ?? "", sources: [...ulids].join(",") });
      if (meta) await this.addBlock(meta);
      this.removeBlocks(ulids);
    }
  }

  /** Deletes blocks beyond the time retention and, oldest first, beyond the size retention. */
  applyRetention(): void {
    const newestFirst = [...this.loaded].sort((a, b) => b.meta.maxTime - a.meta.maxTime);
    const deletable = new Set<string>();
    if (this.retentionTime > 0 && newestFirst.length > 0) {
      const newest = newestFirst[0]!.meta.maxTime;
      for (let i = 1; i < newestFirst.length; i++) {
        if (newest - newestFirst[i]!.meta.maxTime > this.retentionTime) {
          for (const b of newestFirst.slice(i)) deletable.add(b.ulid);
          this.metrics.timeRetentions.inc();
          break;
        }
      }
    }
    if (this.retentionSize > 0 && newestFirst.length > 0) {
      let size = walSize(join(this.dir, "wal"));
      for (let i = 0; i < newestFirst.length; i++) {
        size += newestFirst[i]!.size();
        if (size > this.retentionSize) {
          for (const b of newestFirst.slice(i)) deletable.add(b.ulid);
          this.metrics.sizeRetentions.inc();
          break;
        }
      }
    }
    if (deletable.size > 0) {
      this.logger.info("Deleting blocks beyond retention", { ulids: [...deletable].join(",") });
      this.removeBlocks(deletable);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
    for (const b of this.dropped) removeBlockDir(b.dir);
    this.dropped.clear();
    await this.headDB.close();
  }
}

/** Removes `.tmp-for-creation` / `.tmp-for-deletion` directories left by a crash. */
function removeLeftoverTmpDirs(dir: string, logger: Logger): void {
  for (const name of readdirSync(dir)) {
    if (name.endsWith(TMP_FOR_CREATION) || name.endsWith(TMP_FOR_DELETION)) {
      logger.info("Found and deleted tmp block dir", { dir: join(dir, name) });
      rmSync(join(dir, name), { recursive: true, force: true });
    }
  }
}

/**
 * Opens (creating if needed) the database in `opts.dir`: removes leftover
 * temporary block dirs, loads blocks, replays the WAL into the head (samples
 * older than the newest block's maxTime are out of bounds, as in
 * Prometheus), applies retention and starts the background compaction loop.
 * Throws a BlockFormatError naming the file when a block is corrupt.
 */
export async function openDB(opts: DBOptions): Promise<DB> {
  const logger = opts.logger ?? nopLogger;
  const registry = opts.registry ?? new Registry();
  mkdirSync(opts.dir, { recursive: true });
  removeLeftoverTmpDirs(opts.dir, logger);
  const metrics: DBMetrics = {
    compactions: registry.counter("prometheus_tsdb_compactions_total", "Total number of compactions that were executed for the partition."),
    compactionsFailed: registry.counter("prometheus_tsdb_compactions_failed_total", "Total number of compactions that failed for the partition."),
    compactionDuration: registry.histogram(
      "prometheus_tsdb_compaction_duration_seconds",
      "Duration of compaction runs",
      [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192],
    ),
    headTruncations: registry.counter("prometheus_tsdb_head_truncations_total", "Total number of head truncations attempted."),
    timeRetentions: registry.counter("prometheus_tsdb_time_retentions_total", "The number of times that blocks were deleted because the maximum time limit was exceeded."),
    sizeRetentions: registry.counter("prometheus_tsdb_size_retentions_total", "The number of times that blocks were deleted because the maximum number of bytes was exceeded."),
    reloads: registry.counter("prometheus_tsdb_reloads_total", "Number of times the database reloaded block data from disk."),
  };
  const blocks = openBlocks(opts.dir, logger);
  const newestBlockMaxt = blocks.reduce((max, b) => Math.max(max, b.meta.maxTime), MIN_TIME);
  const head = await Head.open({
    dir: opts.dir, logger, registry, chunkRange: opts.blockDuration ?? DEFAULT_BLOCK_DURATION, minValidTime: newestBlockMaxt,
  });
  const db = new TSDB(opts.dir, head, logger, metrics, opts, blocks);
  db.registerGauges(registry);
  db.applyRetention();
  db.startLoop(opts.compactionIntervalMs ?? DEFAULT_COMPACTION_INTERVAL);
  return db;
}
