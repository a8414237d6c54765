import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labelsFromRecord, newMatcher } from "../../src/model/index.ts";
import { MAX_TIME, MIN_TIME, openDB, type DB } from "../../src/tsdb/index.ts";
import { adminAPI, snapshotName } from "../../src/web/index.ts";
import { peerAvailable } from "../support/peers.ts";

let dir: string;
let db: DB;
const HOUR = 3600_000;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "promts-admin-"));
  db = await openDB({ dir, compactionIntervalMs: 0 });
  const app = db.appender();
  // 5h of data: compaction cuts 2h blocks off the head, the rest stays in the head.
  for (let s = 0; s < 10; s++) {
    const ref = app.ref(labelsFromRecord({ __name__: "adm", s: String(s) }));
    const n = 5 * 60;
    app.appendBatch(new Uint32Array(n).fill(ref), Float64Array.from({ length: n }, (_, i) => i * 60_000), Float64Array.from({ length: n }, (_, i) => s * 1000 + i), n);
  }
  await db.compact();
});
afterEach(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

async function countSamples(d: DB): Promise<number> {
  const series = await d.querier(MIN_TIME, MAX_TIME).select([newMatcher("=", "__name__", "adm")], MIN_TIME, MAX_TIME);
  return series.reduce((n, s) => n + s.samples().length, 0);
}

describe("admin API", () => {
  test("disabled: 503 admin APIs disabled", async () => {
    const res = await adminAPI({ enabled: false, db: () => db, dataDir: dir }).request("/snapshot", { method: "POST" });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: "error", errorType: "unavailable", error: "admin APIs disabled" });
  });

  test("snapshot: blocks plus the head, readable as a data directory with every sample", async () => {
    expect(db.blocks().length).toBeGreaterThan(0);
    const res = await adminAPI({ enabled: true, db: () => db, dataDir: dir }).request("/snapshot", { method: "POST" });
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as { data: { name: string } };
    expect(data.name).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{16}$/);
    const snap = join(dir, "snapshots", data.name);
    const blocks = readdirSync(snap).length;
    expect(blocks).toBe(db.blocks().length + 1);
    const copy = await openDB({ dir: snap, compactionIntervalMs: 0 });
    try {
      expect(await countSamples(copy)).toBe(3000);
      expect(await countSamples(copy)).toBe(await countSamples(db));
    } finally {
      await copy.close();
    }
    const promtool = Bun.which("promtool");
    if (peerAvailable(promtool, "promtool", "promtool not installed (snapshot check)")) {
      const out = Bun.spawnSync([promtool, "tsdb", "list", snap]);
      expect(out.exitCode).toBe(0);
      expect(out.stdout.toString().trim().split("\n").length).toBe(blocks + 1); // a header line, then one line per block
    }
  });

  test("skip_head=true leaves the head out; a bad skip_head is 400", async () => {
    const api = adminAPI({ enabled: true, db: () => db, dataDir: dir });
    const res = await api.request("/snapshot?skip_head=true", { method: "POST" });
    const { data } = (await res.json()) as { data: { name: string } };
    expect(readdirSync(join(dir, "snapshots", data.name)).length).toBe(db.blocks().length);
    const bad = await api.request("/snapshot?skip_head=maybe", { method: "POST" });
    expect(bad.status).toBe(400);
    expect(existsSync(join(dir, "snapshots"))).toBe(true);
  });

  test("snapshot names are unique and time-ordered", () => {
    const a = snapshotName(new Date(Date.UTC(2026, 11, 7, 5, 55, 1)));
    expect(a.startsWith("20261207T055501Z-")).toBe(true);
    expect(snapshotName(new Date(0))).not.toBe(snapshotName(new Date(0)));
  });
});
