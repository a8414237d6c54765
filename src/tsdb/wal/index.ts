/**
 * The write-ahead log: segmented, paged, CRC32C-framed records (Prometheus's
 * `wlog` layout) carrying series and samples records (Prometheus's `record`
 * encoding), with replay, tail repair and checkpoints.
 *
 * @example
 * const wal = await WAL.open({ dir: "data/wal", onRecord: (rec) => console.log(rec[0]) });
 * wal.log([encodeSamples(refs, t, v, n)]);
 */
export { crc32c } from "./crc32c.ts";
export {
  ByteWriter, RecordType, decodeSamples, decodeSeries, decodeTombstones, encodeSamples, encodeSeries, encodeTombstones,
  type SamplesRecord, type SeriesRecord, type TombstoneRecord,
} from "./records.ts";
export {
  CorruptionError, DEFAULT_SEGMENT_SIZE, PAGE_SIZE, RECORD_HEADER_SIZE, WAL, lastCheckpoint, listSegments,
  ioErrorText, readAll, readSegment, readSegmentBytes, registerWALMetrics, segmentRecords, segmentName, walSize, writeCheckpoint,
  WALWriteError, type WALMetrics, type WALOptions, type WriteFn,
} from "./wal.ts";
