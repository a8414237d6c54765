/**
 * The cut (completed) chunks of one head series, packed: their bytes back
 * to back in one Uint8Array and (mint, maxt, offset, length) in one
 * Float64Array. A chunk object per cut chunk cost ~440 bytes of JS heap
 * above its data; this costs two typed arrays per series plus 32 bytes a
 * chunk. Chunks read out are views: bytes once written are never written
 * again (appends go past them or into a new array), so views stay valid.
 *
 * @example
 * const list = CutChunkList.of([{ mint: 0, maxt: 10, data }]);
 * list.push({ mint: 20, maxt: 30, data: more });
 * for (const c of list) decodeXor(c.data);
 */
import type { ChunkMeta } from "../types.ts";

const EMPTY_BYTES = new Uint8Array(0);
const EMPTY_META = new Float64Array(0);

export class CutChunkList implements Iterable<ChunkMeta> {
  private data = EMPTY_BYTES;
  private used = 0;
  private meta = EMPTY_META;

  /** A list holding `chunks` (in time order), or undefined when there are none. */
  static of(chunks: readonly ChunkMeta[]): CutChunkList | undefined {
    if (chunks.length === 0) return undefined;
    const list = new CutChunkList();
    let bytes = 0;
    for (const c of chunks) bytes += c.data.length;
    const data = new Uint8Array(bytes), meta = new Float64Array(4 * chunks.length);
    let off = 0;
    chunks.forEach((c, i) => {
      data.set(c.data, off);
      meta.set([c.mint, c.maxt, off, c.data.length], 4 * i);
      off += c.data.length;
    });
    list.data = data;
    list.used = bytes;
    list.meta = meta;
    return list;
  }

  /** Chunks held. */
  get length(): number {
    return this.meta.length >>> 2;
  }

  /** Bytes held (chunk data plus bookkeeping). */
  get byteLength(): number {
    return this.data.byteLength + this.meta.byteLength;
  }

  /**
   * Appends a chunk (newer than every chunk held). The byte array grows by
   * half again when full, so a series' chunk bytes are copied about three
   * times in all rather than once per later chunk.
   */
  push(c: ChunkMeta): void {
    const off = this.used, len = c.data.length;
    if (off + len > this.data.length) {
      const data = new Uint8Array(Math.max(off + len, Math.ceil(this.data.length * 1.5)));
      data.set(this.data.subarray(0, off));
      this.data = data;
    }
    this.data.set(c.data, off);
    this.used = off + len;
    const meta = new Float64Array(this.meta.length + 4);
    meta.set(this.meta);
    meta.set([c.mint, c.maxt, off, len], this.meta.length);
    this.meta = meta;
  }

  mint(i: number): number {
    return this.meta[4 * i]!;
  }

  maxt(i: number): number {
    return this.meta[4 * i + 1]!;
  }

  /** Chunk `i`; its data is a view into the list's bytes. */
  chunk(i: number): ChunkMeta {
    const m = this.meta, off = m[4 * i + 2]!;
    return { mint: m[4 * i]!, maxt: m[4 * i + 1]!, data: this.data.subarray(off, off + m[4 * i + 3]!) };
  }

  *[Symbol.iterator](): Iterator<ChunkMeta> {
    const n = this.length;
    for (let i = 0; i < n; i++) yield this.chunk(i);
  }
}
