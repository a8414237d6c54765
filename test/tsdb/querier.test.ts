/**
 * The storage contract's read side: an open querier keeps the blocks it
 * covers on disk through compaction and retention (they go when it closes),
 * head truncation waits for queriers reading the range it cuts, a long query
 * racing compaction and retention gives the same answer as before them, and
 * the fan-out queryable merges sources with Prometheus's merge semantics.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labelsFromRecord, labelsKey, newMatcher, type Labels } from "../../src/model/index.ts";
import { Engine } from "../../src/promql/index.ts";
import {
  encodeChunks,
  fanoutQueryable,
  MAX_TIME,
  MIN_TIME,
  openDB,
  writeBlock,
  type DB,
  type Querier,
  type Queryable,
  type StoredSeries,
} from "../../src/tsdb/index.ts";
import { MemStorage } from "../promql/promqltest_storage.ts";

const HOUR = 3_600_000;
const MIN = 60_000;
const dirs: string[] = [];
const dbs: DB[] = [];

afterEach(async () => {
  for (const d of dbs.splice(0)) await d.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "promts-querier-"));
  dirs.push(d);
  return d;
}

const seriesA = labelsFromRecord({ __name__: "up", job: "a" });

/** Writes a block of `labels` sampled every minute over [minTime, maxTime). */
function block(dir: string, labels: Labels, minTime: number, maxTime: number, value = (t: number) => t / MIN): string {
  const ts: number[] = [];
  for (let t = minTime; t < maxTime; t += MIN) ts.push(t);
  const meta = writeBlock(dir, [{ labels, chunks: encodeChunks({ t: Float64Array.from(ts), v: Float64Array.from(ts.map(value)), length: ts.length }) }], { minTime, maxTime });
  return meta.ulid;
}

async function open(dir: string, retentionTime = 0): Promise<DB> {
  const d = await openDB({ dir, compactionIntervalMs: 0, retentionTime, blockDuration: 2 * HOUR });
  dbs.push(d);
  return d;
}

async function samplesOf(q: Querier, mint = MIN_TIME, maxt = MAX_TIME): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const s of await q.select([newMatcher("=~", "__name__", ".+")], mint, maxt)) {
    const b = s.samples();
    out[labelsKey(s.labels)] = [...b.t.subarray(0, b.length)];
  }
  return out;
}

