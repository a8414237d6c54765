/**
 * The segmented write-ahead log. Layout follows Prometheus's `tsdb/wlog`:
 * numbered segment files (`00000000`, `00000001`, …, at most 128 MiB each)
 * made of 32 KiB pages; a record is split into fragments that never cross a
 * page, each with a 7-byte header `type:u8 · length:be16 · crc32c:be32`
 * (type 1 full, 2 first, 3 middle, 4 last; a 0 byte pads the rest of a page).
 * A record never spans two segments.
 *
 * Every `log()` call is a single write(2) on the open segment, so once it
 * returns the bytes are in the kernel and survive the process being killed;
 * segments are fsynced when they are completed and on close.
 *
 * Opening the log reads the newest checkpoint and every later segment; a
 * torn or corrupt tail is cut off at the start of the damaged record (later
 * segments are dropped) with a warning, and writing resumes in a fresh
 * segment.
 *
 * @example
 * const wal = await WAL.open({ dir: "data/wal", onRecord: (rec) => replay(rec) });
 * wal.log([encodeSeries(...), encodeSamples(...)]);
 * await wal.close();
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { nopLogger, type Logger } from "../../log/index.ts";
import { Registry, type Counter, type Gauge, type Histogram } from "../../model/index.ts";
import { crc32c } from "./crc32c.ts";

/** Bytes per page; fragments never cross a page boundary. */
export const PAGE_SIZE = 32 * 1024;
/** Default maximum segment size (Prometheus's default). */
export const DEFAULT_SEGMENT_SIZE = 128 * 1024 * 1024;
/** Fragment header: type, big-endian length, big-endian CRC32C. */
export const RECORD_HEADER_SIZE = 7;

const enum FragmentType { PageTerm = 0, Full = 1, First = 2, Middle = 3, Last = 4 }
/** Bits of the type byte Prometheus sets for snappy (0x08) and zstd (0x10) compressed records. */
const COMPRESSION_FLAGS = 0x18;

/** Where a corrupt or torn record starts. */
export class CorruptionError extends Error {
  constructor(readonly dir: string, readonly segment: number, readonly offset: number, reason: string) {
    super(`corruption in WAL segment ${join(dir, segmentName(segment))} at offset ${offset}: ${reason}`);
  }
}

/** Descriptions of write errors as the C library gives them (what Prometheus's Go errors print). */
const ERRNO_TEXT: Record<string, string> = {
  ENOSPC: "no space left on device",
  EIO: "input/output error",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EFBIG: "file too large",
  EBADF: "bad file descriptor",
};

/** What a failed system call's error says, as Go prints it ("no space left on device"). */
export function ioErrorText(cause: unknown): string {
  const code = (cause as { code?: string })?.code ?? "";
  return ERRNO_TEXT[code] ?? (cause as Error)?.message ?? String(cause);
}

/** A failed WAL write (disk full, I/O error, …): the records were not logged. */
export class WALWriteError extends Error {
  readonly code: string;
  constructor(path: string, cause: unknown) {
    const code = (cause as { code?: string })?.code ?? "";
    super(`write to WAL: write ${path}: ${ioErrorText(cause)}`);
    this.name = "WALWriteError";
    this.code = code;
  }
}

/** Writes bytes to a file descriptor; the WAL's only way to write (tests inject faults through it). */
export type WriteFn = (fd: number, buf: Uint8Array, offset: number, length: number) => number;

/** Segment file name: the index as 8 zero-padded decimal digits. */
export function segmentName(i: number): string {
  return String(i).padStart(8, "0");
}

/** Sorted indices of the segment files in `dir`. */
export function listSegments(dir: string): number[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => /^\d{8}$/.test(f)).map(Number).sort((a, b) => a - b);
}

/** The newest complete checkpoint in `dir` (`checkpoint.NNNNNNNN`), if any. */
export function lastCheckpoint(dir: string): { dir: string; index: number } | null {
  if (!existsSync(dir)) return null;
  let best = -1;
  for (const f of readdirSync(dir)) {
    const m = /^checkpoint\.(\d{8})$/.exec(f);
    if (m && Number(m[1]) > best) best = Number(m[1]);
  }
  return best < 0 ? null : { dir: join(dir, `checkpoint.${segmentName(best)}`), index: best };
}

