/**
 * The block `index` file, format version 2 as Prometheus writes it:
 *
 *   magic 0xBAAAD700 (4) | version 2 (1)
 *   symbol table        sorted unique strings; labels refer to them by position
 *   series              16-byte aligned; ref = offset / 16; label refs + delta-encoded chunk metas
 *   label indices       per label name, its sorted values (kept for older readers)
 *   postings            per label pair, sorted series refs; the first is the all-series list ""=""
 *   label offset table  label name → label index offset
 *   postings offset table  (name, value) → postings offset, sorted
 *   TOC                 six 8-byte section offsets
 *
 * Every section and series entry ends with a CRC32C of its content.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Label, Labels } from "../../model/index.ts";
import { runSteps, runStepsNow, sortSteps } from "../event_loop.ts";
import { crc32c } from "../wal/index.ts";
import { BlockFormatError, ByteReader, ByteWriter, readBe32 } from "./encoding.ts";

/** Magic number at the start of an index file. */
export const INDEX_MAGIC = 0xbaaad700;
const INDEX_VERSION = 2;
const TOC_SIZE = 6 * 8 + 4;

/** Where a chunk of a series lives in the block, with its inclusive time bounds. */
export interface ChunkRef {
  mint: number;
  maxt: number;
  ref: number;
}

/** One series as listed in the index. */
export interface IndexSeries {
  labels: Labels;
  chunks: ChunkRef[];
}

/**
 * Orders strings by their UTF-8 bytes (= code points), as Go compares
 * strings; JavaScript's `<` compares UTF-16 units, which differs for
 * characters beyond U+FFFF. Readers binary-search symbols and postings in
 * this order.
 */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 || y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x >= 0xd800 ? x + 0x2000 : x;
      y = y >= 0xe000 ? y - 0x800 : y >= 0xd800 ? y + 0x2000 : y;
    }
    return x - y;
  }
  return a.length - b.length;
}

function writeCrcOf(w: ByteWriter, start: number): void {
  w.be32(crc32c(w.bytes(), start, w.len));
}

/**
 * Encodes an index for `series`, which must be sorted by labels and whose
 * chunks must be sorted by time and not overlap (as in every Prometheus block).
 *
 * @example
 * const bytes = encodeIndex([{ labels: [{ name: "__name__", value: "up" }], chunks: [{ mint: 0, maxt: 10, ref: 8 }] }]);
 */
export function encodeIndex(series: readonly IndexSeries[]): Uint8Array {
  return runStepsNow(indexEncoder(series));
}

/**
 * {@link encodeIndex} in steps: the generator pauses every few hundred
 * items of work (yielding nothing) so a caller can let the event loop run
 * between steps; it returns the encoded index.
 *
 * @example
 * const steps = indexEncoder(series);
 * const bytes = await runSteps(indexEncoder(series)); // yields to the event loop while encoding
 */
