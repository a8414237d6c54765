/**
 * The engine over on-disk blocks against the same samples in memory: the
 * block read path (chunks decoded in order into one buffer, trimmed to the
 * query range, series spread over two blocks concatenated) must give the
 * engine exactly the samples, staleness markers bit for bit, so every
 * range query answers the same.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labelsFromRecord, labelsKey, newMatcher, type Labels } from "../../src/model/index.ts";
import { Engine, type QueryableFn, type Value } from "../../src/promql/index.ts";
import { encodeChunks, openDB, writeBlock, type BlockSeries, type DB } from "../../src/tsdb/index.ts";
import { MemStorage } from "./promqltest_storage.ts";
import { seededRandom } from "../support/random.ts";

const HOUR = 3_600_000;
const STALE_BITS = 0x7ff0000000000002n;

interface TestSeries {
  labels: Labels;
  t: Float64Array;
  v: Float64Array;
}

/** Counters every 15 s (jittered) over two hours with resets, NaN and staleness markers. */
function makeSeries(): TestSeries[] {
  const rand = seededRandom(17);
  const out: TestSeries[] = [];
  for (let n = 0; n < 24; n++) {
    const t: number[] = [];
    const v = new Float64Array(480);
    const bits = new BigUint64Array(v.buffer);
    let value = rand() * 100;
    for (let i = 0; i < 480; i++) {
      t.push(i * 15_000 + 1 + Math.floor(rand() * 3_000));
      const r = rand();
      if (r < 0.02) bits[i] = STALE_BITS;
      else if (r < 0.03) v[i] = NaN;
      else {
        value = r < 0.06 ? rand() * 5 : value + rand() * 20;
        v[i] = value;
      }
    }
    out.push({ labels: labelsFromRecord({ __name__: "x_total", g: `g${n % 3}`, n: String(n) }), t: Float64Array.from(t), v });
  }
  return out;
}

/** The part of a series with from <= t < to, as one block's chunks (cut every 120 samples). */
function blockPart(s: TestSeries, from: number, to: number): BlockSeries {
  let lo = 0;
  while (lo < s.t.length && s.t[lo]! < from) lo++;
  let hi = lo;
  while (hi < s.t.length && s.t[hi]! < to) hi++;
  return { labels: s.labels, chunks: encodeChunks({ t: s.t.slice(lo, hi), v: s.v.slice(lo, hi), length: hi - lo }) };
}

function bitsOf(v: Float64Array): bigint[] {
  return [...new BigUint64Array(v.buffer, v.byteOffset, v.length)];
}

function comparable(v: Value): string[] {
  if (v.type !== "matrix") throw new Error(`expected a matrix, got ${v.type}`);
  return v.series.map((s) => `${labelsKey(s.metric)} ${s.t.map((t, i) => `${t}=${Object.is(s.v[i], -0) ? "-0" : s.v[i]}`).join(" ")}`);
}

describe("the engine over blocks", () => {
  const series = makeSeries();
  let dir = "";
  let db: DB;
  let fromBlocks: QueryableFn;
  let fromMemory: QueryableFn;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "promts-engine-storage-"));
    writeBlock(dir, series.map((s) => blockPart(s, 0, HOUR)), { minTime: 0, maxTime: HOUR });
    writeBlock(dir, series.map((s) => blockPart(s, HOUR, 2 * HOUR)), { minTime: HOUR, maxTime: 2 * HOUR });
    db = await openDB({ dir, retentionTime: 0, compactionIntervalMs: 0 });
    fromBlocks = (mint, maxt) => db.querier(mint, maxt);
    const mem = new MemStorage();
    for (const s of series) mem.append(s.labels, s.t, s.v);
    fromMemory = () => mem.querier();
  });

  afterAll(async () => {
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("selected samples are exact, staleness markers included, for ranges cutting chunks anywhere", async () => {
    const rand = seededRandom(99);
    for (let k = 0; k < 12; k++) {
      const mint = Math.floor(rand() * 2 * HOUR), maxt = mint + Math.floor(rand() * (2 * HOUR - mint));
      const q = db.querier(mint, maxt);
      const selected = await q.select([newMatcher("=", "__name__", "x_total")], mint, maxt);
      q.close();
      expect(selected.length).toBe(series.length);
      for (const s of selected) {
        const want = series.find((x) => labelsKey(x.labels) === labelsKey(s.labels))!;
        let lo = 0;
        while (lo < want.t.length && want.t[lo]! < mint) lo++;
        let hi = lo;
        while (hi < want.t.length && want.t[hi]! <= maxt) hi++;
        const got = s.samples();
        expect(got.length).toBe(hi - lo);
        expect([...got.t.subarray(0, got.length)]).toEqual([...want.t.subarray(lo, hi)]);
        expect(bitsOf(got.v.subarray(0, got.length))).toEqual(bitsOf(want.v.subarray(lo, hi)));
      }
    }
  });

  test("range queries answer as they do over the same samples in memory", async () => {
    const engine = new Engine();
    const queries = [
      "x_total",
      "rate(x_total[5m])",
      "sum by (g) (rate(x_total[5m]))",
      "topk(3, x_total)",
      "max_over_time(x_total[10m])",
      "count_over_time(x_total[3m])",
      "avg(x_total)",
    ];
    for (const query of queries) {
      for (const [start, end, step] of [[1_033_000, 6_203_000, 30_000], [0, 2 * HOUR, 60_000], [HOUR - 45_000, HOUR + 95_000, 5_000]] as const) {
        const a = await engine.rangeQuery(fromBlocks, query, start, end, step);
        const b = await engine.rangeQuery(fromMemory, query, start, end, step);
        expect(comparable(a.value)).toEqual(comparable(b.value));
      }
    }
  });
});