/**
 * Calls `onRecord` for every record of segment `segment` in `dir`.
 * Returns the byte offset after the last good record, or throws a
 * CorruptionError naming the first bad record's offset.
 */
export function readSegment(dir: string, segment: number, onRecord: (rec: Uint8Array) => void): number {
  const records = segmentRecords(asBytes(readFileSync(join(dir, segmentName(segment)))), dir, segment);
  for (;;) {
    const next = records.next();
    if (next.done) return next.value;
    onRecord(next.value);
  }
}

/** The bytes of segment `segment` in `dir`, read without blocking the event loop. */
export async function readSegmentBytes(dir: string, segment: number): Promise<Uint8Array> {
  return asBytes(await readFile(join(dir, segmentName(segment))));
}

/** A plain Uint8Array view of a Buffer's bytes (copying with `new Uint8Array(buffer)` goes element by element). */
function asBytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * The records of one segment's bytes (`dir` and `segment` only name it in
 * errors), one at a time, so callers can pause between them. Records may be
 * views into `data`. Returns the offset after the last good record; throws a
 * CorruptionError at the first bad one.
 *
 * `base` is the segment offset `data` starts at (a record boundary), for
 * readers that tail a segment; offsets returned and reported are segment
 * offsets.
 *
 * @example
 * for (const rec of segmentRecords(await readSegmentBytes(dir, 3), dir, 3)) handle(rec);
 */
export function* segmentRecords(data: Uint8Array, dir: string, segment: number, base = 0): Generator<Uint8Array, number, undefined> {
  let pos = 0;
  let recStart = 0;
  let parts: Uint8Array[] = [];
  let inRecord = false;
  const fail = (at: number, reason: string): never => {
    throw new CorruptionError(dir, segment, base + at, reason);
  };
  while (pos < data.length) {
    const pageEnd = (Math.floor((base + pos) / PAGE_SIZE) + 1) * PAGE_SIZE - base;
    const typeByte = data[pos]!;
    const type = typeByte & ~COMPRESSION_FLAGS;
    if (typeByte === FragmentType.PageTerm) {
      const end = Math.min(pageEnd, data.length);
      for (let i = pos; i < end; i++) if (data[i] !== 0) fail(inRecord ? recStart : pos, "unexpected non-zero byte in padded page");
      pos = end;
      continue;
    }
    const at = inRecord ? recStart : pos;
    if (type === FragmentType.PageTerm || type > FragmentType.Last) fail(at, `invalid record type ${typeByte}`);
    if (pos + RECORD_HEADER_SIZE > pageEnd || pos + RECORD_HEADER_SIZE > data.length) fail(at, "torn record header");
    const len = (data[pos + 1]! << 8) | data[pos + 2]!;
    const crc = ((data[pos + 3]! << 24) | (data[pos + 4]! << 16) | (data[pos + 5]! << 8) | data[pos + 6]!) >>> 0;
    const start = pos + RECORD_HEADER_SIZE, end = start + len;
    if (end > pageEnd) fail(at, "record fragment crosses a page boundary");
    if (end > data.length) fail(at, "unexpected end of segment inside a record");
    if (crc32c(data, start, end) !== crc) fail(at, "checksum mismatch");
    if (typeByte & COMPRESSION_FLAGS) {
      // A genuine (checksummed) compressed record, as Prometheus writes with --storage.tsdb.wal-compression: refuse rather than "repair" it away.
      throw new Error(`WAL segment ${join(dir, segmentName(segment))} has a compressed record at offset ${pos}; compressed WALs are not supported`);
    }
    const frag = data.subarray(start, end);
    if (type === FragmentType.Full || type === FragmentType.First) {
      if (inRecord) fail(recStart, "record started before the previous one ended");
      recStart = pos;
    } else if (!inRecord) {
      fail(pos, "record continuation without a start");
    }
    pos = end;
    if (type === FragmentType.Full) {
      yield frag;
    } else if (type === FragmentType.First) {
      inRecord = true;
      parts = [frag];
    } else if (type === FragmentType.Middle) {
      parts.push(frag);
    } else {
      parts.push(frag);
      inRecord = false;
      let total = 0;
      for (const p of parts) total += p.length;
      const rec = new Uint8Array(total);
      let o = 0;
      for (const p of parts) { rec.set(p, o); o += p.length; }
      parts = [];
      yield rec;
    }
  }
  if (inRecord) fail(recStart, "unexpected end of segment inside a record");
  return base + pos;
}

