/**
 * Write errors (disk full, I/O errors) on the WAL: the failed append is
 * refused with Prometheus's error and counted; no half-written record is ever
 * followed by later records; writing resumes when space returns, and every
 * acknowledged sample survives a reopen (what kill -9 leaves).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labelsFromRecord, newMatcher, Registry } from "../../../src/model/index.ts";
import { Head } from "../../../src/tsdb/head/index.ts";
import { listSegments, readSegment, registerWALMetrics, segmentName, WAL, WALWriteError, type WriteFn } from "../../../src/tsdb/wal/index.ts";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "promts-walerr-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A write(2) stand-in that fails with `code` while `full` is set, after writing `partial` bytes of the call. */
function faultyWriter(code = "ENOSPC") {
  const state = { full: false, partial: 5, failures: 0 };
  const fn: WriteFn = (fd, buf, off, len) => {
    if (!state.full) return writeSync(fd, buf, off, len);
    state.failures++;
    if (state.partial > 0 && len > state.partial) writeSync(fd, buf, off, state.partial); // torn write
    const err = new Error(`${code}: simulated`) as Error & { code: string };
    err.code = code;
    throw err;
  };
  return { fn, state };
}

const rec = (n: number, size = 100) => new Uint8Array(size).fill(n);

describe("WAL write errors", () => {
  test("a failed write leaves no partial record; pending records go first once writing works", async () => {
    const dir = tempDir();
    const metrics = registerWALMetrics(new Registry());
    const { fn, state } = faultyWriter();
    const wal = await WAL.open({ dir, metrics, writeFn: fn });
    wal.log([rec(1)]);
    const seg = join(dir, segmentName(wal.currentSegment()));
    const goodSize = statSync(seg).size;
    state.full = true;
    let err: unknown;
    try {
      wal.log([rec(2)]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WALWriteError);
    expect((err as Error).message).toBe(`write to WAL: write ${seg}: no space left on device`);
    expect(statSync(seg).size).toBe(goodSize); // the torn bytes were cut off
    expect(metrics.writesFailed.value).toBeGreaterThan(0);
    expect(wal.hasPending()).toBe(true);
    expect(() => wal.flushPending()).toThrow(WALWriteError);
    expect(() => wal.log([rec(3)])).toThrow(WALWriteError);
    expect(statSync(seg).size).toBe(goodSize);
    state.full = false;
    wal.log([rec(4)]);
    expect(wal.hasPending()).toBe(false);
    await wal.close();
    const seen: number[] = [];
    for (const s of listSegments(dir)) readSegment(dir, s, (r) => seen.push(r[0]!));
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  test("EIO on a record spanning pages is cut off as well", async () => {
    const dir = tempDir();
    const { fn, state } = faultyWriter("EIO");
    state.partial = 40_000; // more than a page
    const wal = await WAL.open({ dir, writeFn: fn });
    wal.log([rec(1, 50_000)]);
    state.full = true;
    expect(() => wal.log([rec(2, 100_000)])).toThrow("input/output error");
    state.full = false;
    wal.log([rec(3, 10)]);
    await wal.close();
    const seen: number[] = [];
    for (const s of listSegments(dir)) readSegment(dir, s, (r) => seen.push(r[0]!));
    expect(seen).toEqual([1, 2, 3]);
  });
});

describe("head appends while the disk is full", () => {
  const lbl = labelsFromRecord({ __name__: "m", job: "j" });

  async function values(head: Head): Promise<number[]> {
    const q = head.querier(0, 1e12);
    const out: number[] = [];
    for (const s of await q.select([newMatcher("=", "__name__", "m")], 0, 1e12)) {
      const b = s.samples();
      for (let i = 0; i < b.length; i++) out.push(b.t[i]!);
    }
    return out;
  }

  test("refused appends change nothing; acknowledged ones survive a reopen", async () => {
    const dir = tempDir();
    const { fn, state } = faultyWriter();
    const registry = new Registry();
    let head = await Head.open({ dir, walWriteFn: fn, registry });
    const app = head.appender();
    const ref = app.ref(lbl);
    const append = (t: number) => app.appendBatch(Uint32Array.of(ref), Float64Array.of(t), Float64Array.of(t), 1);
    const acked: number[] = [];
    for (let t = 1000; t <= 3000; t += 1000) {
      append(t);
      acked.push(t);
    }
    state.full = true;
    // The first failing append reaches memory before the write fails; it is logged once space returns.
    expect(() => append(4000)).toThrow(WALWriteError);
    const during = await values(head);
    for (let t = 5000; t <= 8000; t += 1000) expect(() => append(t)).toThrow("no space left on device");
    expect(await values(head)).toEqual(during); // refused: nothing applied in memory
    state.full = false;
    for (let t = 9000; t <= 11000; t += 1000) {
      append(t);
      acked.push(t);
    }
    expect(registry.render()).toMatch(/prometheus_tsdb_wal_writes_failed_total [1-9]/);
    // What kill -9 leaves: the files as they are, replayed by a new head.
    const files = readdirSync(join(dir, "wal"));
    expect(files.length).toBeGreaterThan(0);
    head = await Head.open({ dir });
    const after = await values(head);
    for (const t of acked) expect(after).toContain(t);
    expect(after).toEqual(during.concat([9000, 10000, 11000]));
    await head.close();
  });
});

describe("checkpoint write errors", () => {
  test("EIO in the middle of a checkpoint keeps every segment and sample; the next truncation succeeds", async () => {
    const dir = tempDir();
    const { fn, state } = faultyWriter("EIO");
    let head = await Head.open({ dir, walWriteFn: fn, walSegmentSize: 32 * 1024 });
    const app = head.appender();
    const refs: number[] = [];
    for (let i = 0; i < 200; i++) refs.push(app.ref(labelsFromRecord({ __name__: "m", i: String(i) })));
    for (let t = 1000; t <= 20_000; t += 1000) {
      app.appendBatch(Uint32Array.from(refs), new Float64Array(refs.length).fill(t), new Float64Array(refs.length).fill(t), refs.length);
    }
    const before = listSegments(join(dir, "wal"));
    expect(before.length).toBeGreaterThan(1);
    // Fail the checkpoint's writes only: the WAL itself has nothing pending.
    const realLog = head.appender();
    state.full = true;
    state.partial = 0;
    await expect(head.truncate(10_000)).rejects.toThrow("input/output error");
    state.full = false;
    expect(readdirSync(join(dir, "wal")).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    for (const s of before) expect(listSegments(join(dir, "wal"))).toContain(s);
    // Samples >= 10s are still appended and acknowledged after the failure.
    realLog.appendBatch(Uint32Array.of(refs[0]!), Float64Array.of(21_000), Float64Array.of(1), 1);
    head = await Head.open({ dir });
    const q = head.querier(0, 1e9);
    const s = (await q.select([newMatcher("=", "i", "0")], 0, 1e9))[0]!;
    const ts = Array.from(s.samples().t.subarray(0, s.samples().length));
    expect(ts).toContain(20_000);
    expect(ts).toContain(21_000);
    await head.truncate(15_000); // works once writing works
    await head.close();
  });
});
