import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labelsFromRecord, labelsKey, newMatcher, Registry, type Labels, type Matcher } from "../../../src/model/index.ts";
import { decodeXor } from "../../../src/tsdb/chunkenc/index.ts";
import { APPEND_ERRORS, Head } from "../../../src/tsdb/head/index.ts";
import { AppendStatus, MAX_TIME, MIN_TIME } from "../../../src/tsdb/types.ts";
import { RecordType, decodeSamples, readSegment } from "../../../src/tsdb/wal/index.ts";

const dirs: string[] = [];
const heads: Head[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "promts-head-"));
  dirs.push(d);
  return d;
}
async function openHead(dir: string, opts: { registry?: Registry; chunkRange?: number } = {}): Promise<Head> {
  const h = await Head.open({ dir, ...opts });
  heads.push(h);
  return h;
}
afterEach(async () => {
  for (const h of heads.splice(0)) await h.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const L = (rec: Record<string, string>): Labels => labelsFromRecord(rec);

/** Appends, for each series, samples at t = start, start+step, … (n of them) with value = t / 1000 + offset. */
function appendSeries(head: Head, series: Labels[], start: number, step: number, n: number, offset = 0) {
  const app = head.appender();
  const refs = series.map((ls) => app.ref(ls));
  const total = refs.length * n;
  const r = new Uint32Array(total), t = new Float64Array(total), v = new Float64Array(total);
  let k = 0;
  for (let i = 0; i < n; i++) {
    for (const ref of refs) {
      r[k] = ref;
      t[k] = start + i * step;
      v[k] = t[k]! / 1000 + offset;
      k++;
    }
  }
  return app.appendBatch(r, t, v, total);
}

function selectKeys(head: Head, ms: Matcher[], mint = MIN_TIME, maxt = MAX_TIME): string[] {
  return head.querier(mint, maxt).select(ms, mint, maxt).map((s) => labelsKey(s.labels));
}

const series = [
  L({ __name__: "up", job: "api", instance: "a" }),
  L({ __name__: "up", job: "api", instance: "b" }),
  L({ __name__: "up", job: "node", instance: "a", env: "prod" }),
  L({ __name__: "requests_total", job: "node", instance: "a", env: "dev\nline" }),
];

describe("head appends and queries", () => {
  test("empty head reports MAX_TIME/MIN_TIME bounds", async () => {
    const head = await openHead(tempDir());
    expect(head.minTime()).toBe(MAX_TIME);
    expect(head.maxTime()).toBe(MIN_TIME);
    expect(head.numSeries()).toBe(0);
  });

  test("append then select returns sorted series with samples restricted to [mint, maxt]", async () => {
    const head = await openHead(tempDir());
    const res = appendSeries(head, series, 0, 15_000, 500);
    expect(res).toEqual({ appended: 2000, outOfOrder: 0, duplicate: 0, outOfBounds: 0, unknownRef: 0 });
    expect(head.numSeries()).toBe(4);
    expect(head.minTime()).toBe(0);
    expect(head.maxTime()).toBe(499 * 15_000);
    const got = head.querier(0, MAX_TIME).select([newMatcher("=", "__name__", "up")], 30_000, 60_000);
    expect(got.map((s) => labelsKey(s.labels))).toEqual([...series.slice(0, 3)].map(labelsKey).sort());
    const s = got[0]!.samples();
    expect([...s.t.subarray(0, s.length)]).toEqual([30_000, 45_000, 60_000]);
    expect([...s.v.subarray(0, s.length)]).toEqual([30, 45, 60]);
    const all = head.querier(MIN_TIME, MAX_TIME).select([newMatcher("=", "instance", "b")], MIN_TIME, MAX_TIME);
    expect(all[0]!.samples().length).toBe(500);
    const chunks = all[0]!.chunks();
    expect(chunks.length).toBeGreaterThan(1);
    let n = 0;
    for (const c of chunks) n += decodeXor(c.data).t.length;
    expect(n).toBe(500);
  });

  test("the querier's own range clamps select", async () => {
    const head = await openHead(tempDir());
    appendSeries(head, series.slice(0, 1), 0, 1000, 10);
    const [s] = head.querier(2000, 4000).select([newMatcher("=", "job", "api")], 0, 100_000);
    expect([...s!.samples().t]).toEqual([2000, 3000, 4000]);
    expect(head.querier(20_000, 30_000).select([newMatcher("=", "job", "api")], 0, 100_000)).toEqual([]);
  });

  test("matchers follow Prometheus semantics", async () => {
    const head = await openHead(tempDir());
    appendSeries(head, series, 0, 1000, 3);
    const k = (ms: Matcher[]) => selectKeys(head, ms).length;
    expect(k([newMatcher("=", "job", "api")])).toBe(2);
    expect(k([newMatcher("=", "job", "api"), newMatcher("=", "env", "")])).toBe(2);
    expect(k([newMatcher("=", "job", "node"), newMatcher("=~", "env", "")])).toBe(0);
    expect(k([newMatcher("=~", "job", ".+"), newMatcher("!=", "env", "")])).toBe(2);
    // Go's `.` stops at "\n" (Prometheus 2.42: up{l=~".*"} does not select l="a\nb").
    expect(k([newMatcher("=~", "job", ".+"), newMatcher("=~", "env", ".*")])).toBe(3);
    expect(k([newMatcher("=~", "job", ".+"), newMatcher("=~", "env", "(?s).*")])).toBe(4);
    expect(k([newMatcher("=~", "job", ".+"), newMatcher("!=", "env", "prod")])).toBe(3);
    expect(k([newMatcher("=~", "job", "api|node")])).toBe(4);
    expect(k([newMatcher("=~", "job", "ap")])).toBe(0);
    expect(k([newMatcher("=~", "job", "(?i)API")])).toBe(2);
    expect(k([newMatcher("!~", "instance", "a"), newMatcher("=~", "__name__", "up|requests_total")])).toBe(1);
    expect(k([newMatcher("=~", "env", "dev.line")])).toBe(0);
    expect(k([newMatcher("=~", "env", "(?s)dev.line")])).toBe(1);
    expect(k([newMatcher("=", "nope", "x")])).toBe(0);
    expect(k([newMatcher("=~", "__name__", "up"), newMatcher("=~", "job", "api|missing")])).toBe(2);
  });

  test("label names and values, with and without matchers", async () => {
    const head = await openHead(tempDir());
    appendSeries(head, series, 0, 1000, 3);
    const q = head.querier(MIN_TIME, MAX_TIME);
    expect(q.labelNames()).toEqual(["__name__", "env", "instance", "job"]);
    expect(q.labelValues("job")).toEqual(["api", "node"]);
    expect(q.labelValues("missing")).toEqual([]);
    expect(q.labelNames({ matchers: [newMatcher("=", "job", "api")] })).toEqual(["__name__", "instance", "job"]);
    expect(q.labelValues("env", { matchers: [newMatcher("=", "job", "node")] })).toEqual(["dev\nline", "prod"]);
    expect(q.labelValues("env", { matchers: [newMatcher("=", "job", "node")], mint: 10_000, maxt: 20_000 })).toEqual([]);
  });

  test("ref is stable and rejects malformed label sets", async () => {
    const head = await openHead(tempDir());
    const app = head.appender();
    const a = app.ref(series[0]!);
    expect(app.ref(L({ ...{ __name__: "up", job: "api", instance: "a" } }))).toBe(a);
    expect(app.ref(series[1]!)).not.toBe(a);
    expect(() => app.ref([])).toThrow("empty label set");
    expect(() => app.ref([{ name: "b", value: "1" }, { name: "a", value: "2" }])).toThrow(/not sorted/);
    expect(() => app.ref([{ name: "a", value: "" }])).toThrow(/empty value/);
  });
});

describe("append errors", () => {
  test("out of order, duplicate, out of bounds and unknown refs are reported per sample", async () => {
    const head = await openHead(tempDir());
    const app = head.appender();
    const a = app.ref(series[0]!);
    app.appendBatch(Uint32Array.of(a, a), Float64Array.of(1000, 2000), Float64Array.of(1, 2), 2);
    const status = new Uint8Array(5);
    const res = app.appendBatch(
      Uint32Array.of(a, a, a, 9999, a),
      Float64Array.of(1500, 2000, 2000, 3000, 3000),
      Float64Array.of(9, 5, 2, 1, 3),
      5, status,
    );
    expect([...status]).toEqual([AppendStatus.OutOfOrder, AppendStatus.DuplicateTimestamp, AppendStatus.Ok, AppendStatus.UnknownRef, AppendStatus.Ok]);
    // The exact duplicate (2000, 2) is reported Ok but not counted as appended.
    expect(res).toEqual({ appended: 1, outOfOrder: 1, duplicate: 1, outOfBounds: 0, unknownRef: 1 });
    expect(APPEND_ERRORS[AppendStatus.OutOfOrder]).toBe("out of order sample");
    expect(APPEND_ERRORS[AppendStatus.DuplicateTimestamp]).toBe("duplicate sample for timestamp");
    await head.truncate(2500);
    const st = new Uint8Array(2);
    const r2 = app.appendBatch(Uint32Array.of(a, a), Float64Array.of(2400, 4000), Float64Array.of(1, 1), 2, st);
    expect([...st]).toEqual([AppendStatus.OutOfBounds, AppendStatus.Ok]);
    expect(r2.outOfBounds).toBe(1);
    expect(APPEND_ERRORS[AppendStatus.OutOfBounds]).toBe("out of bounds");
    const [s] = head.querier(MIN_TIME, MAX_TIME).select([newMatcher("=", "job", "api")], MIN_TIME, MAX_TIME);
    expect([...s!.samples().t]).toEqual([3000, 4000]);
  });

  test("a sample count beyond the arrays is a clear error", async () => {
    const head = await openHead(tempDir());
    expect(() => head.appender().appendBatch(new Uint32Array(1), new Float64Array(1), new Float64Array(1), 2)).toThrow(/exceeds/);
  });
});

describe("persistence", () => {
  test("WAL replay restores series, samples and staleness NaN bits", async () => {
    const dir = tempDir();
    const head = await Head.open({ dir });
    appendSeries(head, series, 0, 15_000, 300);
    const app = head.appender();
    const ref = app.ref(series[0]!);
    const v = new Float64Array(1);
    new BigUint64Array(v.buffer)[0] = 0x7ff0000000000002n;
    app.appendBatch(Uint32Array.of(ref), Float64Array.of(300 * 15_000), v, 1);
    app.ref(L({ __name__: "no_samples_yet" }));
    const before = dump(head);
    await head.close();
    const again = await openHead(dir);
    expect(dump(again)).toEqual(before);
    expect(again.numSeries()).toBe(5);
    const [s] = again.querier(MIN_TIME, MAX_TIME).select([newMatcher("=", "instance", "a"), newMatcher("=", "job", "api")], MIN_TIME, MAX_TIME);
    const samples = s!.samples();
    expect(new BigUint64Array(samples.v.buffer)[samples.length - 1]).toBe(0x7ff0000000000002n);
  });

  test("truncate drops old data, GCs empty series, checkpoints, and replay gives the same data", async () => {
    const dir = tempDir();
    const reg = new Registry();
    const head = await Head.open({ dir, registry: reg, chunkRange: 3_600_000 });
    appendSeries(head, series.slice(0, 2), 0, 15_000, 400);
    appendSeries(head, series.slice(2), 0, 15_000, 100);
    await head.truncate(3_000_000);
    expect(head.numSeries()).toBe(2);
    expect(head.minTime()).toBe(3_000_000);
    const walFiles = readdirSync(join(dir, "wal"));
    expect(walFiles.some((f) => f.startsWith("checkpoint."))).toBe(true);
    expect(existsSync(join(dir, "wal", "00000000"))).toBe(false);
    appendSeries(head, series.slice(0, 1), 400 * 15_000, 15_000, 10);
    const before = dump(head);
    expect(before[0]!.t[0]).toBe(3_000_000);
    const text = reg.render();
    expect(text).toContain("prometheus_tsdb_head_series 2");
    expect(text).toContain("prometheus_tsdb_head_series_removed_total 2");
    expect(text).toContain("prometheus_tsdb_checkpoint_creations_total 1");
    expect(text).toContain("prometheus_tsdb_wal_truncations_total 1");
    await head.close();
    const again = await openHead(dir);
    expect(dump(again)).toEqual(before);
    expect(again.numSeries()).toBe(2);
    await again.truncate(4_000_000);
    const third = dump(again);
    await again.close();
    heads.splice(heads.indexOf(again), 1);
    const last = await openHead(dir);
    expect(dump(last)).toEqual(third);
    expect(third[0]!.t[0]).toBe(4_005_000);
  });
});

describe("WAL damage", () => {
  test("a torn WAL tail is cut on open; earlier batches stay", async () => {
    const dir = tempDir();
    const head = await Head.open({ dir });
    appendSeries(head, series.slice(0, 1), 0, 1000, 10);
    appendSeries(head, series.slice(0, 1), 10_000, 1000, 10);
    await head.close();
    const seg = join(dir, "wal", "00000000");
    truncateSync(seg, statSync(seg).size - 20);
    const reg = new Registry();
    const again = await openHead(dir, { registry: reg });
    const d = dump(again);
    expect(d[0]!.t).toEqual(Array.from({ length: 10 }, (_, i) => i * 1000));
    expect(reg.render()).toContain("prometheus_tsdb_wal_corruptions_total 1");
    expect(appendSeries(again, series.slice(0, 1), 10_000, 1000, 10).appended).toBe(10);
  });

  test("setMinValidTime makes older appends out of bounds", async () => {
    const head = await openHead(tempDir());
    head.setMinValidTime(5000);
    expect(head.minValidTime()).toBe(5000);
    expect(appendSeries(head, series.slice(0, 1), 4000, 1000, 2)).toMatchObject({ appended: 1, outOfBounds: 1 });
  });
});

describe("seriesInRange", () => {
  test("returns sorted series with chunks cut to [mint, maxt)", async () => {
    const head = await openHead(tempDir());
    appendSeries(head, series, 0, 10_000, 1000);
    const out = [...head.seriesInRange(1_000_000, 2_000_000)];
    expect(out.map((s) => labelsKey(s.labels))).toEqual(series.map(labelsKey).sort());
    for (const s of out) {
      const ts: number[] = [];
      for (const c of s.chunks) {
        const d = decodeXor(c.data);
        expect(c.mint).toBe(d.t[0]!);
        expect(c.maxt).toBe(d.t[d.t.length - 1]!);
        ts.push(...d.t);
      }
      expect(ts.length).toBe(100);
      expect(ts[0]).toBe(1_000_000);
      expect(ts[ts.length - 1]).toBe(1_990_000);
    }
    // Whole data, including the open chunk.
    const whole = [...head.seriesInRange(0, 100_000_000)];
    let n = 0;
    for (const c of whole[0]!.chunks) n += decodeXor(c.data).t.length;
    expect(n).toBe(1000);
    // Appends after cutting still work and are queryable.
    appendSeries(head, series.slice(0, 1), 10_000_000, 10_000, 5);
    const [s] = head.querier(MIN_TIME, MAX_TIME).select([newMatcher("=", "instance", "a"), newMatcher("=", "job", "api")], 10_000_000, MAX_TIME);
    expect(s!.samples().length).toBe(5);
  });
});

function dump(head: Head): { labels: string; t: number[]; v: string[] }[] {
  return head.querier(MIN_TIME, MAX_TIME).select([newMatcher("=~", "__name__", ".+")], MIN_TIME, MAX_TIME).map((s) => {
    const b = s.samples();
    const bits = new BigUint64Array(b.v.buffer, b.v.byteOffset, b.length);
    return { labels: labelsKey(s.labels), t: [...b.t.subarray(0, b.length)], v: [...bits].map((x) => x.toString(16)) };
  });
}

describe("postings agree with brute-force matching", () => {
  test("random label sets and matchers", async () => {
    const head = await openHead(tempDir());
    let seed = 42;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const values = ["a", "b", "c", "ab", "A", "x\ny"];
    const all: Labels[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const rec: Record<string, string> = { __name__: `m${rand(3)}` };
      for (const name of ["p", "q", "r"]) if (rand(3) > 0) rec[name] = values[rand(values.length)]!;
      const ls = L(rec);
      if (seen.has(labelsKey(ls))) continue;
      seen.add(labelsKey(ls));
      all.push(ls);
    }
    appendSeries(head, all, 0, 1000, 1);
    const types = ["=", "!=", "=~", "!~"] as const;
    const patterns = ["", "a", "a|b", ".*", ".+", "a.*", "(?i)a", "b|", "x.y", "[ab]+"];
    for (let round = 0; round < 300; round++) {
      const ms: Matcher[] = [newMatcher("=~", "__name__", "m.")];
      for (let k = rand(3); k >= 0; k--) ms.push(newMatcher(types[rand(4)]!, ["p", "q", "r", "z"][rand(4)]!, patterns[rand(patterns.length)]!));
      const want = all
        .filter((ls) => ms.every((m) => m.matches(ls.find((l) => l.name === m.name)?.value ?? "")))
        .map(labelsKey).sort();
      const got = selectKeys(head, ms).sort();
      expect({ ms: ms.map((m) => `${m.name}${m.type}"${m.value}"`), got }).toEqual({ ms: ms.map((m) => `${m.name}${m.type}"${m.value}"`), got: want });
    }
  });
});

describe("metrics", () => {
  test("head and WAL metrics are registered with Prometheus's names", async () => {
    const reg = new Registry();
    const head = await openHead(tempDir(), { registry: reg });
    appendSeries(head, series, 0, 1000, 10);
    const text = reg.render();
    for (const name of [
      "prometheus_tsdb_head_series 4", "prometheus_tsdb_head_series_created_total 4", "prometheus_tsdb_head_series_removed_total 0",
      "prometheus_tsdb_head_samples_appended_total 40", "prometheus_tsdb_head_chunks", "prometheus_tsdb_head_min_time 0",
      "prometheus_tsdb_head_max_time 9000", "prometheus_tsdb_out_of_order_samples_total 0", "prometheus_tsdb_wal_fsync_duration_seconds",
      "prometheus_tsdb_wal_page_flushes_total", "prometheus_tsdb_wal_completed_pages_total", "prometheus_tsdb_wal_truncations_total",
      "prometheus_tsdb_wal_corruptions_total 0", "prometheus_tsdb_wal_writes_failed_total 0", "prometheus_tsdb_wal_segment_current 0",
      "prometheus_tsdb_checkpoint_creations_total 0", "prometheus_tsdb_data_replay_duration_seconds",
    ]) expect(text).toContain(name);
  });
});

describe("concurrent truncation", () => {
  test("overlapping truncate calls run one after another and appends during them survive", async () => {
    const dir = tempDir();
    const head = await Head.open({ dir });
    appendSeries(head, series, 0, 15_000, 400);
    const first = head.truncate(2_000_000);
    const second = head.truncate(3_000_000);
    appendSeries(head, series, 400 * 15_000, 15_000, 5);
    await Promise.all([first, second]);
    const before = dump(head);
    expect(before[0]!.t[0]).toBe(3_000_000);
    expect(before[0]!.t[before[0]!.t.length - 1]).toBe(404 * 15_000);
    await head.close();
    const again = await openHead(dir);
    expect(dump(again)).toEqual(before);
  });
});

describe("exact duplicate samples", () => {
  test("are reported Ok but neither stored twice, written to the WAL nor counted as appended", async () => {
    const dir = tempDir();
    const reg = new Registry();
    const head = await openHead(dir, { registry: reg });
    const app = head.appender();
    const a = app.ref(series[0]!);
    expect(app.appendBatch(Uint32Array.of(a), Float64Array.of(1000), Float64Array.of(7), 1).appended).toBe(1);
    const status = new Uint8Array(3).fill(255);
    const res = app.appendBatch(Uint32Array.of(a, a, a), Float64Array.of(1000, 1000, 2000), Float64Array.of(7, 7, 8), 3, status);
    expect([...status]).toEqual([AppendStatus.Ok, AppendStatus.Ok, AppendStatus.Ok]);
    expect(res).toEqual({ appended: 1, outOfOrder: 0, duplicate: 0, outOfBounds: 0, unknownRef: 0 });
    expect(reg.render()).toContain("prometheus_tsdb_head_samples_appended_total 2\n");
    await head.close();
    heads.splice(heads.indexOf(head), 1);
    let logged = 0;
    readSegment(join(dir, "wal"), 0, (rec) => {
      if (rec[0] === RecordType.Samples) logged += decodeSamples(rec).length;
    });
    expect(logged).toBe(2);
    const again = await openHead(dir);
    const [s] = again.querier(MIN_TIME, MAX_TIME).select([newMatcher("=", "job", "api")], MIN_TIME, MAX_TIME);
    const b = s!.samples();
    expect([...b.t.subarray(0, b.length)]).toEqual([1000, 2000]);
    expect([...b.v.subarray(0, b.length)]).toEqual([7, 8]);
  });
});

describe("label queries by time range", () => {
  test("without matchers they return nothing when the range misses the head's [minTime, maxTime]", async () => {
    const head = await openHead(tempDir());
    appendSeries(head, series, 10_000, 1000, 3); // head spans [10s, 12s]
    const all = head.querier(MIN_TIME, MAX_TIME);
    expect(all.labelNames({ mint: 20_000, maxt: 30_000 })).toEqual([]);
    expect(all.labelValues("job", { mint: 20_000, maxt: 30_000 })).toEqual([]);
    expect(all.labelNames({ mint: 0, maxt: 9_999 })).toEqual([]);
    expect(all.labelValues("job", { mint: 0, maxt: 9_999 })).toEqual([]);
    expect(head.querier(0, 5_000).labelNames()).toEqual([]);
    expect(head.querier(0, 5_000).labelValues("job")).toEqual([]);
    // Overlapping ranges see every head series, as in Prometheus.
    expect(all.labelNames({ mint: 12_000, maxt: 30_000 })).toEqual(["__name__", "env", "instance", "job"]);
    expect(head.querier(0, 10_000).labelValues("job")).toEqual(["api", "node"]);
  });

  test("an empty head answers nothing", async () => {
    const head = await openHead(tempDir());
    head.appender().ref(series[0]!);
    expect(head.querier(MIN_TIME, MAX_TIME).labelNames()).toEqual([]);
    expect(head.querier(MIN_TIME, MAX_TIME).labelValues("job")).toEqual([]);
  });
});

describe("refuseAppendsBefore", () => {
  test("makes older appends out of bounds while older data stays queryable", async () => {
    const head = await openHead(tempDir());
    appendSeries(head, series.slice(0, 1), 0, 1000, 5);
    appendSeries(head, series.slice(1, 2), 0, 1000, 2);
    head.refuseAppendsBefore(3000);
    expect(head.minValidTime()).toBe(MIN_TIME);
    expect(appendSeries(head, series.slice(1, 2), 2000, 1000, 2)).toMatchObject({ appended: 1, outOfBounds: 1 });
    expect(dump(head).map((s) => s.t)).toEqual([[0, 1000, 2000, 3000, 4000], [0, 1000, 3000]]);
  });
});
