/**
 * meta.json of a block, with Prometheus's field names: minTime inclusive,
 * maxTime exclusive, both in milliseconds.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BlockFormatError } from "./encoding.ts";

/** A block named as a parent of a compacted block. */
export interface BlockDesc {
  ulid: string;
  minTime: number;
  maxTime: number;
}

/** The parsed meta.json of one block. */
export interface BlockMeta {
  ulid: string;
  minTime: number;
  /** Exclusive: every sample has t < maxTime. */
  maxTime: number;
  stats: { numSamples: number; numSeries: number; numChunks: number; numTombstones?: number };
  compaction: { level: number; sources: string[]; parents?: BlockDesc[]; deletable?: boolean; failed?: boolean };
  version: number;
}

/** File name of the block metadata. */
export const META_FILENAME = "meta.json";

/** Reads and validates `<dir>/meta.json`; throws BlockFormatError naming the file on bad content. */
export function readMeta(dir: string): BlockMeta {
  const path = join(dir, META_FILENAME);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new BlockFormatError(`${path}: ${(err as Error).message}`);
  }
  const m = raw as Partial<BlockMeta>;
  const num = (v: unknown) => typeof v === "number" && Number.isFinite(v);
  if (typeof m !== "object" || m === null || typeof m.ulid !== "string" || !num(m.minTime) || !num(m.maxTime)) {
    throw new BlockFormatError(`${path}: missing ulid, minTime or maxTime`);
  }
  if (m.version !== 1) throw new BlockFormatError(`${path}: unsupported meta version ${String(m.version)}`);
  const stats = m.stats ?? { numSamples: 0, numSeries: 0, numChunks: 0 };
  const compaction = m.compaction ?? { level: 1, sources: [m.ulid] };
  return {
    ulid: m.ulid,
    minTime: m.minTime!,
    maxTime: m.maxTime!,
    stats: {
      numSamples: stats.numSamples ?? 0, numSeries: stats.numSeries ?? 0, numChunks: stats.numChunks ?? 0,
      ...(stats.numTombstones ? { numTombstones: stats.numTombstones } : {}),
    },
    compaction: { ...compaction, level: compaction.level ?? 1, sources: compaction.sources ?? [m.ulid] },
    version: 1,
  };
}

/** meta.json's text in Prometheus's layout (tab-indented, empty parents and zero numTombstones omitted). */
export function encodeMeta(meta: BlockMeta): string {
  const compaction: Record<string, unknown> = { level: meta.compaction.level, sources: meta.compaction.sources };
  if (meta.compaction.parents && meta.compaction.parents.length > 0) compaction.parents = meta.compaction.parents;
  if (meta.compaction.deletable) compaction.deletable = true;
  if (meta.compaction.failed) compaction.failed = true;
  const { numTombstones, ...counts } = meta.stats;
  const stats = numTombstones ? { ...counts, numTombstones } : counts;
  const out = { ulid: meta.ulid, minTime: meta.minTime, maxTime: meta.maxTime, stats, compaction, version: 1 };
  return JSON.stringify(out, null, "\t");
}

/** Writes `<dir>/meta.json` (see {@link encodeMeta}). */
export function writeMeta(dir: string, meta: BlockMeta): void {
  writeFileSync(join(dir, META_FILENAME), encodeMeta(meta));
}

/** Replaces `<dir>/meta.json` of a live block (temporary file, then rename), so a crash leaves the old or the new one. */
export function writeMetaAtomically(dir: string, meta: BlockMeta): void {
  const path = join(dir, META_FILENAME);
  writeFileSync(`${path}.tmp`, encodeMeta(meta));
  renameSync(`${path}.tmp`, path);
}
