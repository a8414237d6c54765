/**
 * Write errors (EIO, ENOSPC) in the middle of a compaction, injected at
 * every write(2) the block writer makes: the compaction fails, is counted
 * in prometheus_tsdb_compactions_failed_total and logged; no block and no
 * temporary directory is left behind; every sample stays queryable, also
 * after a restart from what the failure left; and the next compaction (the
 * background loop retries) writes the block.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readdirSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newLogger } from "../../src/log/index.ts";
import { labelsFromRecord, labelsKey, newMatcher, Registry, type Labels } from "../../src/model/index.ts";
import { BlockWriteError, encodeChunks, writeBlock } from "../../src/tsdb/block/index.ts";
import { openDB, type DB, type DBOptions } from "../../src/tsdb/db.ts";
import { MAX_TIME, MIN_TIME } from "../../src/tsdb/types.ts";
import type { WriteFn } from "../../src/tsdb/wal/index.ts";
import { pollUntil } from "../support/wait.ts";

const MIN = 60_000;
const HOUR = 3_600_000;

const dirs: string[] = [];
const dbs: DB[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "promts-compact-err-"));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dbs.splice(0)) await d.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function open(dir: string, extra: Partial<DBOptions> = {}): Promise<DB> {
  const db = await openDB({ dir, compactionIntervalMs: 0, ...extra });
  dbs.push(db);
  return db;
}

/**
 * A write(2) stand-in: counts calls, and makes call number `failAt` (1-based;
 * 0 = never) and, while `sticky`, every later one fail with `code`, after
 * writing part of the buffer (a torn write).
 */
function faultyWriter(code: string, failAt: number, sticky = false) {
  const state = { calls: 0, failures: 0, failAt, sticky };
  const fn: WriteFn = (fd, buf, off, len) => {
    state.calls++;
    const failing = state.failAt > 0 && (state.calls === state.failAt || (state.sticky && state.calls > state.failAt));
    if (!failing) return writeSync(fd, buf, off, len);
    state.failures++;
    if (len > 3) writeSync(fd, buf, off, Math.floor(len / 2));
    const err = new Error(`${code}: simulated`) as Error & { code: string };
    err.code = code;
    throw err;
  };
  return { fn, state };
}

const SERIES: Labels[] = [
  labelsFromRecord({ __name__: "up", job: "node" }),
  labelsFromRecord({ __name__: "requests_total", job: "api", code: "200" }),
  labelsFromRecord({ __name__: "requests_total", job: "api", code: "500" }),
];
const value = (t: number, i: number) => t / MIN + i * 0.25;

/** One sample per minute in [from, to) for every series. */
function appendRange(db: DB, from: number, to: number): void {
  const app = db.appender();
  for (const [i, ls] of SERIES.entries()) {
    const ref = app.ref(ls);
    const ts: number[] = [];
    for (let t = from; t < to; t += MIN) ts.push(t);
    const res = app.appendBatch(new Uint32Array(ts.length).fill(ref), Float64Array.from(ts), Float64Array.from(ts.map((t) => value(t, i))), ts.length);
    expect(res.appended).toBe(ts.length);
  }
}

function expected(from: number, to: number): Record<string, [number, number][]> {
  const out: Record<string, [number, number][]> = {};
  for (const [i, ls] of SERIES.entries()) {
    const rows: [number, number][] = [];
    for (let t = from; t < to; t += MIN) rows.push([t, value(t, i)]);
    out[labelsKey(ls)] = rows;
  }
  return out;
}

async function dump(db: DB): Promise<Record<string, [number, number][]>> {
  const q = db.querier(MIN_TIME, MAX_TIME);
  try {
    const out: Record<string, [number, number][]> = {};
    for (const s of await q.select([newMatcher("=~", "__name__", ".+")], MIN_TIME, MAX_TIME)) {
      const b = s.samples();
      const rows: [number, number][] = [];
      for (let i = 0; i < b.length; i++) rows.push([b.t[i]!, b.v[i]!]);
      out[labelsKey(s.labels)] = rows;
    }
    return out;
  } finally {
    q.close();
  }
}

function metric(reg: Registry, name: string): number {
  const line = reg.render().split("\n").find((l) => l.startsWith(name + " "));
  if (!line) throw new Error(`metric ${name} not rendered`);
  return Number(line.split(" ")[1]);
}

/** Entries of the data directory other than the WAL: block directories and anything temporary. */
function blockEntries(dir: string): string[] {
  return readdirSync(dir).filter((n) => n !== "wal").sort();
}

async function settle<T>(p: Promise<T>): Promise<unknown> {
  return p.then(() => undefined, (e: unknown) => e);
}

/** How many write(2) calls a head compaction of the test data makes. */
async function writesPerHeadCompaction(): Promise<number> {
  const dir = tempDir();
  const counter = faultyWriter("EIO", 0);
  const db = await open(dir, { blockWriteFn: counter.fn });
  appendRange(db, 0, 4 * HOUR);
  await db.compact();
  expect(db.blocks().length).toBe(1);
  return counter.state.calls;
}