/** Reads every record of every segment in `dir` (a checkpoint); corruption throws. */
export function readAll(dir: string, onRecord: (rec: Uint8Array) => void): void {
  for (const s of listSegments(dir)) readSegment(dir, s, onRecord);
}

/** The WAL's self-metrics, registered with Prometheus's names. */
export interface WALMetrics {
  fsyncDuration: Histogram;
  pageFlushes: Counter;
  completedPages: Counter;
  truncations: Counter;
  corruptions: Counter;
  writesFailed: Counter;
  segmentCurrent: Gauge;
}

/** Registers the WAL metrics in `reg`. */
export function registerWALMetrics(reg: Registry): WALMetrics {
  return {
    fsyncDuration: reg.histogram("prometheus_tsdb_wal_fsync_duration_seconds", "Duration of write log fsync.", [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1]),
    pageFlushes: reg.counter("prometheus_tsdb_wal_page_flushes_total", "Total number of page flushes."),
    completedPages: reg.counter("prometheus_tsdb_wal_completed_pages_total", "Total number of completed pages."),
    truncations: reg.counter("prometheus_tsdb_wal_truncations_total", "Total number of write log truncations attempted."),
    corruptions: reg.counter("prometheus_tsdb_wal_corruptions_total", "Total number of WAL corruptions."),
    writesFailed: reg.counter("prometheus_tsdb_wal_writes_failed_total", "Total number of write log writes that failed."),
    segmentCurrent: reg.gauge("prometheus_tsdb_wal_segment_current", "Write log segment index that TSDB is currently writing to."),
  };
}

/** How to open a {@link WAL}. */
export interface WALOptions {
  dir: string;
  logger?: Logger;
  /** Metrics to update; fresh unregistered ones when omitted. */
  metrics?: WALMetrics;
  segmentSize?: number;
  /** Replaces write(2) for fault-injection tests. */
  writeFn?: WriteFn;
  /**
   * Called for each record found on open: the newest checkpoint's records
   * first (with `fromCheckpoint` true), then the later segments'.
   */
  onRecord?: (rec: Uint8Array, fromCheckpoint: boolean) => void;
}

/** Largest encode buffer log() keeps between calls. */
const MAX_KEPT_OUT_BYTES = 1 << 20;

/** The append side of the log plus segment management for checkpoints. */
export class WAL {
  readonly dir: string;
  private readonly logger: Logger;
  readonly metrics: WALMetrics;
  private readonly segmentSize: number;
  private fd = -1;
  private segment = -1;
  private size = 0; // bytes written to the current segment
  private closed = false;
  private readonly frame: Uint8Array;
  private out = new Uint8Array(2 * PAGE_SIZE); // reused encode buffer
  private readonly writeFn: WriteFn;
  /**
   * Records of a log() whose write failed, copied: they are written before
   * anything else once writing works again, so the log never misses what the
   * caller already applied in memory.
   */
  private pending: Uint8Array[] = [];
  /** Set while a failed write's partial bytes could not be cut off; nothing is written until they are. */
  private tornAt = -1;

  private constructor(opts: WALOptions) {
    this.dir = opts.dir;
    this.logger = opts.logger ?? nopLogger;
    this.metrics = opts.metrics ?? registerWALMetrics(new Registry());
    this.segmentSize = opts.segmentSize ?? DEFAULT_SEGMENT_SIZE;
    if (this.segmentSize < PAGE_SIZE || this.segmentSize % PAGE_SIZE !== 0) {
      throw new Error(`WAL segment size ${this.segmentSize} must be a positive multiple of ${PAGE_SIZE}`);
    }
    this.frame = new Uint8Array(PAGE_SIZE);
    this.writeFn = opts.writeFn ?? writeSync;
  }

