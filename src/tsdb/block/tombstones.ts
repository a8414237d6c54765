/**
 * The `tombstones` file of a block: magic 0x0130BA30, version 1, then one
 * entry per deleted interval (series ref uvarint, mint varint, maxt
 * varint), then CRC32C of the entries. Blocks are written with an empty
 * one; `delete_series` rewrites it (see Block.delete).
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import type { SampleBatch } from "../types.ts";
import { crc32c } from "../wal/index.ts";
import { BlockFormatError, ByteReader, ByteWriter, readBe32 } from "./encoding.ts";

/** File name of a block's tombstones. */
export const TOMBSTONES_FILENAME = "tombstones";
/** Magic number at the start of a tombstones file. */
export const TOMBSTONES_MAGIC = 0x0130ba30;

/** A deleted time range [mint, maxt] of one series. */
export interface Tombstone {
  seriesRef: number;
  mint: number;
  maxt: number;
}

/** The 9 bytes of a tombstones file without entries. */
export function encodeEmptyTombstones(): Uint8Array {
  const w = new ByteWriter(16);
  w.be32(TOMBSTONES_MAGIC);
  w.u8(1);
  w.be32(crc32c(new Uint8Array(0)));
  return w.bytes().slice();
}

/** Reads a tombstones file; a missing file means no tombstones. */
export function readTombstones(path: string): Tombstone[] {
  let b: Uint8Array;
  try {
    b = readFileSync(path);
  } catch {
    return [];
  }
  if (b.length < 9 || readBe32(b, 0) !== TOMBSTONES_MAGIC) throw new BlockFormatError(`${path}: bad magic number`);
  if (b[4] !== 1) throw new BlockFormatError(`${path}: unsupported tombstones version ${b[4]}`);
  const end = b.length - 4;
  if (crc32c(b, 5, end) !== readBe32(b, end)) throw new BlockFormatError(`${path}: checksum mismatch`);
  const r = new ByteReader(b, 5, end, path);
  const out: Tombstone[] = [];
  while (r.remaining() > 0) out.push({ seriesRef: r.uvarint(), mint: r.varint(), maxt: r.varint() });
  return out;
}

/** Deleted intervals [mint, maxt] of one series, sorted and non-overlapping. */
export type Intervals = readonly (readonly [number, number])[];

/**
 * Adds [mint, maxt] to sorted, disjoint intervals, merging those it
 * overlaps or touches (as Prometheus's Intervals.Add); returns a new list.
 *
 * @example
 * addInterval([[0, 5], [10, 20]], [6, 9]); // [[0, 20]]
 */
export function addInterval(list: Intervals | undefined, mint: number, maxt: number): [number, number][] {
  const out: [number, number][] = [];
  let lo = mint, hi = maxt;
  let placed = false;
  for (const [a, b] of list ?? []) {
    if (b + 1 < lo) out.push([a, b]);
    else if (a > hi + 1) {
      if (!placed) {
        out.push([lo, hi]);
        placed = true;
      }
      out.push([a, b]);
    } else {
      lo = Math.min(lo, a);
      hi = Math.max(hi, b);
    }
  }
  if (!placed) out.push([lo, hi]);
  return out.sort((x, y) => x[0] - y[0]);
}

/** Whether [mint, maxt] lies inside one of the intervals (Prometheus's IsSubrange). */
export function coveredBy(mint: number, maxt: number, list: Intervals): boolean {
  for (const [a, b] of list) if (a <= mint && maxt <= b) return true;
  return false;
}

/** Encodes a tombstones file for series ref → intervals (refs written in increasing order). */
export function encodeTombstones(stones: ReadonlyMap<number, Intervals>): Uint8Array {
  const w = new ByteWriter(64);
  w.be32(TOMBSTONES_MAGIC);
  w.u8(1);
  for (const ref of [...stones.keys()].sort((a, b) => a - b)) {
    for (const [a, b] of stones.get(ref)!) {
      w.uvarint(ref);
      w.varint(a);
      w.varint(b);
    }
  }
  const body = w.bytes();
  w.be32(crc32c(body, 5, body.length));
  return w.bytes().slice();
}

/** Replaces the tombstones file at `path` (temporary file, then rename). */
export function writeTombstones(path: string, stones: ReadonlyMap<number, Intervals>): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, encodeTombstones(stones));
  renameSync(tmp, path);
}

/** Removes samples inside deleted intervals. */
export function applyTombstones(batch: SampleBatch, intervals: Intervals): SampleBatch {
  const t = new Float64Array(batch.length), v = new Float64Array(batch.length);
  // Values copied as words so NaN payloads (staleness markers) survive.
  const from = new Uint32Array(batch.v.buffer, batch.v.byteOffset, batch.length * 2), to = new Uint32Array(v.buffer);
  let n = 0;
  outer: for (let i = 0; i < batch.length; i++) {
    const ts = batch.t[i]!;
    for (const [a, b] of intervals) if (ts >= a && ts <= b) continue outer;
    t[n] = ts;
    to[2 * n] = from[2 * i]!;
    to[2 * n + 1] = from[2 * i + 1]!;
    n++;
  }
  return { t: t.subarray(0, n), v: v.subarray(0, n), length: n };
}