describe("EIO in the middle of a head compaction", () => {
  test("at every write: nothing lost, nothing left behind, counted, retried", async () => {
    const writes = await writesPerHeadCompaction();
    // chunk segment, index, tombstones, meta.json at least
    expect(writes).toBeGreaterThanOrEqual(4);
    for (let failAt = 1; failAt <= writes; failAt++) {
      const dir = tempDir();
      const registry = new Registry();
      const faults = faultyWriter("EIO", failAt);
      const db = await open(dir, { registry, blockWriteFn: faults.fn });
      appendRange(db, 0, 4 * HOUR);
      const want = expected(0, 4 * HOUR);

      const err = await settle(db.compact());
      expect(faults.state.failures).toBe(1);
      expect(err).toBeInstanceOf(BlockWriteError);
      expect((err as BlockWriteError).code).toBe("EIO");
      expect((err as Error).message).toMatch(/^write block .*\.tmp-for-creation: input\/output error$/);
      expect(metric(registry, "prometheus_tsdb_compactions_failed_total")).toBe(1);
      expect(db.blocks()).toEqual([]);
      expect(blockEntries(dir)).toEqual([]);
      expect(await dump(db)).toEqual(want);

      // What a crash right now leaves behind opens with every sample.
      const crashed = tempDir();
      cpSync(dir, crashed, { recursive: true });
      const reopened = await open(crashed);
      expect(await dump(reopened)).toEqual(want);

      // The next compaction writes the block; the head is truncated; nothing is lost.
      appendRange(db, 4 * HOUR, 5 * HOUR);
      await db.compact();
      expect(metric(registry, "prometheus_tsdb_compactions_failed_total")).toBe(1);
      expect(db.blocks().length).toBeGreaterThanOrEqual(1);
      expect(db.head().minTime()).toBeGreaterThanOrEqual(2 * HOUR);
      expect(await dump(db)).toEqual(expected(0, 5 * HOUR));
      await db.close();
      dbs.splice(dbs.indexOf(db), 1);
      const restarted = await open(dir);
      expect(await dump(restarted)).toEqual(expected(0, 5 * HOUR));
      expect(blockEntries(dir).every((n) => !n.includes(".tmp"))).toBe(true);
    }
  }, 60_000);

  test("ENOSPC that lasts: every attempt fails cleanly; once space returns the loop writes the block", async () => {
    const dir = tempDir();
    const registry = new Registry();
    const lines: string[] = [];
    const faults = faultyWriter("ENOSPC", 2, true);
    const db = await open(dir, {
      registry, blockWriteFn: faults.fn, compactionIntervalMs: 20,
      logger: newLogger({ write: (l) => lines.push(l), level: "info" }),
    });
    appendRange(db, 0, 4 * HOUR);
    await pollUntil("three failed compactions", () => metric(registry, "prometheus_tsdb_compactions_failed_total") >= 3);
    expect(db.blocks()).toEqual([]);
    expect(blockEntries(dir)).toEqual([]);
    expect(await dump(db)).toEqual(expected(0, 4 * HOUR));
    const logged = lines.find((l) => l.includes("level=error") && l.includes("compaction failed"));
    expect(logged).toBeDefined();
    expect(logged).toContain("no space left on device");

    faults.state.sticky = false;
    faults.state.failAt = 0;
    await pollUntil("the block written by the background loop", () => db.blocks().length === 1);
    expect(metric(registry, "prometheus_tsdb_compactions_total")).toBeGreaterThanOrEqual(1);
    expect(await dump(db)).toEqual(expected(0, 4 * HOUR));
  });
});

/** Writes a level-1 block of the test series holding [from, to). */
function writeTestBlock(dir: string, from: number, to: number): void {
  const series = SERIES.map((labels, i) => {
    const t: number[] = [];
    for (let x = from; x < to; x += MIN) t.push(x);
    return { labels, chunks: encodeChunks({ t: Float64Array.from(t), v: Float64Array.from(t.map((x) => value(x, i))), length: t.length }) };
  });
  writeBlock(dir, series, { minTime: from, maxTime: to });
}

describe("EIO in the middle of merging blocks", () => {
  test("at every write: the parents stay, no new block, counted; the retry merges them", async () => {
    const setup = (dir: string) => {
      for (let h = 0; h < 8; h += 2) writeTestBlock(dir, h * HOUR, (h + 2) * HOUR);
    };
    const probeDir = tempDir();
    setup(probeDir);
    const counter = faultyWriter("EIO", 0);
    const probe = await open(probeDir, { blockWriteFn: counter.fn });
    await probe.compact();
    expect(probe.blocks().map((b) => [b.minTime, b.maxTime])).toEqual([[0, 6 * HOUR], [6 * HOUR, 8 * HOUR]]);
    const writes = counter.state.calls;
    expect(writes).toBeGreaterThanOrEqual(4);

    for (let failAt = 1; failAt <= writes; failAt++) {
      const dir = tempDir();
      setup(dir);
      const before = blockEntries(dir);
      const registry = new Registry();
      const faults = faultyWriter("EIO", failAt);
      const db = await open(dir, { registry, blockWriteFn: faults.fn });
      const err = await settle(db.compact());
      expect(err).toBeInstanceOf(BlockWriteError);
      expect(metric(registry, "prometheus_tsdb_compactions_failed_total")).toBe(1);
      expect(db.blocks().length).toBe(4);
      expect(blockEntries(dir)).toEqual(before);
      expect(await dump(db)).toEqual(expected(0, 8 * HOUR));

      await db.compact();
      expect(db.blocks().map((b) => [b.minTime, b.maxTime])).toEqual([[0, 6 * HOUR], [6 * HOUR, 8 * HOUR]]);
      expect(await dump(db)).toEqual(expected(0, 8 * HOUR));
      await db.close();
      dbs.splice(dbs.indexOf(db), 1);
      const restarted = await open(dir);
      expect(restarted.blocks().length).toBe(2);
      expect(await dump(restarted)).toEqual(expected(0, 8 * HOUR));
    }
  }, 60_000);
});
