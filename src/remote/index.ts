/**
 * The remote room: Remote-Write 1.0/2.0 and Remote-Read messages (protobuf +
 * snappy codecs), the /api/v1/write receiver, /federate, and the admin API.
 */
export { ProtoError, ProtoReader, ProtoWriter, WIRE_I32, WIRE_I64, WIRE_LEN, WIRE_VARINT } from "./protobuf.ts";
export { SnappyError, snappyDecode, snappyDecodedLength, snappyDecodeSteps, snappyEncode } from "./snappy.ts";
export {
  decodeWriteV1,
  decodeWriteV1Steps,
  decodeWriteV2,
  decodeWriteV2Steps,
  encodeWriteV1,
  encodeWriteV2,
  METRIC_TYPES,
  type DecodedWrite,
  type EncodeSeries,
  type EncodeSeriesV2,
  type WriteMetadata,
} from "./write_messages.ts";
export {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_DECODED_BYTES,
  EXEMPLARS_WRITTEN_HEADER,
  HISTOGRAMS_WRITTEN_HEADER,
  negotiateWriteMessage,
  PROTO_V1,
  PROTO_V2,
  REMOTE_WRITE_PROTO_MSGS,
  remoteWriteHandler,
  SAMPLES_WRITTEN_HEADER,
  storeDecodedWrite,
  storeDecodedWriteSteps,
  type RemoteWriteOptions,
  type RemoteWriteProtoMsg,
  type WriteStats,
} from "./receiver.ts";
export { comparePositions, WALWatcher, type WALPosition } from "./wal_watcher.ts";
export { RemoteWriteMetrics, retryableStatus, retryAfterMs, WriteQueue, type WriteQueueOptions } from "./write_queue.ts";
export { queueName, RemoteWriteStorage, type RemoteWriteStorageOptions } from "./write_storage.ts";
export {
  decodeChunkedFrames,
  decodeReadRequest,
  encodeReadRequest,
  RESPONSE_SAMPLES,
  RESPONSE_STREAMED_XOR_CHUNKS,
  type ChunkedReadResponse,
  type ReadQuery,
  type ReadRequest,
} from "./read_messages.ts";
export { remoteReadHandler, STREAMED_CONTENT_TYPE, type RemoteReadOptions } from "./read_server.ts";
export { MAX_READ_RESPONSE_BYTES, readEndpointName, RemoteReadMetrics, RemoteReadQueryable, RemoteReadStorage, type RemoteReadClientOptions } from "./read_client.ts";
export { GapFillQueryable, gapsWithin, medianStep, missingSamples, type Gap, type GapFillOptions, type GapPeer } from "./gap_fill.ts";
export { decodeProgress, endpointKey, ENDPOINTS_META, HANDOFF_MS, TAKEOVER_GRACE_MS, WriterElection, type WriteGate, type WriterElectionOptions } from "./election.ts";
