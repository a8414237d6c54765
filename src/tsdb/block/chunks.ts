/**
 * Chunk segment files (`<block>/chunks/000001`, …) in Prometheus's format:
 * an 8-byte header (magic 0x85BD40DD, version 1, 3 bytes padding), then
 * chunks as `uvarint len | encoding byte | data | CRC32C(encoding, data)`.
 * A chunk reference is `segmentIndex << 32 | offset`, the segment index
 * counting from 0 for file 000001.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, writeSync } from "node:fs";
import { join } from "node:path";
import { crc32c, type WriteFn } from "../wal/index.ts";
import { BlockFormatError, ByteReader, ByteWriter, readBe32 } from "./encoding.ts";

/** Magic number at the start of every chunk segment file. */
export const CHUNKS_MAGIC = 0x85bd40dd;
/** The only chunk encoding promts reads and writes: XOR floats. */
export const ENCODING_XOR = 1;
/** Segments are cut before they exceed this size, as in Prometheus. */
export const DEFAULT_SEGMENT_SIZE = 512 * 1024 * 1024;
const SEGMENT_HEADER_SIZE = 8;
const FLUSH_THRESHOLD = 1 << 20;
const SEGMENT_FACTOR = 0x100000000;

function segmentName(index: number): string {
  return String(index + 1).padStart(6, "0");
}

/**
 * Writes chunks into numbered segment files under `dir`, returning a
 * reference for each. Call close() to flush and fsync.
 *
 * @example
 * const w = new ChunkSegmentWriter(join(blockDir, "chunks"));
 * const ref = w.write(xorBytes); // 8 for the first chunk
 * w.close();
 */
export class ChunkSegmentWriter {
  private fd = -1;
  private segment = -1;
  /** Bytes in the current segment, including buffered ones. */
  private offset = 0;
  private readonly buf = new ByteWriter(FLUSH_THRESHOLD + 64 * 1024);

  constructor(
    private readonly dir: string,
    private readonly segmentSize = DEFAULT_SEGMENT_SIZE,
    /** Replaces write(2), for fault-injection tests. */
    private readonly writeFn: WriteFn = writeSync,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  private cut(): void {
    this.finishSegment();
    this.segment++;
    this.fd = openSync(join(this.dir, segmentName(this.segment)), "w");
    this.buf.be32(CHUNKS_MAGIC);
    this.buf.u8(1);
    this.buf.u8(0);
    this.buf.u8(0);
    this.buf.u8(0);
    this.offset = SEGMENT_HEADER_SIZE;
  }

  private flush(): void {
    const bytes = this.buf.bytes();
    let done = 0;
    while (done < bytes.length) done += this.writeFn(this.fd, bytes, done, bytes.length - done);
    this.buf.reset();
  }

  private finishSegment(): void {
    if (this.fd < 0) return;
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
  }

  /** Appends one chunk payload (without the encoding byte) and returns its reference. */
  write(data: Uint8Array, encoding = ENCODING_XOR): number {
    const size = 10 + 1 + data.length + 4;
    if (this.fd < 0 || (this.offset + size > this.segmentSize && this.offset > SEGMENT_HEADER_SIZE)) this.cut();
    const ref = this.segment * SEGMENT_FACTOR + this.offset;
    const start = this.buf.len;
    this.buf.uvarint(data.length);
    const encodingPos = this.buf.len;
    this.buf.u8(encoding);
    this.buf.raw(data);
    const all = this.buf.bytes();
    const crc = crc32c(all, encodingPos, all.length);
    this.buf.be32(crc);
    this.offset += this.buf.len - start;
    if (this.buf.len >= FLUSH_THRESHOLD) this.flush();
    return ref;
  }

  close(): void {
    this.finishSegment();
  }
}

/**
 * Reads chunks of one block by reference from its memory-mapped segments.
 * A bad reference or a non-XOR chunk throws BlockFormatError.
 */
export class ChunkSegmentReader {
  private readonly segments: Uint8Array[] = [];
  private readonly names: string[] = [];

  constructor(readonly dir: string) {
    let files: string[];
    try {
      files = readdirSync(dir).filter((f) => /^\d{6}$/.test(f)).sort();
    } catch (err) {
      throw new BlockFormatError(`${dir}: cannot list chunk segments: ${(err as Error).message}`);
    }
    for (let i = 0; i < files.length; i++) {
      if (files[i] !== segmentName(i)) throw new BlockFormatError(`${dir}: chunk segment ${segmentName(i)} missing`);
      const path = join(dir, files[i]!);
      const data = Bun.mmap(path, { shared: false });
      if (data.length < SEGMENT_HEADER_SIZE || readBe32(data, 0) !== CHUNKS_MAGIC) {
        throw new BlockFormatError(`${path}: not a chunk segment (bad magic)`);
      }
      if (data[4] !== 1) throw new BlockFormatError(`${path}: unsupported chunk segment version ${data[4]}`);
      this.segments.push(data);
      this.names.push(path);
    }
  }

  /** Total bytes of all segments. */
  size(): number {
    let n = 0;
    for (const s of this.segments) n += s.length;
    return n;
  }

  /** The XOR payload of the chunk at `ref` (a view into the mapped segment). */
  chunk(ref: number): Uint8Array {
    const seg = Math.floor(ref / SEGMENT_FACTOR);
    const off = ref % SEGMENT_FACTOR;
    const data = this.segments[seg];
    if (!data) throw new BlockFormatError(`${this.dir}: chunk ref ${ref} names missing segment ${segmentName(seg)}`);
    const r = new ByteReader(data, Math.min(off, data.length), data.length, `${this.names[seg]} chunk at offset ${off}`);
    if (off < SEGMENT_HEADER_SIZE || off >= data.length) throw new BlockFormatError(`${r.what}: offset outside segment`);
    const len = r.uvarint();
    const encoding = r.u8();
    if (encoding !== ENCODING_XOR) throw new BlockFormatError(`${r.what}: unsupported chunk encoding ${encoding}`);
    return r.bytes(len);
  }

  /** Whether the chunk at `ref` has an intact CRC32C. */
  verify(ref: number): boolean {
    const seg = Math.floor(ref / SEGMENT_FACTOR);
    const off = ref % SEGMENT_FACTOR;
    const data = this.segments[seg];
    if (!data) return false;
    const r = new ByteReader(data, Math.min(off, data.length), data.length, "chunk");
    const len = r.uvarint();
    const start = r.pos;
    r.bytes(1 + len);
    return crc32c(data, start, r.pos) === r.be32();
  }
}
