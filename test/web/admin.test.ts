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
  const q = d.querier(MIN_TIME, MAX_TIME);
  try {
    const series = await q.select([newMatcher("=", "__name__", "adm")], MIN_TIME, MAX_TIME);
    return series.reduce((n, s) => n + s.samples().length, 0);
  } finally {
    q.close();
  }
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

/** Sample times of series `adm{s=…}` as a querier sees them. */
async function times(d: DB, s: string): Promise<number[]> {
  const q = d.querier(MIN_TIME, MAX_TIME);
  try {
    const [series] = await q.select([newMatcher("=", "__name__", "adm"), newMatcher("=", "s", s)], MIN_TIME, MAX_TIME);
    return series ? Array.from(series.samples().t) : [];
  } finally {
    q.close();
  }
}

async function seriesCount(d: DB): Promise<number> {
  const q = d.querier(MIN_TIME, MAX_TIME);
  try {
    return (await q.select([newMatcher("=", "__name__", "adm")], MIN_TIME, MAX_TIME)).length;
  } finally {
    q.close();
  }
}

const form = (params: Record<string, string | string[]>): string => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of [v].flat()) u.append(k, x);
  return u.toString();
};

describe("admin API: delete_series and clean_tombstones", () => {
  test("204; deleted samples vanish from queries at once, in blocks and head, and stay deleted after a restart", async () => {
    const api = adminAPI({ enabled: true, db: () => db, dataDir: dir });
    expect(db.blocks().length).toBeGreaterThan(0);
    // 90m..200m spans the first block (0..2h) and the head; s=1 and s=2 lose that range, s=3 everything.
    const res = await api.request(`/delete_series?${form({ "match[]": ['adm{s=~"1|2"}'], start: String(90 * 60), end: String(200 * 60) })}`, { method: "POST" });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    const put = await api.request("/delete_series", { method: "PUT", body: form({ "match[]": 'adm{s="3"}' }), headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expect(put.status).toBe(204);
    const expected = Array.from({ length: 300 }, (_, i) => i * 60_000).filter((t) => t < 90 * 60_000 || t > 200 * 60_000);
    expect(await times(db, "1")).toEqual(expected);
    expect(await times(db, "2")).toEqual(expected);
    expect((await times(db, "0")).length).toBe(300);
    expect(await times(db, "3")).toEqual([]);
    // As in Prometheus, a head series still being appended to stays listed (without samples) until the head is compacted.
    expect(await seriesCount(db)).toBe(10);
    expect(await countSamples(db)).toBe(300 * 7 + 2 * expected.length);
    const meta = JSON.parse(await Bun.file(join(dir, db.blocks()[0]!.ulid, "meta.json")).text());
    expect(meta.stats.numTombstones).toBe(3);

    // The head's tombstones are in the WAL, the blocks' in their tombstones files.
    await db.close();
    db = await openDB({ dir, compactionIntervalMs: 0 });
    expect(await times(db, "1")).toEqual(expected);
    expect(await times(db, "3")).toEqual([]);
    expect(await countSamples(db)).toBe(300 * 7 + 2 * expected.length);
  });

  test("clean_tombstones rewrites the blocks without the deleted data; head compaction leaves it out too", async () => {
    const api = adminAPI({ enabled: true, db: () => db, dataDir: dir });
    const before = db.blocks().map((b) => b.ulid);
    expect((await api.request(`/delete_series?${form({ "match[]": ['adm{s=~"[0-4]"}'], start: "0", end: String(100 * 60) })}`, { method: "POST" })).status).toBe(204);
    expect((await api.request(`/delete_series?${form({ "match[]": 'adm{s="9"}' })}`, { method: "POST" })).status).toBe(204);
    const counted = await countSamples(db);
    expect(counted).toBe(3000 - 5 * 101 - 300);
    const res = await api.request("/clean_tombstones", { method: "POST" });
    expect(res.status).toBe(204);
    const after = db.blocks();
    expect(after.map((b) => b.ulid).some((u) => before.includes(u))).toBe(false);
    for (const u of before) expect(existsSync(join(dir, u))).toBe(false);
    const first = after.find((b) => b.minTime === 0)!;
    expect(first.stats.numSeries).toBe(9);
    expect(first.stats.numSamples).toBe(9 * 120 - 5 * 101);
    expect(first.compaction.parents?.[0]?.ulid).toBe(before[0]!);
    // The block no longer lists the series deleted entirely.
    const q = db.querier(MIN_TIME, MAX_TIME);
    try {
      expect((await q.select([newMatcher("=", "s", "9")], MIN_TIME, MAX_TIME)).length).toBe(1); // from the head, still open
      expect((await q.select([newMatcher("=", "s", "9")], 0, 90 * 60_000)).length).toBe(0); // the block alone
    } finally {
      q.close();
    }
    expect(await countSamples(db)).toBe(counted);
    // The rest leaves with the head: compacting it writes blocks without the deleted samples.
    const app = db.appender();
    const ref = app.ref(labelsFromRecord({ __name__: "adm", s: "0" }));
    app.appendBatch(Uint32Array.of(ref), Float64Array.of(9 * HOUR), Float64Array.of(1), 1);
    await db.compact();
    // The head is cut into blocks up to 6h (its samples end at 5h), leaving only the new sample in it.
    expect(db.blocks().reduce((n, b) => n + b.stats.numSamples, 0)).toBe(counted);
    expect(await countSamples(db)).toBe(counted + 1);
    expect(await times(db, "9")).toEqual([]);
  });

  test("errors as Prometheus's: 400 without match[], with a bad selector or time; 503 when disabled", async () => {
    const api = adminAPI({ enabled: true, db: () => db, dataDir: dir });
    const none = await api.request("/delete_series", { method: "POST" });
    expect(none.status).toBe(400);
    expect(await none.json()).toEqual({ status: "error", errorType: "bad_data", error: "no match[] parameter provided" });
    const badSel = await api.request(`/delete_series?${form({ "match[]": "adm{" })}`, { method: "POST" });
    expect(badSel.status).toBe(400);
    expect(((await badSel.json()) as { error: string }).error).toStartWith('invalid parameter "match[]": ');
    const badStart = await api.request(`/delete_series?${form({ "match[]": "adm", start: "yesterday" })}`, { method: "POST" });
    expect(badStart.status).toBe(400);
    expect(((await badStart.json()) as { error: string }).error).toBe(`invalid parameter "start": Invalid time value for 'start': cannot parse "yesterday" to a valid timestamp`);
    expect(await countSamples(db)).toBe(3000);
    const off = adminAPI({ enabled: false, db: () => db, dataDir: dir });
    for (const path of ["/delete_series?match[]=adm", "/clean_tombstones"]) {
      const r = await off.request(path, { method: "POST" });
      expect(r.status).toBe(503);
    }
    expect((await api.request("/delete_series?match[]=adm", { method: "GET" })).status).toBe(404);
  });
});
