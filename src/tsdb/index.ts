/**
 * The tsdb door: storage contracts, the XOR chunk codec, the head, on-disk
 * blocks, compaction, the DB that ties head and blocks together, and
 * OpenMetrics backfilling.
 */
export * from "./types.ts";
export * from "./chunkenc/index.ts";
export * from "./head/index.ts";
export { WALWriteError, type WriteFn } from "./wal/index.ts";
export {
  Block,
  BlockFormatError,
  BlockWriteError,
  writeBlock,
  writeBlockAsync,
  readMeta,
  isULID,
  newULID,
  encodeChunks,
  decodeChunks,
  mergeSampleBatches,
  mergeSeriesLists,
  type BlockMeta,
  type BlockDesc,
  type BlockSeries,
  type WriteBlockOptions,
} from "./block/index.ts";
export { compactBlocks, compactBlocksAsync, compactionRanges, exponentialBlockRanges, planCompaction } from "./compact.ts";
export { openDB, DEFAULT_BLOCK_DURATION, DEFAULT_COMPACTION_INTERVAL, DEFAULT_RETENTION_TIME, type DB, type DBOptions } from "./db.ts";
export { createBlocksFromOpenMetrics, type BackfillOptions, type BackfillResult } from "./backfill.ts";
export { fanoutQueryable, PartsQuerier, QuerierClosedError } from "./querier.ts";
export { WORK_SLICE_MS, WorkSlicer, yieldToEventLoop, runSteps, runStepsNow, sortSteps } from "./event_loop.ts";
export { snapshotDB } from "./snapshot.ts";
export { AGENT_MAX_WAL_TIME, AGENT_MIN_WAL_TIME, AGENT_UNSUPPORTED, agentTruncationTime, openAgentDB, type AgentDBOptions } from "./agent.ts";