  /** Opens (creating if needed) the log in `opts.dir`, replaying it through `onRecord`. */
  static async open(opts: WALOptions): Promise<WAL> {
    const wal = new WAL(opts);
    mkdirSync(wal.dir, { recursive: true });
    wal.removeTempCheckpoints();
    wal.replay(opts.onRecord ?? (() => {}));
    const segs = listSegments(wal.dir);
    const cp = lastCheckpoint(wal.dir);
    wal.openSegment(Math.max(segs.length ? segs[segs.length - 1]! : -1, cp ? cp.index : -1) + 1);
    return wal;
  }

  /** Deletes `checkpoint.N.tmp` directories a crash left behind while writing a checkpoint. */
  private removeTempCheckpoints(): void {
    for (const f of readdirSync(this.dir)) {
      if (!/^checkpoint\.\d{8}\.tmp$/.test(f)) continue;
      this.logger.info("Deleting leftover temporary WAL checkpoint", { dir: join(this.dir, f) });
      rmSync(join(this.dir, f), { recursive: true, force: true });
    }
  }

  private replay(onRecord: (rec: Uint8Array, fromCheckpoint: boolean) => void): void {
    const cp = lastCheckpoint(this.dir);
    if (cp) {
      try {
        readAll(cp.dir, (rec) => onRecord(rec, true));
      } catch (e) {
        throw new Error(`reading WAL checkpoint ${cp.dir}: ${(e as Error).message}`);
      }
    }
    const segs = listSegments(this.dir).filter((s) => !cp || s > cp.index);
    for (let i = 0; i < segs.length; i++) {
      const s = segs[i]!;
      if (i > 0 && s !== segs[i - 1]! + 1) {
        this.logger.warn("WAL has a gap between segments; ignoring the later ones", { after: segs[i - 1], next: s });
        this.dropSegments(segs.slice(i));
        return;
      }
      try {
        readSegment(this.dir, s, (rec) => onRecord(rec, false));
        this.logger.info("WAL segment loaded", { segment: s, maxSegment: segs[segs.length - 1] });
      } catch (e) {
        if (!(e instanceof CorruptionError)) throw e;
        this.metrics.corruptions.inc();
        this.logger.warn("Encountered WAL read error, attempting repair", { err: e.message, segment: s, offset: e.offset });
        this.repair(s, e.offset, segs.slice(i + 1));
        return;
      }
    }
  }