describe("block reference counting", () => {
  test("a block deleted by retention stays on disk and readable until its last querier closes", async () => {
    const dir = tempDir();
    const old = block(dir, seriesA, 0, 2 * HOUR);
    const d = await open(dir, 4 * HOUR);
    // Queriers over the block only: truncating the head (far ahead) does not wait for them.
    const q1 = d.querier(MIN_TIME, 3 * HOUR);
    const q2 = d.querier(0, HOUR);
    // Head data far ahead is cut into a newer block, which puts the old one beyond retention.
    const app = d.appender();
    const ref = app.ref(seriesA);
    for (let t = 10 * HOUR; t < 14 * HOUR; t += MIN) app.appendBatch(Uint32Array.of(ref), Float64Array.of(t), Float64Array.of(1), 1);
    await d.compact();
    expect(d.blocks().map((b) => b.ulid)).not.toContain(old);
    expect(existsSync(join(dir, old))).toBe(true);
    expect((await samplesOf(q1))[labelsKey(seriesA)]!.length).toBe(120);
    q1.close();
    expect(existsSync(join(dir, old))).toBe(true);
    q2.close();
    expect(existsSync(join(dir, old))).toBe(false);
    // Reads after close are refused.
    await expect(q1.select([newMatcher("=", "job", "a")], MIN_TIME, MAX_TIME)).rejects.toThrow("querier already closed");
  });

  test("blocks compacted into a larger one stay until the querier reading them closes, and answers do not change", async () => {
    const dir = tempDir();
    const parents = [block(dir, seriesA, 0, 2 * HOUR), block(dir, seriesA, 2 * HOUR, 4 * HOUR), block(dir, seriesA, 4 * HOUR, 6 * HOUR)];
    const d = await open(dir, 0);
    const q = d.querier(MIN_TIME, 6 * HOUR - 1);
    const before = await samplesOf(q);
    // Head data far ahead makes the three 2h blocks due for compaction into one 6h block.
    const app = d.appender();
    const ref = app.ref(seriesA);
    for (let t = 20 * HOUR; t < 24 * HOUR; t += MIN) app.appendBatch(Uint32Array.of(ref), Float64Array.of(t), Float64Array.of(1), 1);
    await d.compact();
    expect(d.blocks().some((b) => parents.includes(b.ulid))).toBe(false);
    for (const p of parents) expect(existsSync(join(dir, p))).toBe(true);
    expect(await samplesOf(q, MIN_TIME, 6 * HOUR)).toEqual(before);
    q.close();
    for (const p of parents) expect(existsSync(join(dir, p))).toBe(false);
    expect(readdirSync(dir).some((n) => n.includes(".tmp"))).toBe(false);
  });

  test("a long query racing compaction and retention gives the answer it gives alone", async () => {
    const dir = tempDir();
    for (let i = 0; i < 6; i++) block(dir, labelsFromRecord({ __name__: "load", i: "x" }), i * 2 * HOUR, (i + 1) * 2 * HOUR, (t) => Math.sin(t / MIN));
    const d = await open(dir, 8 * HOUR);
    const engine = new Engine();
    const query = "quantile_over_time(0.5, load[1h:10s])";
    const alone = await engine.rangeQuery((a, b) => d.querier(a, b), query, HOUR, 12 * HOUR, 5 * MIN);
    // Now run it again while head data far ahead triggers compaction and retention of the same blocks.
    const app = d.appender();
    const ref = app.ref(labelsFromRecord({ __name__: "load", i: "x" }));
    for (let t = 30 * HOUR; t < 34 * HOUR; t += MIN) app.appendBatch(Uint32Array.of(ref), Float64Array.of(t), Float64Array.of(1), 1);
    const before = readdirSync(dir).filter((n) => /^[0-9A-Z]{26}$/.test(n));
    // The query selects, then compaction and retention run, then it reads the samples it selected.
    let compacted!: () => void;
    const compactionDone = new Promise<void>((resolve) => (compacted = resolve));
    const delayed = (a: number, b: number): Querier => {
      const q = d.querier(a, b);
      return {
        select: async (...args) => {
          const r = await q.select(...args);
          await compactionDone;
          return r;
        },
        labelNames: (o) => q.labelNames(o),
        labelValues: (n, o) => q.labelValues(n, o),
        close: () => q.close(),
      };
    };
    const racing = engine.rangeQuery(delayed, query, HOUR, 12 * HOUR, 5 * MIN);
    await d.compact();
    const during = readdirSync(dir);
    compacted();
    const result = await racing;
    expect(result.value).toEqual(alone.value);
    // Compaction and retention replaced every old block while the query held them; none vanished under it.
    expect(d.blocks().some((b) => before.includes(b.ulid))).toBe(false);
    expect(before.every((n) => during.includes(n))).toBe(true);
    // Once the query is done they are gone.
    expect(readdirSync(dir).some((n) => before.includes(n))).toBe(false);
  });
});

describe("head truncation", () => {
  test("waits for open queriers reading the range it cuts", async () => {
    const dir = tempDir();
    const d = await open(dir, 0);
    const app = d.appender();
    const ref = app.ref(seriesA);
    for (let t = 0; t < 4 * HOUR; t += MIN) app.appendBatch(Uint32Array.of(ref), Float64Array.of(t), Float64Array.of(t / MIN), 1);
    const q = d.querier(0, HOUR);
    const selected = await q.select([newMatcher("=", "job", "a")], 0, HOUR);
    let compacted = false;
    const compaction = d.compact().then(() => (compacted = true));
    // The block is written, but truncating the head waits for the querier.
    for (let i = 0; i < 50 && d.blocks().length === 0; i++) await Bun.sleep(10);
    await Bun.sleep(50);
    expect(compacted).toBe(false);
    expect(d.head().minTime()).toBe(0);
    expect(selected[0]!.samples().length).toBe(61);
    q.close();
    await compaction;
    expect(d.head().minTime()).toBeGreaterThanOrEqual(2 * HOUR);
  });

  test("does not wait for queriers reading only newer data", async () => {
    const dir = tempDir();
    const d = await open(dir, 0);
    const app = d.appender();
    const ref = app.ref(seriesA);
    for (let t = 0; t < 4 * HOUR; t += MIN) app.appendBatch(Uint32Array.of(ref), Float64Array.of(t), Float64Array.of(1), 1);
    const q = d.querier(3 * HOUR, 4 * HOUR);
    await d.compact();
    expect(d.head().minTime()).toBeGreaterThanOrEqual(2 * HOUR);
    q.close();
  });
});

