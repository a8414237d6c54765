/**
 * Backfilling from OpenMetrics text, like `promtool tsdb
 * create-blocks-from openmetrics`: every sample needs a timestamp (seconds),
 * the input must end with `# EOF`, and samples are grouped into blocks of
 * aligned `blockDuration` ranges (2h by default). Each block's minTime and
 * maxTime are those of its samples (maxTime exclusive), as promtool writes
 * them. The blocks can be moved into (or written straight into) a data
 * directory; the DB merges them with overlapping data.
 *
 * @example
 * const r = await createBlocksFromOpenMetrics("data.om", "./data");
 * // r = { blocks: ["01H…"], series: 12, samples: 3400 }
 */
import { mkdirSync, readFileSync } from "node:fs";
import { nopLogger, type Logger } from "../log/index.ts";
import { labelsKey, parseOpenMetrics, type Labels } from "../model/index.ts";
import { encodeChunksLikeHead, writeBlock, type BlockSeries } from "./block/index.ts";
import { DEFAULT_BLOCK_DURATION } from "./db.ts";

/** Options of a backfill run. */
export interface BackfillOptions {
  /** Width of the aligned ranges samples are grouped by, in ms (default 2h). */
  blockDuration?: number;
  logger?: Logger;
}

/** What a backfill run wrote. */
export interface BackfillResult {
  /** ULIDs of the blocks written, oldest first. */
  blocks: string[];
  /** Distinct series in the input. */
  series: number;
  /** Samples written (duplicates of a series and timestamp count once). */
  samples: number;
}

interface SeriesSamples {
  labels: Labels;
  t: number[];
  v: number[];
}

/** Sorts a series' samples by time; for equal timestamps the one given last wins. */
function sortedBatch(s: SeriesSamples): { t: Float64Array; v: Float64Array; length: number } {
  const idx = s.t.map((_, i) => i).sort((a, b) => s.t[a]! - s.t[b]! || a - b);
  const t = new Float64Array(idx.length), v = new Float64Array(idx.length);
  let n = 0;
  for (const i of idx) {
    if (n > 0 && t[n - 1] === s.t[i]) {
      v[n - 1] = s.v[i]!;
      continue;
    }
    t[n] = s.t[i]!;
    v[n] = s.v[i]!;
    n++;
  }
  return { t: t.subarray(0, n), v: v.subarray(0, n), length: n };
}

/**
 * Reads OpenMetrics text from `inputPath` and writes blocks into `outDir`
 * (created if needed). Throws OpenMetricsParseError ("line N: …") for bad
 * input, before any block is written.
 */
export async function createBlocksFromOpenMetrics(inputPath: string, outDir: string, opts: BackfillOptions = {}): Promise<BackfillResult> {
  const logger = opts.logger ?? nopLogger;
  const blockDuration = opts.blockDuration ?? DEFAULT_BLOCK_DURATION;
  if (!(blockDuration > 0)) throw new Error(`backfill: block duration must be positive, got ${blockDuration}`);
  let text: string;
  try {
    text = readFileSync(inputPath, "utf8");
  } catch (err) {
    throw new Error(`backfill: reading ${inputPath}: ${(err as Error).message}`);
  }
  const parsed = parseOpenMetrics(text, { requireTimestamps: true });

  const byBlock = new Map<number, Map<Labels, SeriesSamples>>();
  const seriesKeys = new Set<string>();
  for (const s of parsed.samples) {
    const t = s.t!;
    const start = Math.floor(t / blockDuration) * blockDuration;
    let group = byBlock.get(start);
    if (!group) byBlock.set(start, (group = new Map()));
    let entry = group.get(s.labels);
    if (!entry) group.set(s.labels, (entry = { labels: s.labels, t: [], v: [] }));
    entry.t.push(t);
    entry.v.push(s.v);
  }

  mkdirSync(outDir, { recursive: true });
  const blocks: string[] = [];
  let samples = 0;
  for (const start of [...byBlock.keys()].sort((a, b) => a - b)) {
    // The parser shares one Labels object per series text; equal label sets written differently are merged here.
    const merged = new Map<string, SeriesSamples>();
    for (const e of byBlock.get(start)!.values()) {
      const key = labelsKey(e.labels);
      seriesKeys.add(key);
      const prev = merged.get(key);
      if (prev) {
        prev.t.push(...e.t);
        prev.v.push(...e.v);
      } else merged.set(key, { labels: e.labels, t: [...e.t], v: [...e.v] });
    }
    let mint = Infinity, maxt = -Infinity;
    const series: BlockSeries[] = [];
    for (const e of merged.values()) {
      const b = sortedBatch(e);
      samples += b.length;
      mint = Math.min(mint, b.t[0]!);
      maxt = Math.max(maxt, b.t[b.length - 1]!);
      series.push({ labels: e.labels, chunks: encodeChunksLikeHead(b, blockDuration) });
    }
    const meta = writeBlock(outDir, series, { minTime: mint, maxTime: maxt + 1 });
    logger.info("backfill: wrote block", { ulid: meta.ulid, mint, maxt: maxt + 1, series: meta.stats.numSeries, samples: meta.stats.numSamples });
    blocks.push(meta.ulid);
  }
  return { blocks, series: seriesKeys.size, samples };
}