export function* indexEncoder(series: readonly IndexSeries[]): Generator<void, Uint8Array, undefined> {
  let work = 0;
  const symbolSet = new Set<string>([""]);
  for (const s of series) {
    if ((++work & 1023) === 0) yield;
    for (const l of s.labels) {
      symbolSet.add(l.name);
      symbolSet.add(l.value);
    }
  }
  const symbols = yield* sortSteps([...symbolSet], compareUtf8);
  const symbolIndex = new Map<string, number>();
  symbols.forEach((s, i) => symbolIndex.set(s, i));

  const w = new ByteWriter(64 * 1024);
  w.be32(INDEX_MAGIC);
  w.u8(INDEX_VERSION);

  const tocSymbols = w.len;
  const symLenPos = w.len;
  w.be32(0);
  w.be32(symbols.length);
  for (const s of symbols) w.uvarintString(s);
  w.putBe32At(symLenPos, w.len - symLenPos - 4);
  writeCrcOf(w, symLenPos + 4);

  // Series, collecting postings as we go.
  const tocSeries = w.len;
  const postings = new Map<string, Map<string, number[]>>();
  const allRefs: number[] = [];
  const entry = new ByteWriter(256);
  for (const s of series) {
    if ((++work & 255) === 0) yield;
    w.padTo(16);
    const ref = w.len / 16;
    if (ref > 0xffffffff) throw new Error("index: series section exceeds 64GiB");
    allRefs.push(ref);
    entry.reset();
    entry.uvarint(s.labels.length);
    for (const l of s.labels) {
      entry.uvarint(symbolIndex.get(l.name)!);
      entry.uvarint(symbolIndex.get(l.value)!);
      let byValue = postings.get(l.name);
      if (!byValue) postings.set(l.name, (byValue = new Map()));
      let refs = byValue.get(l.value);
      if (!refs) byValue.set(l.value, (refs = []));
      refs.push(ref);
    }
    entry.uvarint(s.chunks.length);
    let prevMaxt = 0, prevRef = 0;
    s.chunks.forEach((c, i) => {
      if (i === 0) {
        entry.varint(c.mint);
        entry.uvarint(c.maxt - c.mint);
        entry.uvarint(c.ref);
      } else {
        if (c.mint < prevMaxt) throw new Error(`index: overlapping chunks in series ${JSON.stringify(s.labels)}`);
        entry.uvarint(c.mint - prevMaxt);
        entry.uvarint(c.maxt - c.mint);
        entry.varint(c.ref - prevRef);
      }
      prevMaxt = c.maxt;
      prevRef = c.ref;
    });
    const content = entry.bytes();
    w.uvarint(content.length);
    w.raw(content);
    w.be32(crc32c(content));
  }

  const names = yield* sortSteps([...postings.keys()], compareUtf8);
  const sortedValues = new Map<string, string[]>();
  for (const n of names) sortedValues.set(n, yield* sortSteps([...postings.get(n)!.keys()], compareUtf8));

  // Label indices: one per label name, listing its values by symbol ref.
  const tocLabelIndices = w.len;
  const labelIndexOffsets: number[] = [];
  for (const n of names) {
    if ((++work & 255) === 0) yield;
    w.padTo(4);
    labelIndexOffsets.push(w.len);
    const lenPos = w.len;
    w.be32(0);
    const values = sortedValues.get(n)!;
    w.be32(1);
    w.be32(values.length);
    for (const v of values) w.be32(symbolIndex.get(v)!);
    w.putBe32At(lenPos, w.len - lenPos - 4);
    writeCrcOf(w, lenPos + 4);
  }

  // Postings lists; the all-series list under ""="" comes first.
  const tocPostings = w.len;
  const postingOffsets: { name: string; value: string; offset: number }[] = [];
  const writePostings = (name: string, value: string, refs: readonly number[]) => {
    w.padTo(4);
    postingOffsets.push({ name, value, offset: w.len });
    w.be32(4 + refs.length * 4);
    const start = w.len;
    w.be32(refs.length);
    for (const r of refs) w.be32(r);
    writeCrcOf(w, start);
  };
  writePostings("", "", allRefs);
  for (const n of names) {
    for (const v of sortedValues.get(n)!) {
      writePostings(n, v, postings.get(n)!.get(v)!);
      if ((++work & 255) === 0) yield;
    }
  }

  const tocLabelOffsetTable = w.len;
  let lenPos = w.len;
  w.be32(0);
  w.be32(names.length);
  names.forEach((n, i) => {
    w.uvarint(1);
    w.uvarintString(n);
    w.uvarint(labelIndexOffsets[i]!);
  });
  w.putBe32At(lenPos, w.len - lenPos - 4);
  writeCrcOf(w, lenPos + 4);

  const tocPostingsOffsetTable = w.len;
  lenPos = w.len;
  w.be32(0);
  w.be32(postingOffsets.length);
  for (const p of postingOffsets) {
    if ((++work & 1023) === 0) yield;
    w.uvarint(2);
    w.uvarintString(p.name);
    w.uvarintString(p.value);
    w.uvarint(p.offset);
  }
  w.putBe32At(lenPos, w.len - lenPos - 4);
  writeCrcOf(w, lenPos + 4);

  const tocStart = w.len;
  for (const off of [tocSymbols, tocSeries, tocLabelIndices, tocLabelOffsetTable, tocPostings, tocPostingsOffsetTable]) w.be64(off);
  writeCrcOf(w, tocStart);
  return w.bytes().slice();
}

/** The tables an IndexReader keeps in memory. */
interface IndexTables {
  symbols: string[];
  /** label name → label value → offset of its postings list; values kept in file (sorted) order. */
  postingsTable: Map<string, Map<string, number>>;
}

/** A reader over a `len | content | crc` section of `buf` at `off`, after checking the CRC. */
function indexSection(buf: Uint8Array, off: number, what: string): ByteReader {
  const head = new ByteReader(buf, off, buf.length, what);
  const len = head.be32();
  const r = new ByteReader(buf, off + 4, off + 4 + len, what);
  const crcAt = off + 4 + len;
  if (crcAt + 4 > buf.length || crc32c(buf, off + 4, crcAt) !== readBe32(buf, crcAt)) {
    throw new BlockFormatError(`${what}: checksum mismatch`);
  }
  return r;
}

/** Checks the header and TOC of an index file and parses its symbol and postings offset tables, in steps. */
function* parseIndexTables(b: Uint8Array, path: string): Generator<void, IndexTables, undefined> {
  if (b.length < 5 + TOC_SIZE) throw new BlockFormatError(`${path}: file too short (${b.length} bytes)`);
  if (readBe32(b, 0) !== INDEX_MAGIC) throw new BlockFormatError(`${path}: bad magic number`);
  if (b[4] !== INDEX_VERSION) throw new BlockFormatError(`${path}: unsupported index version ${b[4]}`);
  const tocStart = b.length - TOC_SIZE;
  if (crc32c(b, tocStart, tocStart + 48) !== readBe32(b, tocStart + 48)) {
    throw new BlockFormatError(`${path}: TOC checksum mismatch`);
  }
  const toc = new ByteReader(b, tocStart, tocStart + 48, `${path} TOC`);
  const symbolsOff = toc.be64();
  toc.be64();
  toc.be64();
  toc.be64();
  toc.be64();
  const postingsTableOff = toc.be64();

  const symbols: string[] = [];
  const sym = indexSection(b, symbolsOff, `${path} symbol table`);
  yield;
  const count = sym.be32();
  for (let i = 0; i < count; i++) {
    symbols.push(sym.uvarintString());
    if ((i & 1023) === 1023) yield;
  }

  const postingsTable = new Map<string, Map<string, number>>();
  const pt = indexSection(b, postingsTableOff, `${path} postings offset table`);
  yield;
  const entries = pt.be32();
  for (let i = 0; i < entries; i++) {
    const n = pt.uvarint();
    if (n !== 2) throw new BlockFormatError(`${pt.what}: entry ${i} has ${n} keys, want 2`);
    const name = pt.uvarintString();
    const value = pt.uvarintString();
    const offset = pt.uvarint();
    let m = postingsTable.get(name);
    if (!m) postingsTable.set(name, (m = new Map()));
    m.set(value, offset);
    if ((i & 1023) === 1023) yield;
  }
  return { symbols, postingsTable };
}

