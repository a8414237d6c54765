/**
 * Tails the head's write-ahead log for remote write, read-only: series
 * records fill a ref → labels map, samples records are handed on with the
 * WAL position just after them, so a queue can persist how far it has sent
 * and resume there after a restart. The queue keeps no copy of the data:
 * the WAL is the buffer.
 *
 * When the segment being read has been folded into a checkpoint (the head
 * truncated while the endpoint was down), the watcher reads the
 * checkpoint's samples newer than a given time and carries on with the
 * first segment after it.
 *
 * @example
 * const w = new WALWatcher("data/wal", logger);
 * w.start(savedPosition);
 * w.read(10_000, (batch, pos) => enqueue(batch, pos));
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { nopLogger, type Logger } from "../log/index.ts";
import type { Labels } from "../model/index.ts";
import { WorkSlicer } from "../tsdb/index.ts";
import {
  CorruptionError,
  decodeSamples,
  decodeSeries,
  lastCheckpoint,
  listSegments,
  readAll,
  RecordType,
  segmentName,
  segmentRecords,
  type SamplesRecord,
} from "../tsdb/wal/index.ts";

/** A place in the WAL: a segment and a byte offset at a record boundary. */
export interface WALPosition {
  segment: number;
  offset: number;
}

/** Compares positions: negative when a is before b. */
export function comparePositions(a: WALPosition, b: WALPosition): number {
  return a.segment !== b.segment ? a.segment - b.segment : a.offset - b.offset;
}

/** Bytes read from a segment at a time; doubled for a record that does not fit. */
const MAX_READ = 1 << 20;
/** Bytes read at a time while loading series at startup. */
const STARTUP_READ = 4 << 20;

export class WALWatcher {
  /** Labels of every series seen, by head ref. */
  readonly series = new Map<number, Labels>();
  private pos: WALPosition = { segment: 0, offset: 0 };
  private readSize = MAX_READ;

  constructor(readonly dir: string, private readonly logger: Logger = nopLogger) {}

  /** Where the next read starts. */
  position(): WALPosition {
    return { ...this.pos };
  }

  /**
   * Loads every series record (checkpoint and segments) and sets the read
   * position: `from` when given (a persisted position), else the end of the
   * WAL, so a new queue sends only what is appended from now on.
   */
  start(from?: WALPosition): void {
    const cp = lastCheckpoint(this.dir);
    if (cp) readAll(cp.dir, (rec) => this.onSeries(rec));
    let end: WALPosition = { segment: cp ? cp.index + 1 : 0, offset: 0 };
    for (const seg of listSegments(this.dir)) {
      if (cp && seg <= cp.index) continue;
      const size = this.scanRecords(seg, 0, (rec) => {
        this.onSeries(rec);
        return true;
      }, Number.MAX_SAFE_INTEGER);
      end = { segment: seg, offset: size };
    }
    this.pos = from ?? end;
  }

  /**
   * {@link start} in ~10 ms slices: a large WAL (a long outage's backlog,
   * segments of 128 MB) is read in 4 MiB pieces, yielding to the event loop
   * between slices, so the server keeps answering while a queue starts.
   */
  async startAsync(from?: WALPosition, slicer = new WorkSlicer()): Promise<void> {
    const cp = lastCheckpoint(this.dir);
    if (cp) for (const seg of listSegments(cp.dir)) await this.loadSeries(cp.dir, seg, slicer);
    let end: WALPosition = { segment: cp ? cp.index + 1 : 0, offset: 0 };
    for (const seg of listSegments(this.dir)) {
      if (cp && seg <= cp.index) continue;
      end = { segment: seg, offset: await this.loadSeries(this.dir, seg, slicer) };
    }
    this.pos = from ?? end;
  }

  /** Reads the series records of one segment in slices; returns the offset after its last complete record. */
  private async loadSeries(dir: string, seg: number, slicer: WorkSlicer): Promise<number> {
    const size = segmentSize(dir, seg);
    let offset = 0;
    let chunk = STARTUP_READ;
    while (offset < size) {
      const end = scanRecordsIn(dir, seg, offset, (rec) => {
        this.onSeries(rec);
        return !slicer.due();
      }, chunk);
      if (end === offset) {
        // A record larger than the piece read (or a torn tail): read more, up to the rest of the segment.
        if (chunk >= size - offset) break;
        chunk *= 2;
        continue;
      }
      offset = end;
      chunk = STARTUP_READ;
      if (slicer.due()) await slicer.yield();
    }
    return offset;
  }

  private onSeries(rec: Uint8Array): void {
    if (rec[0] !== RecordType.Series) return;
    for (const s of decodeSeries(rec)) this.series.set(s.ref, s.labels);
  }

