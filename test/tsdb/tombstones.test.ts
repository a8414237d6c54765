/**
 * Tombstones: interval arithmetic, the block file and the WAL record in
 * Prometheus's encodings, and (when promtool is installed) a block with
 * tombstones read by promtool, which must skip the deleted samples too.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labelsFromRecord, newMatcher } from "../../src/model/index.ts";
import { addInterval, coveredBy, encodeTombstones, readTombstones } from "../../src/tsdb/block/tombstones.ts";
import { openDB } from "../../src/tsdb/index.ts";
import { decodeTombstones, encodeTombstones as encodeTombstoneRecord } from "../../src/tsdb/wal/index.ts";
import { peerAvailable } from "../support/peers.ts";

let dir = "";
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = "";
});

describe("tombstones", () => {
  test("intervals merge when they overlap or touch, and stay sorted", () => {
    expect(addInterval([[0, 5], [10, 20]], 6, 9)).toEqual([[0, 20]]);
    expect(addInterval([[0, 5], [10, 20]], 30, 40)).toEqual([[0, 5], [10, 20], [30, 40]]);
    expect(addInterval([[10, 20]], -5, 0)).toEqual([[-5, 0], [10, 20]]);
    expect(addInterval(undefined, 3, 4)).toEqual([[3, 4]]);
    expect(addInterval([[0, 5], [8, 9], [12, 20]], 4, 13)).toEqual([[0, 20]]);
    expect(coveredBy(2, 4, [[0, 5]])).toBe(true);
    expect(coveredBy(2, 6, [[0, 5], [6, 9]])).toBe(false);
  });

  test("the block file and the WAL record round-trip (negative times too)", () => {
    dir = mkdtempSync(join(tmpdir(), "promts-tomb-"));
    const path = join(dir, "tombstones");
    Bun.write(path, encodeTombstones(new Map([[7, [[-100, 5], [10, 20]] as [number, number][]], [2, [[1, 1]] as [number, number][]]])));
    expect(readTombstones(path)).toEqual([{ seriesRef: 2, mint: 1, maxt: 1 }, { seriesRef: 7, mint: -100, maxt: 5 }, { seriesRef: 7, mint: 10, maxt: 20 }]);
    const rec = encodeTombstoneRecord([{ ref: 4294967295, mint: -1, maxt: 1e12 }]);
    expect(rec[0]).toBe(3);
    expect(decodeTombstones(rec)).toEqual([{ ref: 4294967295, mint: -1, maxt: 1e12 }]);
    expect(() => decodeTombstones(rec.subarray(0, rec.length - 1))).toThrow("truncated");
  });

  test("promtool reads a block with tombstones without the deleted samples", async () => {
    const promtool = Bun.which("promtool") ?? (Bun.file("/usr/bin/promtool").size > 0 ? "/usr/bin/promtool" : null);
    if (!peerAvailable(promtool, "promtool", "promtool not installed (tombstones check)")) return;
    dir = mkdtempSync(join(tmpdir(), "promts-tomb-"));
    const db = await openDB({ dir, compactionIntervalMs: 0 });
    const app = db.appender();
    for (let s = 0; s < 3; s++) {
      const ref = app.ref(labelsFromRecord({ __name__: "tomb", s: String(s) }));
      app.appendBatch(new Uint32Array(300).fill(ref), Float64Array.from({ length: 300 }, (_, i) => i * 60_000), Float64Array.from({ length: 300 }, (_, i) => i), 300);
    }
    await db.compact();
    await db.delete(0, 30 * 60_000, [newMatcher("=", "s", "1")]);
    const ulid = db.blocks()[0]!.ulid;
    await db.close();
    const out = Bun.spawnSync([promtool, "tsdb", "dump", `--min-time=0`, `--max-time=${2 * 3600_000 - 1}`, dir]);
    expect(out.exitCode).toBe(0);
    const lines = out.stdout.toString().trim().split("\n").filter((l) => l.startsWith("{"));
    expect(lines.filter((l) => l.includes('s="1"')).length).toBe(120 - 31);
    expect(lines.filter((l) => l.includes('s="0"')).length).toBe(120);
    expect(ulid.length).toBe(26);
  });
});
