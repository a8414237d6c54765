import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labelsFromRecord, labelsKey, newMatcher } from "../../../src/model/index.ts";
import { decodeXor } from "../../../src/tsdb/chunkenc/index.ts";
import {
  Block,
  BlockFormatError,
  encodeChunks,
  IndexReader,
  isULID,
  mergeSampleBatches,
  normalizeChunks,
  readTombstones,
  writeBlock,
  writeBlockAsync,
  type BlockSeries,
} from "../../../src/tsdb/block/index.ts";
import { MAX_TIME, MIN_TIME, type SampleBatch } from "../../../src/tsdb/types.ts";
import { crc32c } from "../../../src/tsdb/wal/index.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "promts-block-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function batch(t: number[], v: number[]): SampleBatch {
  return { t: Float64Array.from(t), v: Float64Array.from(v), length: t.length };
}

/** `n` samples every `step` ms from `start`, values derived from the series index. */
function series(labels: Record<string, string>, start: number, n: number, step: number, seed: number): BlockSeries & { batch: SampleBatch } {
  const t: number[] = [], v: number[] = [];
  for (let i = 0; i < n; i++) {
    t.push(start + i * step);
    v.push(seed * 1000 + i * 0.5 + (i % 7 === 0 ? Math.PI : 0));
  }
  const b = batch(t, v);
  return { labels: labelsFromRecord(labels), chunks: encodeChunks(b), batch: b };
}

function samplesOf(b: SampleBatch): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < b.length; i++) out.push([b.t[i]!, b.v[i]!]);
  return out;
}

