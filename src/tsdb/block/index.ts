/**
 * The block room's door: Prometheus-format block directories (meta.json,
 * chunks/, index v2, tombstones) — writing, reading, querying — and the
 * merge helpers used by the DB querier and compaction.
 */
export { Block, postingsForMatchers } from "./reader.ts";
export {
  writeBlock,
  writeBlockAsync,
  removeBlockDir,
  BlockWriteError,
  TMP_FOR_CREATION,
  TMP_FOR_DELETION,
  type BlockSeries,
  type WriteBlockOptions,
} from "./writer.ts";
export { type BlockMeta, type BlockDesc, readMeta, writeMeta, META_FILENAME } from "./meta.ts";
export { IndexReader, encodeIndex, compareUtf8, INDEX_MAGIC, type ChunkRef, type IndexSeries } from "./index_format.ts";
export { ChunkSegmentReader, ChunkSegmentWriter, CHUNKS_MAGIC, ENCODING_XOR } from "./chunks.ts";
export { readTombstones, encodeEmptyTombstones, TOMBSTONES_MAGIC, type Tombstone } from "./tombstones.ts";
export { BlockFormatError } from "./encoding.ts";
export { newULID, isULID } from "./ulid.ts";
export {
  decodeChunks,
  emptyBatch,
  encodeChunks,
  encodeChunksLikeHead,
  mergeSampleBatches,
  mergeSeriesLists,
  normalizeChunks,
  SAMPLES_PER_CHUNK,
} from "./merge.ts";
