/**
 * The WAL watcher's startup on a large WAL: loading every series record in
 * slices lets the event loop turn, and ends where the one-piece load ends
 * (same series, same position).
 */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labelsFromRecord } from "../../src/model/index.ts";
import { WALWatcher } from "../../src/remote/index.ts";
import { openDB } from "../../src/tsdb/index.ts";

let dir = "";
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("startAsync loads a large WAL in slices, ending where start() does", async () => {
  dir = mkdtempSync(join(tmpdir(), "promts-walw-"));
  const db = await openDB({ dir, compactionIntervalMs: 0 });
  const app = db.appender();
  const N = 100_000;
  const refs = new Uint32Array(N);
  for (let s = 0; s < N; s++) refs[s] = app.ref(labelsFromRecord({ __name__: "walw_metric", instance: `host-${s % 100}`, s: String(s) }));
  for (let i = 0; i < 5; i++) app.appendBatch(refs, new Float64Array(N).fill(1000 * (i + 1)), new Float64Array(N).fill(i), N);
  await db.close();

  const sync = new WALWatcher(join(dir, "wal"));
  sync.start();
  let turns = 0;
  let running = true;
  const tick = () => {
    turns++;
    if (running) setTimeout(tick, 0);
  };
  setTimeout(tick, 0);
  const sliced = new WALWatcher(join(dir, "wal"));
  await sliced.startAsync();
  running = false;
  expect(sliced.series.size).toBe(N);
  expect(sliced.position()).toEqual(sync.position());
  expect(sliced.series.get(refs[N - 1]!)).toEqual(sync.series.get(refs[N - 1]!)!);
  // In one piece no timer would run meanwhile; in ~10 ms slices several do, however loaded the host.
  expect(turns).toBeGreaterThanOrEqual(3);
}, 60_000);
