/**
 * Interop with the real promtool: blocks written by promts must be listed,
 * analyzed and dumped by `promtool tsdb`, and blocks made by
 * `promtool tsdb create-blocks-from openmetrics` must be read by promts.
 * Without promtool on PATH the tests pass with a loud SKIPPED message,
 * unless PROMTS_REQUIRE_PEERS=1.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labelsFromRecord, labelsKey, newMatcher, parseOpenMetrics } from "../../src/model/index.ts";
import { Block, encodeChunks, encodeIndex, isULID, writeBlock } from "../../src/tsdb/block/index.ts";
import { openDB } from "../../src/tsdb/db.ts";
import { createBlocksFromOpenMetrics } from "../../src/tsdb/backfill.ts";
import { MAX_TIME, MIN_TIME } from "../../src/tsdb/types.ts";
import { peerAvailable } from "../support/peers.ts";

const promtool = Bun.which("promtool");

function available(): boolean {
  return peerAvailable(promtool, "promtool", "promtool not installed (apt-get install prometheus)");
}

function run(args: string[]): string {
  const p = Bun.spawnSync([promtool!, ...args], { stdout: "pipe", stderr: "pipe", timeout: 30_000 });
  if (p.exitCode !== 0) throw new Error(`promtool ${args.join(" ")} exited ${p.exitCode}: ${p.stderr.toString()}`);
  return p.stdout.toString();
}

/** Parses `promtool tsdb dump` lines: `{labels} value timestamp`. */
function parseDump(out: string): Map<string, [number, number][]> {
  const series = new Map<string, [number, number][]>();
  for (const line of out.split("\n")) {
    if (line === "") continue;
    const close = line.lastIndexOf("} ");
    const [v, t] = line.slice(close + 2).split(" ");
    const value = v === "+Inf" ? Infinity : v === "-Inf" ? -Infinity : Number(v);
    const key = line.slice(0, close + 1);
    let rows = series.get(key);
    if (!rows) series.set(key, (rows = []));
    rows.push([Number(t), value]);
  }
  return series;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "promts-interop-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("promtool interop", () => {
  test("promtool lists, analyzes and dumps a block written by promts", () => {
    if (!available()) return;
    const start = 1_700_000_000_000;
    const expected = new Map<string, [number, number][]>();
    const series = [];
    for (let s = 0; s < 5; s++) {
      const labels = labelsFromRecord({ __name__: s < 3 ? "http_requests_total" : "node temp", instance: `host-${s}:9100`, path: s === 4 ? "/ü/\"q\"" : "/" });
      const n = 50 + s * 70;
      const t = new Float64Array(n), v = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        t[i] = start + i * 15_000 + (i % 3);
        v[i] = s === 3 && i === 7 ? Infinity : s * 1e6 + i * 0.1;
      }
      series.push({ labels, chunks: encodeChunks({ t, v, length: n }) });
      expected.set(labelsKey(labels).replace(/", /g, '", '), [...t].map((ts, i) => [ts, v[i]!] as [number, number]));
    }
    const maxTime = Math.max(...series.flatMap((s) => s.chunks.map((c) => c.maxt))) + 1;
    const meta = writeBlock(dir, series, { minTime: start, maxTime });
    mkdirSync(join(dir, "wal"));

    const readable = run(["tsdb", "list", "-r", dir]);
    expect(readable).toContain(meta.ulid);
    expect(readable).toContain("2023-11-14 22:13:20");
    const list = run(["tsdb", "list", dir]).trim().split("\n");
    expect(list.length).toBe(2);
    const cols = list[1]!.trim().split(/\s+/);
    expect(cols.slice(0, 3)).toEqual([meta.ulid, String(start), String(maxTime)]);
    expect(cols.slice(4, 7)).toEqual([String(meta.stats.numSamples), String(meta.stats.numChunks), "5"]);

    const analyze = run(["tsdb", "analyze", dir, meta.ulid]);
    expect(analyze).toContain(`Block ID: ${meta.ulid}`);
    expect(analyze).toContain("Series: 5");

    const dumped = parseDump(run(["tsdb", "dump", dir]));
    expect([...dumped.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, rows] of expected) expect(dumped.get(key)).toEqual(rows);
  });

  test("promtool dumps a promts data dir after head cuts and compaction", async () => {
    if (!available()) return;
    const db = await openDB({ dir, compactionIntervalMs: 0 });
    const expected = new Map<string, [number, number][]>();
    try {
      const app = db.appender();
      const start = 1_700_000_000_000;
      for (const job of ["a", "b"]) {
        const labels = labelsFromRecord({ __name__: "load", job });
        const n = 1000;
        const t = Float64Array.from({ length: n }, (_, i) => start + i * 60_000);
        const v = Float64Array.from({ length: n }, (_, i) => (i % 13) * (job === "a" ? 1 : -1));
        app.appendBatch(new Uint32Array(n).fill(app.ref(labels)), t, v, n);
        expected.set(labelsKey(labels), [...t].map((ts, i) => [ts, v[i]!] as [number, number]));
      }
      await db.compact();
      expect(db.blocks().some((b) => b.compaction.level > 1)).toBe(true);
    } finally {
      await db.close();
    }
    const dumped = parseDump(run(["tsdb", "dump", dir]));
    expect([...dumped.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, rows] of expected) expect(dumped.get(key)).toEqual(rows);
  });

  test("backfill writes the same chunks as promtool on the same input, so the same bytes per sample", async () => {
    if (!available()) return;
    // Host-metric-like series over more than one block: counters, jittered gauges, constants.
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const lines: string[] = [];
    for (let i = 0; i < 30; i++) {
      lines.push(`# TYPE c${i} counter`);
      let v = 0;
      for (let k = 0; k < 480; k++) lines.push(`c${i}_total{instance="h${i}"} ${(v += Math.floor(rnd() * 100))} ${(1_700_000_000 + k * 15 + rnd() - 0.5).toFixed(3)}`);
      lines.push(`# TYPE g${i} gauge`);
      for (let k = 0; k < 480; k++) lines.push(`g${i}{instance="h${i}"} ${(50 + rnd() * 10).toFixed(2)} ${(1_700_000_000 + k * 15 + rnd() - 0.5).toFixed(3)}`);
    }
    lines.push("# EOF");
    writeFileSync(join(dir, "host.om"), lines.join("\n") + "\n");
    run(["tsdb", "create-blocks-from", "openmetrics", join(dir, "host.om"), join(dir, "theirs")]);
    await createBlocksFromOpenMetrics(join(dir, "host.om"), join(dir, "ours"));

    const chunksOf = (d: string) => {
      const out = new Map<string, string[]>();
      for (const u of readdirSync(d).filter(isULID)) {
        const block = Block.open(join(d, u));
        for (const s of block.series()) {
          const key = `${labelsKey(s.labels)}@${block.meta.minTime}`;
          out.set(key, [...(out.get(key) ?? []), ...s.chunks.map((c) => `${c.mint}-${c.maxt}:${Buffer.from(c.data).toString("hex")}`)]);
        }
      }
      return out;
    };
    const theirs = chunksOf(join(dir, "theirs")), ours = chunksOf(join(dir, "ours"));
    expect(ours.size).toBe(120); // 60 series in each of the 2 blocks
    expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
    for (const [k, v] of theirs) expect(ours.get(k)).toEqual(v);
  });

  test("promts reads blocks made by promtool create-blocks-from openmetrics", async () => {
    if (!available()) return;
    const lines = ["# HELP rpc_seconds RPC latency.", "# TYPE rpc_seconds summary"];
    for (let i = 0; i < 500; i++) {
      const ts = 1_700_000_000 + i * 60;
      lines.push(`rpc_seconds{quantile="0.5",svc="a"} ${(i % 17) / 8} ${ts}`);
      lines.push(`rpc_seconds_count{svc="a"} ${i} ${ts}`);
    }
    lines.push("# TYPE up gauge", 'up{job="x\\"y"} 1 1700000000.5', 'up{job="x\\"y"} NaN 1700000100', "# EOF");
    const text = lines.join("\n") + "\n";
    writeFileSync(join(dir, "in.om"), text);
    const out = join(dir, "data");
    run(["tsdb", "create-blocks-from", "openmetrics", join(dir, "in.om"), out]);
    const ulids = readdirSync(out).filter(isULID).sort();
    expect(ulids.length).toBeGreaterThan(1);

    const expected = new Map<string, [number, number][]>();
    for (const s of parseOpenMetrics(text).samples) {
      const key = labelsKey(s.labels);
      let rows = expected.get(key);
      if (!rows) expected.set(key, (rows = []));
      rows.push([s.t!, s.v]);
    }

    let total = 0;
    for (const u of ulids) {
      const block = Block.open(join(out, u));
      total += block.meta.stats.numSamples;
      // Re-encoding promtool's series and chunk refs gives promtool's index, byte for byte.
      const ix = block.index;
      const series = [...ix.allPostings()].map((ref) => ix.series(ref));
      expect(Buffer.from(encodeIndex(series)).equals(readFileSync(join(out, u, "index")))).toBe(true);
    }
    expect(total).toBe(1002);

    const db = await openDB({ dir: out, compactionIntervalMs: 0 });
    try {
      const got = new Map<string, [number, number][]>();
      const q = db.querier(MIN_TIME, MAX_TIME);
      for (const s of await q.select([newMatcher("=~", "__name__", ".+")], MIN_TIME, MAX_TIME)) {
        const b = s.samples();
        got.set(labelsKey(s.labels), [...b.t.subarray(0, b.length)].map((t, i) => [t, b.v[i]!] as [number, number]));
      }
      expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [key, rows] of expected) expect(got.get(key)).toEqual(rows);
      expect(await q.labelValues("svc")).toEqual(["a"]);
      q.close();
    } finally {
      await db.close();
    }
  });
});
