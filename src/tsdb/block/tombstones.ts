/**
 * The `tombstones` file of a block: magic 0x0130BA30, version 1, then
 * entries (series ref uvarint, interval count uvarint, intervals as varint
 * mint/maxt), then CRC32C of the entries. promts never deletes series, so it
 * writes the file empty; reading reports how many series have deletions.
 */
import { readFileSync } from "node:fs";
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
  while (r.remaining() > 0) {
    const seriesRef = r.uvarint();
    const n = r.uvarint();
    for (let i = 0; i < n; i++) out.push({ seriesRef, mint: r.varint(), maxt: r.varint() });
  }
  return out;
}
