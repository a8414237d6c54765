import { afterEach, beforeEach, describe, expect, onTestFinished, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labelsFromRecord, labelsKey, newMatcher, Registry, type Labels } from "../../src/model/index.ts";
import { encodeChunks, writeBlock, type BlockMeta } from "../../src/tsdb/block/index.ts";
import { compactionRanges, exponentialBlockRanges, planCompaction } from "../../src/tsdb/compact.ts";
import { openDB, type DB, type DBOptions } from "../../src/tsdb/db.ts";
import { AppendStatus, MAX_TIME, MIN_TIME, type Querier } from "../../src/tsdb/types.ts";

const MIN = 60_000;
const HOUR = 3_600_000;

let dir: string;
let db: DB | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "promts-db-"));
});
afterEach(async () => {
  await db?.close();
  db = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function open(extra: Partial<DBOptions> = {}): Promise<DB> {
  db = await openDB({ dir, compactionIntervalMs: 0, ...extra });
  return db;
}

const seriesA = labelsFromRecord({ __name__: "up", job: "node" });
const seriesB = labelsFromRecord({ __name__: "requests_total", job: "api", code: "200" });

/** Appends one sample per minute in [from, to) to each series; value = f(t). */
function appendRange(target: DB, labels: Labels[], from: number, to: number, value: (t: number, i: number) => number): void {
  const app = target.appender();
  for (const [i, ls] of labels.entries()) {
    const ref = app.ref(ls);
    const ts: number[] = [];
    for (let t = from; t < to; t += MIN) ts.push(t);
    const res = app.appendBatch(
      new Uint32Array(ts.length).fill(ref),
      Float64Array.from(ts),
      Float64Array.from(ts.map((t) => value(t, i))),
      ts.length,
    );
    expect(res.appended).toBe(ts.length);
  }
}

/** Runs `read` on a querier over [mint, maxt] of `d`, closing it afterwards. */
async function withQuerier<T>(d: DB, mint: number, maxt: number, read: (q: Querier) => Promise<T>): Promise<T> {
  const q = d.querier(mint, maxt);
  try {
    return await read(q);
  } finally {
    q.close();
  }
}

/** Every series and sample `d` returns for the whole time range. */
async function dump(d: DB): Promise<Record<string, [number, number][]>> {
  const out: Record<string, [number, number][]> = {};
  const selected = await withQuerier(d, MIN_TIME, MAX_TIME, (q) => q.select([newMatcher("=~", "__name__", ".+")], MIN_TIME, MAX_TIME));
  for (const s of selected) {
    const b = s.samples();
    const rows: [number, number][] = [];
    for (let i = 0; i < b.length; i++) rows.push([b.t[i]!, b.v[i]!]);
    out[labelsKey(s.labels)] = rows;
  }
  return out;
}

function metric(reg: Registry, name: string): number {
  const line = reg.render().split("\n").find((l) => l.startsWith(name + " "));
  if (!line) throw new Error(`metric ${name} not rendered`);
  return Number(line.split(" ")[1]);
}

const value = (t: number, i: number) => t / MIN + i * 0.25;

describe("DB", () => {
  test("compact() cuts a 2h block off a head spanning more than 3h; queries stay seamless", async () => {
    const registry = new Registry();
    const d = await open({ registry });
    appendRange(d, [seriesA, seriesB], 0, 4 * HOUR, value);
    const before = (await dump(d));
    expect(before[labelsKey(seriesA)]!.length).toBe(240);

    await d.compact();
    expect(d.blocks().map((b) => [b.minTime, b.maxTime, b.stats.numSeries, b.stats.numSamples])).toEqual([[0, 2 * HOUR, 2, 240]]);
    expect(d.head().minTime()).toBeGreaterThanOrEqual(2 * HOUR);
    expect((await dump(d))).toEqual(before);
    // A window straddling the block/head boundary.
    const mid = (await withQuerier(d, 2 * HOUR - 2 * MIN, 2 * HOUR + MIN, (q) => q.select([newMatcher("=", "job", "node")], MIN_TIME, MAX_TIME)));
    expect(mid.length).toBe(1);
    expect([...mid[0]!.samples().t]).toEqual([2 * HOUR - 2 * MIN, 2 * HOUR - MIN, 2 * HOUR, 2 * HOUR + MIN]);
    expect((await withQuerier(d, MIN_TIME, MAX_TIME, (q) => q.labelValues("job")))).toEqual(["api", "node"]);
    expect(metric(registry, "prometheus_tsdb_blocks_loaded")).toBe(1);
    expect(metric(registry, "prometheus_tsdb_compactions_total")).toBe(1);
    expect(metric(registry, "prometheus_tsdb_head_truncations_total")).toBe(1);
    expect(metric(registry, "prometheus_tsdb_lowest_timestamp")).toBe(0);
    expect(metric(registry, "prometheus_tsdb_storage_blocks_bytes")).toBeGreaterThan(0);

    await d.compact();
    expect(d.blocks().length).toBe(1);
  });

  test("three 2h blocks are compacted into one 6h block with identical query results", async () => {
    const d = await open();
    appendRange(d, [seriesA, seriesB], 0, 10 * HOUR, value);
    const before = (await dump(d));
    await d.compact();
    const blocks = d.blocks();
    expect(blocks.map((b) => [b.minTime, b.maxTime, b.compaction.level])).toEqual([
      [0, 6 * HOUR, 2],
      [6 * HOUR, 8 * HOUR, 1],
    ]);
    expect(blocks[0]!.compaction.sources.length).toBe(3);
    expect(blocks[0]!.compaction.parents!.length).toBe(3);
    expect(blocks[0]!.stats.numSamples).toBe(2 * 360);
    expect(readdirSync(dir).filter((n) => n !== "wal").sort()).toEqual(blocks.map((b) => b.ulid).sort());
    expect((await dump(d))).toEqual(before);
  });

  test("restart keeps blocks and head data", async () => {
    let d = await open();
    appendRange(d, [seriesA, seriesB], 0, 5 * HOUR, value);
    await d.compact();
    appendRange(d, [seriesA], 5 * HOUR, 6 * HOUR, value);
    const before = (await dump(d));
    const blocks = d.blocks();
    await d.close();
    d = await open();
    expect(d.blocks()).toEqual(blocks);
    expect((await dump(d))).toEqual(before);
  });

  test("time retention deletes blocks older than newest maxTime - retention", async () => {
    const registry = new Registry();
    const d = await open({ retentionTime: 5 * HOUR, registry });
    appendRange(d, [seriesA], 0, 10 * HOUR, value);
    await d.compact();
    expect(d.blocks().map((b) => [b.minTime / HOUR, b.maxTime / HOUR])).toEqual([[2, 4], [4, 6], [6, 8]]);
    expect(metric(registry, "prometheus_tsdb_time_retentions_total")).toBe(1);
    expect(readdirSync(dir).some((n) => n.includes(".tmp"))).toBe(false);
    const first = (await withQuerier(d, MIN_TIME, MAX_TIME, (q) => q.select([newMatcher("=", "job", "node")], MIN_TIME, MAX_TIME)))[0]!.samples().t[0];
    expect(first).toBe(2 * HOUR);
  });

  test("size retention deletes the oldest blocks until the total fits", async () => {
    const ulids: string[] = [];
    for (let h = 0; h < 8; h += 2) {
      const ts = Array.from({ length: 120 }, (_, i) => h * HOUR + i * MIN);
      const b = { t: Float64Array.from(ts), v: Float64Array.from(ts, (t) => value(t, 0)), length: ts.length };
      ulids.push(writeBlock(dir, [{ labels: seriesA, chunks: encodeChunks(b) }], { minTime: h * HOUR, maxTime: (h + 2) * HOUR }).ulid);
    }
    await (await open({ retentionTime: 0 })).close();
    const size = (sub: string) => readdirSync(join(dir, sub), { recursive: true }).reduce((n, f) => {
      const st = statSync(join(dir, sub, String(f)));
      return n + (st.isFile() ? st.size : 0);
    }, 0);
    const limit = size("wal") + size(ulids[2]!) + size(ulids[3]!) + Math.floor(size(ulids[1]!) / 2);
    const registry = new Registry();
    const d = await open({ retentionTime: 0, retentionSize: limit, registry });
    expect(d.blocks().map((b) => b.ulid)).toEqual([ulids[2]!, ulids[3]!]);
    expect(metric(registry, "prometheus_tsdb_size_retentions_total")).toBe(1);
    expect(metric(registry, "prometheus_tsdb_retention_limit_bytes")).toBe(limit);
    expect(readdirSync(dir).sort()).toEqual([ulids[2]!, ulids[3]!, "wal"].sort());
  });

  test("leftover temporary dirs and already-compacted parents are removed on open", async () => {
    mkdirSync(join(dir, "01ARZ3NDEKTSV4RRFFQ69G5FAV.tmp-for-creation", "chunks"), { recursive: true });
    mkdirSync(join(dir, "01ARZ3NDEKTSV4RRFFQ69G5FAW.tmp-for-deletion"), { recursive: true });
    const mk = (mint: number) => ({ labels: seriesA, chunks: encodeChunks({ t: Float64Array.of(mint), v: Float64Array.of(1), length: 1 }) });
    const parent = writeBlock(dir, [mk(0)], { minTime: 0, maxTime: HOUR });
    const child = writeBlock(dir, [mk(0)], {
      minTime: 0,
      maxTime: 2 * HOUR,
      level: 2,
      sources: [parent.ulid],
      parents: [{ ulid: parent.ulid, minTime: 0, maxTime: HOUR }],
    });
    const d = await open();
    expect(d.blocks().map((b) => b.ulid)).toEqual([child.ulid]);
    expect(readdirSync(dir).sort()).toEqual([child.ulid, "wal"].sort());
  });

  test("overlapping blocks are merged by the querier and by vertical compaction", async () => {
    const mk = (ts: number[], v: number) => [{
      labels: seriesA,
      chunks: encodeChunks({ t: Float64Array.from(ts), v: new Float64Array(ts.length).fill(v), length: ts.length }),
    }];
    writeBlock(dir, mk([0, 2 * MIN, 4 * MIN], 1), { minTime: 0, maxTime: 4 * MIN + 1 });
    writeBlock(dir, mk([MIN, 2 * MIN, 3 * MIN], 2), { minTime: MIN, maxTime: 3 * MIN + 1 });
    const d = await open();
    expect(d.blocks().length).toBe(2);
    const before = (await dump(d))[labelsKey(seriesA)]!;
    expect(before.map(([t]) => t / MIN)).toEqual([0, 1, 2, 3, 4]);
    await d.compact();
    expect(d.blocks().map((b) => [b.minTime, b.maxTime, b.stats.numSamples])).toEqual([[0, 4 * MIN + 1, 5]]);
    expect((await dump(d))[labelsKey(seriesA)]).toEqual(before);
  });

  test("a corrupt block makes openDB fail with the file named", async () => {
    const meta = writeBlock(dir, [{ labels: seriesA, chunks: encodeChunks({ t: Float64Array.of(0), v: Float64Array.of(1), length: 1 }) }], { minTime: 0, maxTime: 1 });
    rmSync(join(dir, meta.ulid, "index"));
    await expect(openDB({ dir, compactionIntervalMs: 0 })).rejects.toThrow(join(dir, meta.ulid, "index"));
  });

  test("the background loop compacts on its own", async () => {
    const d = await open({ compactionIntervalMs: 20 });
    appendRange(d, [seriesA], 0, 4 * HOUR, value);
    const deadline = Date.now() + 5000;
    while (d.blocks().length === 0 && Date.now() < deadline) await Bun.sleep(10);
    expect(d.blocks().length).toBe(1);
  });
});

describe("min valid time", () => {
  test("compaction moves the head's min valid time to the block's maxTime", async () => {
    const d = await open();
    appendRange(d, [seriesA], 0, 4 * HOUR, value);
    await d.compact();
    expect(d.blocks().map((b) => b.maxTime)).toEqual([2 * HOUR]);
    expect(d.head().minValidTime()).toBe(2 * HOUR);
  });

  test("after a restart, samples older than the newest block are out of bounds", async () => {
    let d = await open();
    appendRange(d, [seriesA], 0, 4 * HOUR, value);
    await d.compact();
    await d.close();
    d = await open();
    expect(d.head().minValidTime()).toBe(2 * HOUR);
    const app = d.appender();
    const ref = app.ref(seriesB);
    const status = new Uint8Array(2);
    const res = app.appendBatch(Uint32Array.of(ref, ref), Float64Array.of(HOUR, 2 * HOUR), Float64Array.of(1, 2), 2, status);
    expect([...status]).toEqual([AppendStatus.OutOfBounds, AppendStatus.Ok]);
    expect(res.outOfBounds).toBe(1);
  });

  test("WAL samples already persisted in a block are not replayed into the head", async () => {
    // As after a crash between writing a block and truncating the head: the WAL still holds the block's samples.
    let d = await open();
    appendRange(d, [seriesA, seriesB], 0, 3 * HOUR, value);
    const before = (await dump(d));
    await d.close();
    const ts: number[] = [];
    for (let t = 0; t < 2 * HOUR; t += MIN) ts.push(t);
    writeBlock(dir, [seriesA, seriesB].map((labels, i) => ({
      labels,
      chunks: encodeChunks({ t: Float64Array.from(ts), v: Float64Array.from(ts.map((t) => value(t, i))), length: ts.length }),
    })), { minTime: 0, maxTime: 2 * HOUR });
    d = await open();
    expect(d.head().minTime()).toBe(2 * HOUR);
    const headSamples = d.head().querier(MIN_TIME, MAX_TIME).select([newMatcher("=~", "__name__", ".+")], MIN_TIME, MAX_TIME)
      .map((s) => s.samples().t[0]);
    expect(headSamples).toEqual([2 * HOUR, 2 * HOUR]);
    expect((await dump(d))).toEqual(before);
  });
});

describe("label queries by time range", () => {
  test("blocks and head outside the requested range contribute no names or values", async () => {
    const d = await open();
    appendRange(d, [seriesA], 0, 2 * HOUR, value); // "up" only before 2h
    appendRange(d, [seriesB], 2 * HOUR, 4 * HOUR, value); // "requests_total" only after
    await d.compact();
    expect(d.blocks().map((b) => [b.minTime, b.maxTime])).toEqual([[0, 2 * HOUR]]);
    const all = d.querier(MIN_TIME, MAX_TIME);
    onTestFinished(() => all.close());
    expect(await all.labelValues("__name__")).toEqual(["requests_total", "up"]);
    expect(await all.labelValues("__name__", { mint: 0, maxt: HOUR })).toEqual(["up"]);
    expect(await all.labelNames({ mint: 0, maxt: HOUR })).toEqual(["__name__", "job"]);
    expect(await all.labelValues("__name__", { mint: 3 * HOUR, maxt: 5 * HOUR })).toEqual(["requests_total"]);
    expect(await all.labelNames({ mint: 3 * HOUR, maxt: 5 * HOUR })).toEqual(["__name__", "code", "job"]);
    expect(await all.labelNames({ mint: 5 * HOUR, maxt: 6 * HOUR })).toEqual([]);
    expect(await all.labelValues("job", { mint: 5 * HOUR, maxt: 6 * HOUR })).toEqual([]);
    expect((await withQuerier(d, 0, HOUR, (q) => q.labelValues("__name__")))).toEqual(["up"]);
    expect((await withQuerier(d, 5 * HOUR, 6 * HOUR, (q) => q.labelValues("__name__", { mint: 0, maxt: 6 * HOUR })))).toEqual([]);
  });
});

describe("compaction and the event loop", () => {
  test("a timer keeps firing with bounded gaps while a large head is compacted", async () => {
    const d = await open();
    const series = 20_000, span = 3.5 * HOUR, step = 2 * MIN;
    const app = d.appender();
    const refs = new Uint32Array(series);
    for (let i = 0; i < series; i++) refs[i] = app.ref(labelsFromRecord({ __name__: `load_${i % 100}`, instance: String(i) }));
    const t = new Float64Array(series), v = new Float64Array(series);
    for (let ts = 0; ts < span; ts += step) {
      t.fill(ts);
      for (let i = 0; i < series; i++) v[i] = i + ts / step;
      app.appendBatch(refs, t, v, series);
    }
    let last = performance.now(), maxGap = 0, ticks = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 1);
    const start = performance.now();
    last = start;
    try {
      await d.compact();
    } finally {
      clearInterval(timer);
    }
    const took = performance.now() - start;
    expect(d.blocks().map((b) => b.stats.numSeries)).toEqual([series]);
    // Without yielding, writing the block alone blocks the loop for most of the run.
    expect(maxGap).toBeLessThan(Math.max(150, took / 4));
    expect(ticks).toBeGreaterThan(took / 50);
  }, 30_000);
});

describe("stats", () => {
  test("DB.stats delegates to the head's statistics", async () => {
    const d = await open();
    appendRange(d, [seriesA, seriesB], 0, HOUR, value);
    const stats = d.stats(1);
    expect(stats).toEqual(d.head().stats(1));
    expect(stats.headStats).toMatchObject({ numSeries: 2, minTime: 0, maxTime: HOUR - MIN });
    expect(stats.seriesCountByLabelValuePair).toEqual([{ name: "__name__=requests_total", value: 1 }]);
    expect(d.stats().labelValueCountByLabelName.map((s) => s.name)).toEqual(["__name__", "job", "code"]);
  });
});

describe("compaction planning", () => {
  const meta = (ulid: string, minH: number, maxH: number): BlockMeta => ({
    ulid,
    minTime: minH * HOUR,
    maxTime: maxH * HOUR,
    stats: { numSamples: 1, numSeries: 1, numChunks: 1 },
    compaction: { level: 1, sources: [ulid] },
    version: 1,
  });
  const ids = (ms: BlockMeta[]) => ms.map((m) => m.ulid);

  test("ranges grow ×3 up to a tenth of the retention or 31 days", () => {
    expect(exponentialBlockRanges(2 * HOUR, 3, 3)).toEqual([2 * HOUR, 6 * HOUR, 18 * HOUR]);
    expect(compactionRanges(2 * HOUR, 15 * 24 * HOUR)).toEqual([2, 6, 18].map((h) => h * HOUR));
    expect(compactionRanges(2 * HOUR, 0)).toEqual([2, 6, 18, 54, 162, 486].map((h) => h * HOUR));
    expect(compactionRanges(2 * HOUR, HOUR)).toEqual([2 * HOUR]);
  });

  test("the newest block is left out; a full aligned range is compacted", () => {
    const ranges = compactionRanges(2 * HOUR, 0);
    expect(ids(planCompaction([meta("a", 0, 2), meta("b", 2, 4), meta("c", 4, 6)], ranges))).toEqual([]);
    expect(ids(planCompaction([meta("a", 0, 2), meta("b", 2, 4), meta("c", 4, 6), meta("d", 6, 8)], ranges))).toEqual(["a", "b", "c"]);
    // With a gap, a group lying wholly before the newest candidate is compacted too.
    expect(ids(planCompaction([meta("a", 0, 2), meta("b", 2, 4), meta("d", 6, 8), meta("e", 8, 10)], ranges))).toEqual(["a", "b"]);
    expect(ids(planCompaction([meta("x", 0, 6), meta("d", 6, 8), meta("e", 8, 10), meta("f", 10, 12), meta("g", 12, 14)], ranges))).toEqual(["d", "e", "f"]);
  });

  test("overlapping blocks are chosen first", () => {
    const ranges = compactionRanges(2 * HOUR, 0);
    expect(ids(planCompaction([meta("a", 0, 2), meta("b", 2, 4), meta("c", 3, 5), meta("d", 6, 8)], ranges))).toEqual(["b", "c"]);
  });
});
