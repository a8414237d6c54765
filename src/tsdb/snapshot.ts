/**
 * TSDB snapshots, as Prometheus's `/api/v1/admin/tsdb/snapshot` makes them:
 * a directory of blocks — every persisted block hard-linked (copied where
 * links are impossible), plus, unless the head is skipped, the head written
 * as one more block — that promts, promtool and `vmctl prometheus
 * --prom-snapshot` open like a data directory.
 *
 * @example
 * await snapshotDB(db, "data", "data/snapshots/20261207T055500Z-1a2b3c4d5e6f7a8b", true);
 */
import { copyFileSync, linkSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { normalizeChunks, writeBlockAsync } from "./block/index.ts";
import type { DB } from "./db.ts";
import { runSteps } from "./event_loop.ts";

function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    const src = join(from, name);
    const dst = join(to, name);
    if (statSync(src).isDirectory()) {
      linkTree(src, dst);
      continue;
    }
    try {
      linkSync(src, dst);
    } catch {
      copyFileSync(src, dst);
    }
  }
}

/** Writes a snapshot of `db` (whose directory is `dbDir`) into `outDir`; returns the number of blocks in it. */
export async function snapshotDB(db: DB, dbDir: string, outDir: string, withHead: boolean): Promise<number> {
  mkdirSync(outDir, { recursive: true });
  let blocks = 0;
  for (const meta of db.blocks()) {
    linkTree(join(dbDir, meta.ulid), join(outDir, meta.ulid));
    blocks++;
  }
  const head = db.head();
  if (withHead && head.numSeries() > 0 && head.minTime() <= head.maxTime()) {
    const mint = head.minTime();
    const maxt = head.maxTime() + 1;
    const inRange = await runSteps(head.seriesInRangeSteps(mint, maxt));
    const series = (function* () {
      for (const s of inRange) yield { labels: s.labels, chunks: normalizeChunks(s.chunks, mint, maxt - 1) };
    })();
    const meta = await writeBlockAsync(outDir, series, { minTime: mint, maxTime: maxt });
    if (meta.stats.numSamples > 0) blocks++;
  }
  return blocks;
}