describe("fan-out queryable", () => {
  function mem(rows: [Record<string, string>, number[], number[]][]): Queryable {
    const st = new MemStorage();
    for (const [labels, t, v] of rows) st.append(labelsFromRecord(labels), Float64Array.from(t), Float64Array.from(v));
    return { querier: () => st.querier() };
  }

  test("identical series are merged, duplicate samples collapsed (the primary wins), others kept", async () => {
    const primary = mem([[{ __name__: "x", a: "1" }, [1000, 2000, 3000], [1, 2, 3]], [{ __name__: "x", a: "2" }, [1000], [5]]]);
    const secondary = mem([[{ __name__: "x", a: "1" }, [2000, 4000], [20, 4]], [{ __name__: "x", a: "3" }, [1000], [7]]]);
    const q = fanoutQueryable(primary, [secondary]).querier(0, 10_000);
    const got = await q.select([newMatcher("=", "__name__", "x")], 0, 10_000);
    q.close();
    expect(got.map((s: StoredSeries) => labelsKey(s.labels))).toEqual(['{__name__="x", a="1"}', '{__name__="x", a="2"}', '{__name__="x", a="3"}']);
    const b = got[0]!.samples();
    expect([...b.t.subarray(0, b.length)]).toEqual([1000, 2000, 3000, 4000]);
    expect([...b.v.subarray(0, b.length)]).toEqual([1, 2, 3, 4]);
    const names = fanoutQueryable(primary, [secondary]).querier(0, 10_000);
    expect(await names.labelValues("a")).toEqual(["1", "2", "3"]);
    names.close();
  });

  test("a failing secondary is a warning, a failing primary an error; close reaches every source", async () => {
    let closed = 0;
    const failing: Queryable = {
      querier: () => ({
        select: async () => {
          throw new Error("remote read: connection refused");
        },
        labelNames: async () => [],
        labelValues: async () => [],
        close: () => void closed++,
      }),
    };
    const primary = mem([[{ __name__: "x" }, [1000], [1]]]);
    const warnings: string[] = [];
    const q = fanoutQueryable(primary, [failing]).querier(0, 10_000);
    expect((await q.select([newMatcher("=", "__name__", "x")], 0, 10_000, { onWarning: (m) => warnings.push(m) })).length).toBe(1);
    expect(warnings).toEqual(["remote read: connection refused"]);
    q.close();
    expect(closed).toBe(1);
    const broken = fanoutQueryable(failing, [primary]).querier(0, 10_000);
    await expect(broken.select([newMatcher("=", "__name__", "x")], 0, 10_000)).rejects.toThrow("connection refused");
    broken.close();
  });

  test("the engine reports a failing secondary as a query warning", async () => {
    const failing: Queryable = {
      querier: () => ({
        select: async () => {
          throw new Error("peer unreachable");
        },
        labelNames: async () => [],
        labelValues: async () => [],
        close: () => {},
      }),
    };
    const all = fanoutQueryable(mem([[{ __name__: "x" }, [1000], [1]]]), [failing]);
    const res = await new Engine().instantQuery((a, b) => all.querier(a, b), "x", 1000);
    expect(res.value.type === "vector" && res.value.samples.length).toBe(1);
    expect(res.warnings).toEqual(["peer unreachable"]);
  });
});