describe("block write and read", () => {
  test("series, chunks and samples come back as written", () => {
    const input = [
      series({ __name__: "up", job: "node", instance: "a:9100" }, 0, 300, 15000, 1),
      series({ __name__: "up", job: "node", instance: "b:9100" }, 30000, 10, 15000, 2),
      series({ __name__: "http_requests_total", job: "api", code: "200" }, 1000, 250, 10000, 3),
      series({ __name__: "temp", room: "ünïcödé 🌡" }, 5, 1, 1, 4),
    ];
    const meta = writeBlock(dir, input, { minTime: 0, maxTime: 7_200_000 });
    expect(isULID(meta.ulid)).toBe(true);
    expect(readdirSync(dir)).toEqual([meta.ulid]);
    expect(meta.stats).toEqual({ numSamples: 561, numSeries: 4, numChunks: 3 + 1 + 3 + 1 });

    const block = Block.open(join(dir, meta.ulid));
    expect(block.meta).toEqual({ ...meta, compaction: { level: 1, sources: [meta.ulid] } });
    const q = block.querier(MIN_TIME, MAX_TIME);
    const all = q.select([newMatcher("=~", "__name__", ".+")], MIN_TIME, MAX_TIME);
    const expected = [...input].sort((a, b) => (labelsKey(a.labels) < labelsKey(b.labels) ? -1 : 1));
    expect(all.map((s) => labelsKey(s.labels))).toEqual(expected.map((s) => labelsKey(s.labels)));
    for (let i = 0; i < all.length; i++) {
      const got = all[i]!, want = expected[i]!;
      expect(got.chunks().map((c) => [c.mint, c.maxt, [...c.data]])).toEqual(want.chunks.map((c) => [c.mint, c.maxt, [...c.data]]));
      expect(samplesOf(got.samples())).toEqual(samplesOf(want.batch));
    }
    expect(block.size()).toBeGreaterThan(0);
  });

  test("queries restrict samples to the time range", () => {
    const s = series({ __name__: "m" }, 0, 100, 1000, 1);
    const meta = writeBlock(dir, [s], { minTime: 0, maxTime: 100_000 });
    const q = Block.open(join(dir, meta.ulid)).querier(10_000, 20_500);
    const got = q.select([newMatcher("=", "__name__", "m")], MIN_TIME, MAX_TIME);
    expect(samplesOf(got[0]!.samples()).map(([t]) => t)).toEqual([10000, 11000, 12000, 13000, 14000, 15000, 16000, 17000, 18000, 19000, 20000]);
    expect(q.select([newMatcher("=", "__name__", "m")], 200_000, 300_000)).toEqual([]);
  });

  test("matchers follow Prometheus semantics, labels API lists names and values", () => {
    const input = [
      series({ __name__: "a", env: "prod", job: "x" }, 0, 3, 1000, 1),
      series({ __name__: "a", job: "y" }, 0, 3, 1000, 2),
      series({ __name__: "b", env: "dev", job: "x" }, 0, 3, 1000, 3),
    ];
    const meta = writeBlock(dir, input, { minTime: 0, maxTime: 3000 });
    const q = Block.open(join(dir, meta.ulid)).querier(MIN_TIME, MAX_TIME);
    const names = (ms: ReturnType<typeof newMatcher>[]) => q.select(ms, MIN_TIME, MAX_TIME).map((s) => labelsKey(s.labels));
    expect(names([newMatcher("=", "__name__", "a")])).toEqual(['{__name__="a", env="prod", job="x"}', '{__name__="a", job="y"}']);
    expect(names([newMatcher("=", "__name__", "a"), newMatcher("!=", "env", "prod")])).toEqual(['{__name__="a", job="y"}']);
    expect(names([newMatcher("=", "job", "x"), newMatcher("=", "env", "")])).toEqual([]);
    expect(names([newMatcher("=~", "job", "x|y"), newMatcher("!~", "env", "p.*")])).toEqual(['{__name__="a", job="y"}', '{__name__="b", env="dev", job="x"}']);
    expect(names([newMatcher("=~", "env", ".+")])).toEqual(['{__name__="a", env="prod", job="x"}', '{__name__="b", env="dev", job="x"}']);
    expect(names([newMatcher("=", "nope", "1")])).toEqual([]);
    expect(q.labelNames()).toEqual(["__name__", "env", "job"]);
    expect(q.labelValues("job")).toEqual(["x", "y"]);
    expect(q.labelValues("env", { matchers: [newMatcher("=", "job", "x")] })).toEqual(["dev", "prod"]);
    expect(q.labelNames({ matchers: [newMatcher("=", "job", "y")] })).toEqual(["__name__", "job"]);
  });

  test("an empty block is valid", () => {
    const meta = writeBlock(dir, [], { minTime: 0, maxTime: 1 });
    const block = Block.open(join(dir, meta.ulid));
    expect(block.meta.stats).toEqual({ numSamples: 0, numSeries: 0, numChunks: 0 });
    expect(block.querier(MIN_TIME, MAX_TIME).labelNames()).toEqual([]);
  });

  test("tombstones file is the empty Prometheus file", () => {
    const meta = writeBlock(dir, [series({ __name__: "m" }, 0, 2, 1, 1)], { minTime: 0, maxTime: 2 });
    const bytes = readFileSync(join(dir, meta.ulid, "tombstones"));
    expect([...bytes]).toEqual([0x01, 0x30, 0xba, 0x30, 0x01, 0, 0, 0, 0]);
    expect(readTombstones(join(dir, meta.ulid, "tombstones"))).toEqual([]);
  });

  test("samples in tombstoned intervals are left out of queries and compaction input", () => {
    const meta = writeBlock(dir, [series({ __name__: "m" }, 0, 10, 1000, 1), series({ __name__: "n" }, 0, 3, 1000, 2)], { minTime: 0, maxTime: 10_000 });
    const blockDir = join(dir, meta.ulid);
    const ref = IndexReader.open(join(blockDir, "index")).postings("__name__", "m")[0]!;
    // One entry per interval: series ref, mint, maxt of [2000, 5000] (uvarint, zig-zag varints), as Prometheus's tombstones.Encode.
    const zigzag = (v: number) => v * 2;
    const uvarint = (v: number): number[] => (v < 0x80 ? [v] : [(v % 0x80) | 0x80, ...uvarint(Math.floor(v / 0x80))]);
    const entries = Uint8Array.from([...uvarint(ref), ...uvarint(zigzag(2000)), ...uvarint(zigzag(5000))]);
    const crc = crc32c(entries);
    writeFileSync(join(blockDir, "tombstones"), Uint8Array.from([0x01, 0x30, 0xba, 0x30, 1, ...entries, crc >>> 24, (crc >>> 16) & 255, (crc >>> 8) & 255, crc & 255]));
    expect(readTombstones(join(blockDir, "tombstones"))).toEqual([{ seriesRef: ref, mint: 2000, maxt: 5000 }]);
    const block = Block.open(blockDir);
    expect(block.hasTombstones()).toBe(true);
    const got = block.querier(MIN_TIME, MAX_TIME).select([newMatcher("=", "__name__", "m")], MIN_TIME, MAX_TIME)[0]!.samples();
    expect([...got.t]).toEqual([0, 1000, 6000, 7000, 8000, 9000]);
    const forCompaction = [...block.series()];
    expect(forCompaction.map((s) => s.chunks.reduce((n, c) => n + decodeXor(c.data).t.length, 0))).toEqual([6, 3]);
  });

  test("duplicate series are rejected and no temporary directory is left", () => {
    const s = series({ __name__: "m" }, 0, 2, 1, 1);
    expect(() => writeBlock(dir, [s, s], { minTime: 0, maxTime: 2 })).toThrow('series {__name__="m"} given twice');
    expect(readdirSync(dir)).toEqual([]);
  });

  test("corrupt files give a BlockFormatError naming the file", () => {
    const meta = writeBlock(dir, [series({ __name__: "m" }, 0, 2, 1, 1)], { minTime: 0, maxTime: 2 });
    const indexPath = join(dir, meta.ulid, "index");
    const bytes = readFileSync(indexPath);
    bytes[20] = bytes[20]! ^ 0xff;
    writeFileSync(indexPath, bytes);
    expect(() => Block.open(join(dir, meta.ulid))).toThrow(BlockFormatError);
    expect(() => Block.open(join(dir, meta.ulid))).toThrow(`${indexPath} symbol table: checksum mismatch`);
    writeFileSync(indexPath, bytes.subarray(0, 10));
    expect(() => Block.open(join(dir, meta.ulid))).toThrow(`${indexPath}: file too short`);
    writeFileSync(join(dir, meta.ulid, "meta.json"), "{");
    expect(() => Block.open(join(dir, meta.ulid))).toThrow("meta.json");
  });

  test("writeBlockAsync and Block.openAsync give the same block as their synchronous forms", async () => {
    const input = Array.from({ length: 3000 }, (_, i) => series({ __name__: `m${i % 7}`, i: String(i) }, 0, 3, 1000, i));
    const sync = writeBlock(dir, input, { minTime: 0, maxTime: 3000, ulid: "01ARZ3NDEKTSV4RRFFQ69G5FA1" });
    const async_ = await writeBlockAsync(dir, input, { minTime: 0, maxTime: 3000, ulid: "01ARZ3NDEKTSV4RRFFQ69G5FA2" });
    expect(async_.stats).toEqual(sync.stats);
    expect(readFileSync(join(dir, async_.ulid, "index"))).toEqual(readFileSync(join(dir, sync.ulid, "index")));
    expect(readFileSync(join(dir, async_.ulid, "chunks", "000001"))).toEqual(readFileSync(join(dir, sync.ulid, "chunks", "000001")));
    const a = Block.open(join(dir, sync.ulid)), b = await Block.openAsync(join(dir, sync.ulid));
    expect(b.index.symbolTable()).toEqual(a.index.symbolTable());
    expect(b.index.labelValues("__name__")).toEqual(a.index.labelValues("__name__"));
    expect([...b.series()].map((s) => labelsKey(s.labels))).toEqual([...a.series()].map((s) => labelsKey(s.labels)));
    const indexPath = join(dir, sync.ulid, "index");
    const bytes = readFileSync(indexPath);
    bytes[20] = bytes[20]! ^ 0xff;
    writeFileSync(indexPath, bytes);
    await expect(Block.openAsync(join(dir, sync.ulid))).rejects.toThrow(`${indexPath} symbol table: checksum mismatch`);
  });

  test("index reader resolves postings and series refs", () => {
    const meta = writeBlock(dir, [series({ __name__: "m", a: "1" }, 0, 2, 1, 1), series({ __name__: "m", a: "2" }, 0, 2, 1, 2)], { minTime: 0, maxTime: 2 });
    const ix = IndexReader.open(join(dir, meta.ulid, "index"));
    const all = [...ix.allPostings()];
    expect(all.length).toBe(2);
    expect([...ix.postings("a", "2")]).toEqual([all[1]!]);
    expect(labelsKey(ix.series(all[1]!).labels)).toBe('{__name__="m", a="2"}');
    expect(ix.symbolTable()).toEqual(["", "1", "2", "__name__", "a", "m"]);
  });
});