  /**
   * Reads samples records from the position on, at most `maxSamples`
   * samples (whole records), and calls `onSamples` with each record's
   * samples whose series are known and the position after the record.
   * Returns the number of samples handed on.
   */
  read(maxSamples: number, onSamples: (rec: SamplesRecord, after: WALPosition) => void, checkpointSamplesAfter = -Infinity): number {
    let handed = 0;
    for (let guard = 0; guard < 64 && handed < maxSamples; guard++) {
      const segs = listSegments(this.dir);
      const cp = lastCheckpoint(this.dir);
      if (cp && this.pos.segment <= cp.index) {
        // The segments we were reading were folded into a checkpoint: take its newer samples, then go on after it.
        this.logger.warn("Remote write fell behind a WAL checkpoint; resending the checkpoint's newer samples", { checkpoint: cp.dir, segment: this.pos.segment });
        readAll(cp.dir, (rec) => {
          if (rec[0] === RecordType.Series) return this.onSeries(rec);
          if (rec[0] !== RecordType.Samples) return;
          const s = decodeSamples(rec);
          let n = 0;
          for (let i = 0; i < s.length; i++) {
            if (s.t[i]! > checkpointSamplesAfter) {
              s.refs[n] = s.refs[i]!;
              s.t[n] = s.t[i]!;
              copyBits(s.v, i, n);
              n++;
            }
          }
          s.length = n;
          if (n > 0) onSamples(s, { segment: cp.index + 1, offset: 0 });
          handed += n;
        });
        this.pos = { segment: cp.index + 1, offset: 0 };
        continue;
      }
      const start = this.pos.offset;
      const seg = this.pos.segment;
      let stop = false;
      const end = this.scanRecords(seg, start, (rec, after) => {
        if (rec[0] === RecordType.Series) {
          this.onSeries(rec);
        } else if (rec[0] === RecordType.Samples) {
          const s = decodeSamples(rec);
          handed += s.length;
          onSamples(s, { segment: seg, offset: after });
        }
        this.pos = { segment: seg, offset: after };
        if (handed >= maxSamples) stop = true;
        return !stop;
      });
      this.pos = { segment: seg, offset: end };
      if (stop) break;
      const newer = segs.find((s) => s > seg);
      if (newer === undefined) break;
      // The segment is complete once a newer one exists; move on when everything in it was read.
      const size = segmentSize(this.dir, seg);
      if (end >= size || size < 0) {
        this.pos = { segment: newer, offset: 0 };
        this.readSize = MAX_READ;
      } else if (end === start) {
        if (this.readSize < 1 << 30) {
          this.readSize *= 2;
          continue;
        }
        this.logger.warn("Skipping unreadable rest of a completed WAL segment", { segment: seg, offset: end });
        this.pos = { segment: newer, offset: 0 };
      } else {
        break;
      }
    }
    return handed;
  }

  /** Like scan, but with exact record ends: records are re-framed one at a time. */
  private scanRecords(seg: number, offset: number, onRecord: (rec: Uint8Array, after: number) => boolean, maxBytes = this.readSize): number {
    return scanRecordsIn(this.dir, seg, offset, onRecord, maxBytes);
  }
}

/** Reads up to `maxBytes` of segment `seg` of `dir` from `offset` and walks its complete records (see forEachRecordWithEnd). */
function scanRecordsIn(dir: string, seg: number, offset: number, onRecord: (rec: Uint8Array, after: number) => boolean, maxBytes: number): number {
  const file = join(dir, segmentName(seg));
  if (!existsSync(file)) return offset;
  const fd = openSync(file, "r");
  let data: Uint8Array;
  try {
    const size = fstatSync(fd).size;
    const n = Math.max(0, Math.min(size - offset, maxBytes));
    data = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const r = readSync(fd, data, got, n - got, offset + got);
      if (r <= 0) break;
      got += r;
    }
    data = data.subarray(0, got);
  } finally {
    closeSync(fd);
  }
  return forEachRecordWithEnd(data, dir, seg, offset, onRecord);
}

function copyBits(v: Float64Array, from: number, to: number): void {
  const w = new Uint32Array(v.buffer, v.byteOffset, v.length * 2);
  w[2 * to] = w[2 * from]!;
  w[2 * to + 1] = w[2 * from + 1]!;
}

function segmentSize(dir: string, seg: number): number {
  const file = join(dir, segmentName(seg));
  if (!existsSync(file)) return -1;
  const fd = openSync(file, "r");
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

/**
 * Calls `onRecord(rec, endOffset)` for each complete record of `data`
 * (segment bytes from `base`), stopping when it returns false; returns the
 * segment offset after the last record handed on. A record still being
 * written at the end stops the walk without error.
 */
export function forEachRecordWithEnd(data: Uint8Array, dir: string, seg: number, base: number, onRecord: (rec: Uint8Array, after: number) => boolean): number {
  // segmentRecords reports where it stopped only at the end; a record's end is where the
  // generator's next call starts. Record ends are found by walking fragment headers.
  let pos = 0;
  const records = segmentRecords(data, dir, seg, base);
  for (;;) {
    let next: IteratorResult<Uint8Array, number>;
    try {
      next = records.next();
    } catch (err) {
      if (err instanceof CorruptionError) return err.offset;
      throw err;
    }
    if (next.done) return next.value;
    pos = recordEnd(data, pos, base);
    if (!onRecord(next.value, base + pos)) return base + pos;
  }
}

/** The offset (in `data`) just after the record starting at or after `pos` (skipping page padding). */
function recordEnd(data: Uint8Array, pos: number, base: number): number {
  const PAGE = 32 * 1024;
  for (;;) {
    const type = data[pos]! & ~0x18;
    if (type === 0) {
      pos = Math.floor((base + pos) / PAGE + 1) * PAGE - base;
      continue;
    }
    const len = (data[pos + 1]! << 8) | data[pos + 2]!;
    pos += 7 + len;
    if (type === 1 || type === 4) return pos;
  }
}
