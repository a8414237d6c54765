/**
 * The largest event-loop gap while a remote_write queue's WAL watcher loads
 * a large WAL (default 300k series x 10 samples, ~57 MB): the one-piece
 * start() beside the sliced startAsync().
 * `npx bun bench/wal_watcher_startup.bench.ts [series]`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labelsFromRecord } from "../src/model/index.ts";
import { WALWatcher } from "../src/remote/index.ts";
import { openDB } from "../src/tsdb/index.ts";
import { walSize } from "../src/tsdb/wal/index.ts";
const dir = mkdtempSync(join(tmpdir(), "walgap-"));
const db = await openDB({ dir, compactionIntervalMs: 0 });
const app = db.appender();
const N = Number(process.argv[2] ?? 300000);
const refs = new Uint32Array(N);
for (let s = 0; s < N; s++) refs[s] = app.ref(labelsFromRecord({ __name__: "wal_gap_metric", instance: `host-${s % 1000}`, s: String(s), job: "bench" }));
const now = Date.now();
for (let i = 0; i < 10; i++) app.appendBatch(refs, new Float64Array(N).fill(now - (10 - i) * 1000), new Float64Array(N).fill(i), N);
await db.close();
console.log(`WAL ${(walSize(join(dir, "wal")) / 1e6).toFixed(0)} MB, ${N} series, ${N * 10} samples`);
let maxGap = 0, last = performance.now(), running = true;
const tick = () => { const n = performance.now(); maxGap = Math.max(maxGap, n - last); last = n; if (running) setTimeout(tick, 0); };
setTimeout(tick, 0); await Bun.sleep(10);
for (const mode of ["sync", "async"]) {
  maxGap = 0; last = performance.now();
  const w = new WALWatcher(join(dir, "wal"));
  const t = performance.now();
  if (mode === "sync") w.start(); else await w.startAsync();
  const took = performance.now() - t;
  await Bun.sleep(5);
  console.log(`${mode}: ${took.toFixed(0)} ms, ${w.series.size} series, largest event-loop gap ${maxGap.toFixed(1)} ms`);
}
running = false;
rmSync(dir, { recursive: true, force: true });