describe("merge helpers", () => {
  test("mergeSampleBatches interleaves and drops duplicate timestamps", () => {
    const m = mergeSampleBatches([batch([1, 3, 5], [10, 30, 50]), batch([2, 3, 6], [20, 99, 60])]);
    expect(samplesOf(m)).toEqual([[1, 10], [2, 20], [3, 30], [5, 50], [6, 60]]);
  });

  test("normalizeChunks trims to the range and re-cuts overlapping chunks", () => {
    const a = encodeChunks(batch([0, 10, 20, 30], [0, 1, 2, 3]));
    const b = encodeChunks(batch([15, 25, 35], [5, 6, 7]));
    const out = normalizeChunks([...b, ...a], 5, 30);
    const decoded = out.flatMap((c) => {
      const d = decodeXor(c.data);
      return [...d.t].map((t, i) => [t, d.v[i]!]);
    });
    expect(decoded).toEqual([[10, 1], [15, 5], [20, 2], [25, 6], [30, 3]]);
    expect(out.map((c) => [c.mint, c.maxt])).toEqual([[10, 30]]);
    const clean = normalizeChunks(a, 0, 100);
    expect(clean[0]).toBe(a[0]!);
  });

  test("encodeChunks cuts at 120 samples", () => {
    const t = Array.from({ length: 250 }, (_, i) => i * 1000);
    const chunks = encodeChunks(batch(t, t));
    expect(chunks.map((c) => [c.mint, c.maxt])).toEqual([[0, 119000], [120000, 239000], [240000, 249000]]);
  });
});

