import { afterEach, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "../../../src/model/index.ts";
import {
  PAGE_SIZE, RECORD_HEADER_SIZE, WAL, crc32c, decodeSamples, decodeSeries, encodeSamples, encodeSeries, lastCheckpoint,
  listSegments, readAll, readSegmentBytes, registerWALMetrics, segmentName, segmentRecords, writeCheckpoint,
} from "../../../src/tsdb/wal/index.ts";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "promts-wal-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function record(size: number, seed: number): Uint8Array {
  const r = new Uint8Array(size);
  for (let i = 0; i < size; i++) r[i] = (i * 31 + seed * 7) & 0xff;
  return r;
}

async function replay(dir: string, metrics = registerWALMetrics(new Registry())): Promise<{ recs: Uint8Array[]; wal: WAL }> {
  const recs: Uint8Array[] = [];
  const wal = await WAL.open({ dir, metrics, onRecord: (r) => recs.push(r.slice()) });
  return { recs, wal };
}

describe("crc32c", () => {
  test("matches the Castagnoli check value", () => {
    expect(crc32c(new TextEncoder().encode("123456789"))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });
  test("can be computed incrementally", () => {
    const d = record(1000, 3);
    expect(crc32c(d, 500, 1000, crc32c(d, 0, 500))).toBe(crc32c(d));
  });
});

describe("records", () => {
  test("series round-trip", () => {
    const series = [
      { ref: 1, labels: [{ name: "__name__", value: "up" }, { name: "job", value: "ünïcode\n" }] },
      { ref: 0xfffffffe, labels: [{ name: "a", value: "b" }] },
    ];
    expect(decodeSeries(encodeSeries(series))).toEqual(series);
  });
  test("samples round-trip keeps NaN payloads and negative/large timestamps", () => {
    const refs = Uint32Array.of(5, 3, 1000000);
    const t = Float64Array.of(-5000, 1_700_000_000_000, 2 ** 52);
    const v = new Float64Array(3);
    new BigUint64Array(v.buffer).set([0x7ff0000000000002n, 0x3ff0000000000000n, 0xfff8000000000001n]);
    const s = decodeSamples(encodeSamples(refs, t, v, 3));
    expect(s.length).toBe(3);
    expect([...s.refs.subarray(0, 3)]).toEqual([5, 3, 1000000]);
    expect([...s.t.subarray(0, 3)]).toEqual([-5000, 1_700_000_000_000, 2 ** 52]);
    expect([...new BigUint64Array(s.v.buffer, 0, 3)]).toEqual([0x7ff0000000000002n, 0x3ff0000000000000n, 0xfff8000000000001n]);
  });
  test("samples encoding honours an index subset", () => {
    const s = decodeSamples(encodeSamples(Uint32Array.of(1, 2, 3), Float64Array.of(10, 20, 30), Float64Array.of(1, 2, 3), 2, Uint32Array.of(2, 0)));
    expect([...s.refs.subarray(0, s.length)]).toEqual([3, 1]);
    expect([...s.v.subarray(0, s.length)]).toEqual([3, 1]);
  });
  test("truncated records give a clear error", () => {
    const rec = encodeSamples(Uint32Array.of(1), Float64Array.of(1), Float64Array.of(1), 1);
    expect(() => decodeSamples(rec.subarray(0, rec.length - 3))).toThrow(/truncated/);
  });
});

describe("segmented log", () => {
  test("records of all sizes survive write and replay, including page-spanning ones", async () => {
    const dir = tempDir();
    const wal = await WAL.open({ dir });
    const written = [record(10, 1), record(0, 2), record(PAGE_SIZE - RECORD_HEADER_SIZE, 3), record(3 * PAGE_SIZE + 17, 4), record(100, 5)];
    wal.log(written.slice(0, 2));
    wal.log(written.slice(2));
    await wal.close();
    const { recs, wal: again } = await replay(dir);
    await again.close();
    expect(recs).toEqual(written);
  });

  test("segments rotate at the size limit and replay in order", async () => {
    const dir = tempDir();
    const wal = await WAL.open({ dir, segmentSize: 2 * PAGE_SIZE });
    const written: Uint8Array[] = [];
    for (let i = 0; i < 20; i++) {
      const r = record(20000 + i, i);
      written.push(r);
      wal.log([r]);
    }
    await wal.close();
    expect(listSegments(dir).length).toBeGreaterThan(3);
    for (const s of listSegments(dir)) expect(statSync(join(dir, segmentName(s))).size).toBeLessThanOrEqual(2 * PAGE_SIZE);
    const { recs, wal: again } = await replay(dir);
    await again.close();
    expect(recs).toEqual(written);
  });

  test("each open writes into a new segment", async () => {
    const dir = tempDir();
    const a = await WAL.open({ dir });
    a.log([record(10, 1)]);
    await a.close();
    const { recs, wal: b } = await replay(dir);
    b.log([record(10, 2)]);
    await b.close();
    expect(recs.length).toBe(1);
    expect(listSegments(dir)).toEqual([0, 1]);
    const { recs: all, wal: c } = await replay(dir);
    await c.close();
    expect(all).toEqual([record(10, 1), record(10, 2)]);
  });
});

describe("corruption repair", () => {
  async function writeThree(dir: string): Promise<Uint8Array[]> {
    const wal = await WAL.open({ dir });
    const recs = [record(100, 1), record(200, 2), record(300, 3)];
    for (const r of recs) wal.log([r]);
    await wal.close();
    return recs;
  }

  const damages: [string, (file: string) => void][] = [
    ["truncated mid-record", (f) => truncateSync(f, statSync(f).size - 50)],
    ["flipped bytes in the last record", (f) => {
      const b = readFileSync(f);
      b[b.length - 10] ^= 0xff;
      writeFileSync(f, b);
    }],
    ["garbage appended", (f) => appendFileSync(f, Buffer.from([9, 8, 7, 6, 5, 4, 3, 2, 1]))],
    ["torn header", (f) => appendFileSync(f, Buffer.from([1, 0]))],
    ["non-zero bytes after padding", (f) => appendFileSync(f, Buffer.from([0, 0, 5]))],
  ];
  for (const [name, damage] of damages) {
    test(`${name}: tail cut, earlier data intact, corruption counted`, async () => {
      const dir = tempDir();
      const recs = await writeThree(dir);
      damage(join(dir, segmentName(0)));
      const reg = new Registry();
      const metrics = registerWALMetrics(reg);
      const { recs: got, wal } = await replay(dir, metrics);
      const expected = name.startsWith("truncated") || name.startsWith("flipped") ? recs.slice(0, 2) : recs;
      expect(got).toEqual(expected);
      expect(metrics.corruptions.value).toBe(1);
      expect(reg.render()).toContain("prometheus_tsdb_wal_corruptions_total 1");
      wal.log([record(50, 9)]);
      await wal.close();
      const { recs: after, wal: w2 } = await replay(dir);
      await w2.close();
      expect(after).toEqual([...expected, record(50, 9)]);
    });
  }

  test("a corrupt segment drops the segments after it", async () => {
    const dir = tempDir();
    const a = await WAL.open({ dir });
    a.log([record(100, 1), record(100, 2)]);
    await a.close();
    const b = await WAL.open({ dir });
    b.log([record(100, 3)]);
    await b.close();
    truncateSync(join(dir, segmentName(0)), 150);
    const { recs, wal } = await replay(dir);
    await wal.close();
    expect(recs).toEqual([record(100, 1)]);
    expect(listSegments(dir)).toEqual([0, 1]);
  });
});

describe("foreign records", () => {
  test("a checksummed compressed (Prometheus snappy) record is refused, not truncated away", async () => {
    const dir = tempDir();
    const payload = record(20, 1);
    const crc = crc32c(payload);
    const frag = new Uint8Array(RECORD_HEADER_SIZE + payload.length);
    frag.set([0x01 | 0x08, 0, payload.length, crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff]);
    frag.set(payload, RECORD_HEADER_SIZE);
    writeFileSync(join(dir, segmentName(0)), frag);
    await expect(WAL.open({ dir })).rejects.toThrow(/compressed WALs are not supported/);
    expect(statSync(join(dir, segmentName(0))).size).toBe(frag.length);
  });
});

describe("checkpoints", () => {
  test("replay reads the newest checkpoint then later segments only", async () => {
    const dir = tempDir();
    const wal = await WAL.open({ dir });
    wal.log([record(10, 1)]);
    const done = wal.nextSegment();
    wal.log([record(10, 2)]);
    await writeCheckpoint(dir, done, (log) => log([record(10, 7)]));
    wal.truncate(done + 1);
    await wal.close();
    expect(lastCheckpoint(dir)?.index).toBe(done);
    const seen: [number, boolean][] = [];
    const w2 = await WAL.open({ dir, onRecord: (r, cp) => seen.push([r[0]!, cp]) });
    await w2.close();
    expect(seen).toEqual([[record(10, 7)[0]!, true], [record(10, 2)[0]!, false]]);
    const cpRecs: Uint8Array[] = [];
    readAll(lastCheckpoint(dir)!.dir, (r) => cpRecs.push(r.slice()));
    expect(cpRecs).toEqual([record(10, 7)]);
  });
});

describe("crash leftovers and stepwise reading", () => {
  test("a temporary checkpoint left by a crash is deleted on open and not replayed", async () => {
    const dir = tempDir();
    const wal = await WAL.open({ dir });
    wal.log([record(10, 1)]);
    await wal.close();
    const tmp = join(dir, "checkpoint.00000000.tmp");
    const half = await WAL.open({ dir: tmp });
    half.log([record(10, 9)]);
    await half.close();
    const { recs, wal: again } = await replay(dir);
    await again.close();
    expect(recs).toEqual([record(10, 1)]);
    expect(existsSync(tmp)).toBe(false);
  });

  test("segmentRecords gives the records readSegment does, one at a time", async () => {
    const dir = tempDir();
    const wal = await WAL.open({ dir });
    const written = [record(10, 1), record(3 * PAGE_SIZE, 2), record(0, 3), record(PAGE_SIZE - RECORD_HEADER_SIZE, 4)];
    wal.log(written);
    await wal.close();
    const bytes = await readSegmentBytes(dir, 0);
    const it = segmentRecords(bytes, dir, 0);
    const got: Uint8Array[] = [];
    let next = it.next();
    for (; !next.done; next = it.next()) got.push(next.value.slice());
    expect(got).toEqual(written);
    expect(next.value).toBe(statSync(join(dir, segmentName(0))).size);
  });
});