/**
 * Random access to an index file: symbols, postings per label pair, series
 * by reference. Section checksums are verified when the file is opened.
 */
export class IndexReader {
  private readonly buf: Uint8Array;
  private readonly symbols: string[];
  private readonly postingsTable: Map<string, Map<string, number>>;
  private readonly path: string;

  /**
   * Parses `bytes` (the whole file); `path` is used in error messages.
   * `tables` are the parsed symbol and postings offset tables when the caller
   * parsed them already (see {@link IndexReader.openAsync}).
   */
  constructor(bytes: Uint8Array, path = "index", tables: IndexTables = runStepsNow(parseIndexTables(bytes, path))) {
    this.buf = bytes;
    this.path = path;
    this.symbols = tables.symbols;
    this.postingsTable = tables.postingsTable;
  }

  /** Opens the index file at `path`. */
  static open(path: string): IndexReader {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new BlockFormatError(`${path}: ${(err as Error).message}`);
    }
    return new IndexReader(bytes, path);
  }

  /** {@link IndexReader.open} that reads and parses the file without blocking the event loop for long. */
  static async openAsync(path: string): Promise<IndexReader> {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(path));
    } catch (err) {
      throw new BlockFormatError(`${path}: ${(err as Error).message}`);
    }
    return new IndexReader(bytes, path, await runSteps(parseIndexTables(bytes, path)));
  }

  /** Size of the index file in bytes. */
  size(): number {
    return this.buf.length;
  }

  /** The sorted symbol table. */
  symbolTable(): readonly string[] {
    return this.symbols;
  }

  /** Label names that have postings (the all-series key "" excluded), sorted. */
  labelNames(): string[] {
    const out: string[] = [];
    for (const n of this.postingsTable.keys()) if (n !== "") out.push(n);
    return out.sort(compareUtf8);
  }

  /** Values of label `name`, sorted. */
  labelValues(name: string): string[] {
    if (name === "") return [];
    const m = this.postingsTable.get(name);
    return m ? [...m.keys()] : [];
  }

  /** Sorted series refs having label `name` = `value`; ("", "") gives all series. */
  postings(name: string, value: string): Uint32Array {
    const off = this.postingsTable.get(name)?.get(value);
    if (off === undefined) return new Uint32Array(0);
    const r = new ByteReader(this.buf, off, this.buf.length, `${this.path} postings ${name}=${JSON.stringify(value)}`);
    const len = r.be32();
    const count = r.be32();
    if (len !== 4 + count * 4) throw new BlockFormatError(`${r.what}: length ${len} does not match ${count} entries`);
    const out = new Uint32Array(count);
    for (let i = 0; i < count; i++) out[i] = r.be32();
    return out;
  }

  /** Every series ref in the block, sorted. */
  allPostings(): Uint32Array {
    return this.postings("", "");
  }

  /** The series at `ref` (offset / 16): its labels and chunk references. */
  series(ref: number): IndexSeries {
    const r = new ByteReader(this.buf, ref * 16, this.buf.length, `${this.path} series ${ref}`);
    const len = r.uvarint();
    const s = new ByteReader(this.buf, r.pos, r.pos + len, r.what);
    const nLabels = s.uvarint();
    const labels: Label[] = new Array(nLabels);
    for (let i = 0; i < nLabels; i++) {
      const name = this.symbols[s.uvarint()];
      const value = this.symbols[s.uvarint()];
      if (name === undefined || value === undefined) throw new BlockFormatError(`${s.what}: label ${i} refers to an unknown symbol`);
      labels[i] = { name, value };
    }
    const nChunks = s.uvarint();
    const chunks: ChunkRef[] = new Array(nChunks);
    let mint = 0, maxt = 0, cref = 0;
    for (let i = 0; i < nChunks; i++) {
      if (i === 0) {
        mint = s.varint();
        maxt = mint + s.uvarint();
        cref = s.uvarint();
      } else {
        mint = maxt + s.uvarint();
        maxt = mint + s.uvarint();
        cref += s.varint();
      }
      chunks[i] = { mint, maxt, ref: cref };
    }
    return { labels, chunks };
  }
}