  /** Cuts segment `s` at `offset` and deletes the segments after it. */
  private repair(s: number, offset: number, later: number[]): void {
    this.dropSegments(later);
    const fd = openSync(join(this.dir, segmentName(s)), "r+");
    try {
      ftruncateSync(fd, offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.logger.warn("WAL repaired: truncated corrupt tail", { segment: s, offset, deletedSegments: later.length });
  }

  private dropSegments(segs: number[]): void {
    for (const s of segs) rmSync(join(this.dir, segmentName(s)), { force: true });
  }

  private openSegment(i: number): void {
    this.segment = i;
    this.size = 0;
    this.fd = openSync(join(this.dir, segmentName(i)), "a");
    this.metrics.segmentCurrent.set(i);
  }

  private finishSegment(): void {
    if (this.fd < 0) return;
    const start = performance.now();
    try {
      fsyncSync(this.fd);
    } catch (e) {
      // The records are in the kernel's cache; a failed fsync (EIO) is reported, not fatal to the process.
      this.metrics.writesFailed.inc();
      this.logger.error("fsync of WAL segment failed", { segment: this.segment, err: e });
    } finally {
      closeSync(this.fd);
      this.fd = -1;
    }
    this.metrics.fsyncDuration.observe((performance.now() - start) / 1000);
  }

  /** Index of the segment being written. */
  currentSegment(): number {
    return this.segment;
  }

  /**
   * Completes the current segment and starts the next; returns the index of
   * the completed one. Checkpointing calls this so the segments it folds are
   * immutable.
   */
  nextSegment(): number {
    this.assertOpen();
    const done = this.segment;
    this.finishSegment();
    try {
      this.openSegment(done + 1);
    } catch (e) {
      // Opened again by the next write; until then writes fail.
      this.logger.error("Cannot create WAL segment", { segment: done + 1, err: e });
    }
    return done;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("WAL is closed");
  }

  /** Bytes a record of `len` bytes takes when written at segment offset `at` (fragment headers and page padding included). */
  private static encodedSize(at: number, len: number): number {
    let pos = at, left = len, first = true;
    while (first || left > 0) {
      const room = PAGE_SIZE - (pos % PAGE_SIZE);
      if (room < RECORD_HEADER_SIZE + 1) { pos += room; continue; }
      const n = Math.min(left, room - RECORD_HEADER_SIZE);
      pos += RECORD_HEADER_SIZE + n;
      left -= n;
      first = false;
    }
    return pos - at;
  }

  /**
   * Appends records with one write(2) per segment touched (normally one).
   * Throws when the write fails; the caller must treat the records as not logged.
   */
  log(records: readonly Uint8Array[]): void {
    this.assertOpen();
    try {
      this.flushPending();
    } catch (err) {
      for (const r of records) this.pending.push(r.slice());
      throw err;
    }
    try {
      this.logRecords(records);
    } catch (err) {
      for (const r of records) this.pending.push(r.slice());
      throw err;
    }
  }

  /** Whether records of a failed write are still waiting to be written. */
  hasPending(): boolean {
    return this.pending.length > 0 || this.tornAt >= 0;
  }

  /**
   * Writes the records a failed write left behind. Throws WALWriteError while
   * writing still fails; callers that must not apply anything the log does not
   * hold (the head's appends) call it first and refuse their work when it throws.
   */
  flushPending(): void {
    this.assertOpen();
    if (this.tornAt >= 0) this.cutTornTail();
    if (this.pending.length === 0) return;
    const recs = this.pending;
    this.logRecords(recs);
    this.pending = [];
  }

  private logRecords(records: readonly Uint8Array[]): void {
    let out = this.out;
    let len = 0, pos = this.size;
    const flush = () => {
      if (len > 0) this.write(out.subarray(0, len));
      len = 0;
    };
    for (const rec of records) {
      const need = WAL.encodedSize(pos, rec.length);
      if (pos + need > this.segmentSize && pos > 0) {
        flush();
        this.padAndRotate();
        pos = 0;
      }
      if (len + WAL.encodedSize(pos, rec.length) > out.length) {
        const bigger = new Uint8Array((len + WAL.encodedSize(pos, rec.length)) * 2);
        bigger.set(out.subarray(0, len));
        out = this.out = bigger;
      }
      let off = 0, first = true;
      while (first || off < rec.length) {
        const room = PAGE_SIZE - (pos % PAGE_SIZE);
        if (room < RECORD_HEADER_SIZE + 1) {
          out.fill(0, len, len + room);
          len += room; pos += room;
          this.metrics.completedPages.inc();
          continue;
        }
        const n = Math.min(rec.length - off, room - RECORD_HEADER_SIZE);
        const last = off + n === rec.length;
        const type = first ? (last ? FragmentType.Full : FragmentType.First) : last ? FragmentType.Last : FragmentType.Middle;
        const crc = crc32c(rec, off, off + n);
        out[len] = type;
        out[len + 1] = n >>> 8; out[len + 2] = n & 0xff;
        out[len + 3] = crc >>> 24; out[len + 4] = (crc >>> 16) & 0xff; out[len + 5] = (crc >>> 8) & 0xff; out[len + 6] = crc & 0xff;
        out.set(rec.subarray(off, off + n), len + RECORD_HEADER_SIZE);
        len += RECORD_HEADER_SIZE + n; pos += RECORD_HEADER_SIZE + n; off += n;
        if (pos % PAGE_SIZE === 0) this.metrics.completedPages.inc();
        first = false;
      }
    }
    flush();
    // A burst (thousands of new series in one call) grows the buffer; do not hold that size forever.
    if (this.out.length > MAX_KEPT_OUT_BYTES) this.out = new Uint8Array(2 * PAGE_SIZE);
  }

  private write(bytes: Uint8Array): void {
    const path = join(this.dir, segmentName(this.segment));
    if (this.fd < 0) {
      // The segment could not be opened after a rotation: try again.
      try {
        this.openSegment(this.segment);
      } catch (e) {
        this.metrics.writesFailed.inc();
        throw new WALWriteError(path, e);
      }
    }
    try {
      let done = 0;
      while (done < bytes.length) done += this.writeFn(this.fd, bytes, done, bytes.length - done);
    } catch (e) {
      this.metrics.writesFailed.inc();
      // Part of the bytes may be in the file: cut them off so no later record follows a partial one.
      this.tornAt = this.size;
      this.cutTornTail();
      throw new WALWriteError(path, e);
    }
    this.size += bytes.length;
    this.metrics.pageFlushes.inc();
  }

  /** Truncates the segment back to the end of its last whole record; keeps `tornAt` set when that fails. */
  private cutTornTail(): void {
    if (this.tornAt < 0 || this.fd < 0) return;
    try {
      ftruncateSync(this.fd, this.tornAt);
      this.size = this.tornAt;
      this.tornAt = -1;
    } catch (e) {
      this.logger.error("Cannot cut a partly written WAL record; writes are refused until it is cut", { segment: this.segment, offset: this.tornAt, err: e });
      throw new WALWriteError(join(this.dir, segmentName(this.segment)), e);
    }
  }

  /** Zero-pads the current page so the segment ends on a page boundary, then rotates. */
  private padAndRotate(): void {
    const room = this.size % PAGE_SIZE === 0 ? 0 : PAGE_SIZE - (this.size % PAGE_SIZE);
    if (room > 0) {
      this.write(this.frame.subarray(0, room).fill(0));
      this.metrics.completedPages.inc();
    }
    this.nextSegment();
  }

  /** Deletes segments with index < `before` (they are folded into a checkpoint). */
  truncate(before: number): void {
    this.metrics.truncations.inc();
    this.dropSegments(listSegments(this.dir).filter((s) => s < before));
  }

  /** Syncs and closes the open segment. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.hasPending()) {
      try {
        this.flushPending();
      } catch (err) {
        this.logger.error("WAL records could not be written before closing", { records: this.pending.length, err });
      }
    }
    this.finishSegment();
    this.closed = true;
  }
}

/**
 * Writes a checkpoint atomically: records go to `checkpoint.NNNNNNNN.tmp`,
 * which is synced and renamed into place; older checkpoints are removed.
 * `index` is the last segment the checkpoint covers.
 */
export async function writeCheckpoint(walDir: string, index: number, produce: (log: (recs: readonly Uint8Array[]) => void) => void | Promise<void>, writeFn?: WriteFn): Promise<string> {
  const final = join(walDir, `checkpoint.${segmentName(index)}`);
  const tmp = final + ".tmp";
  rmSync(tmp, { recursive: true, force: true });
  try {
    const cp = await WAL.open({ dir: tmp, writeFn });
    try {
      await produce((recs) => cp.log(recs));
    } finally {
      await cp.close();
    }
  } catch (err) {
    // A failed checkpoint (disk full, I/O error) leaves the segments it would fold in place.
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  const dfd = openSync(walDir, "r");
  try { fsyncSync(dfd); } catch { /* directory fsync is not supported everywhere */ } finally { closeSync(dfd); }
  for (const f of readdirSync(walDir)) {
    const m = /^checkpoint\.(\d{8})(\.tmp)?$/.exec(f);
    if (m && Number(m[1]) < index) rmSync(join(walDir, f), { recursive: true, force: true });
  }
  return final;
}

/** Size in bytes of all files of the log (segments and checkpoint). */
export function walSize(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      const st = statSync(p);
      total += st.isDirectory() ? (walk(p), 0) : st.size;
    }
  };
  if (existsSync(dir)) walk(dir);
  return total;
}
