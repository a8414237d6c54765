/**
 * Remote-Read messages (prometheus/prompb/remote.proto): `ReadRequest` in,
 * `ReadResponse` (SAMPLES) or framed `ChunkedReadResponse`s
 * (STREAMED_XOR_CHUNKS) out.
 *
 * @example
 * const req = decodeReadRequest(snappyDecode(body, limit));
 * req.queries[0].matchers; // [{ type: "=", name: "__name__", value: "up" }]
 */
import { newMatcher, type Labels, type Matcher, type MatchType } from "../model/index.ts";
import { crc32c } from "../tsdb/wal/index.ts";
import { ProtoError, ProtoReader, ProtoWriter, WIRE_I64, WIRE_LEN, WIRE_VARINT } from "./protobuf.ts";

export const RESPONSE_SAMPLES = 0;
export const RESPONSE_STREAMED_XOR_CHUNKS = 1;

export interface ReadHints {
  stepMs: number;
  func: string;
  startMs: number;
  endMs: number;
  grouping: string[];
  by: boolean;
  rangeMs: number;
}

export interface ReadQuery {
  startMs: number;
  endMs: number;
  matchers: Matcher[];
  hints?: ReadHints;
}

export interface ReadRequest {
  queries: ReadQuery[];
  acceptedResponseTypes: number[];
}

const MATCH_TYPES: MatchType[] = ["=", "!=", "=~", "!~"];

function readMatcher(r: ProtoReader): Matcher {
  const end = r.len("LabelMatcher");
  const outer = r.end;
  r.end = end;
  let type = 0;
  let name = "";
  let value = "";
  while (r.more()) {
    const tag = r.tag();
    if (tag === ((1 << 3) | WIRE_VARINT)) type = r.uint32("LabelMatcher.type");
    else if (tag === ((2 << 3) | WIRE_LEN)) name = r.string("LabelMatcher.name");
    else if (tag === ((3 << 3) | WIRE_LEN)) value = r.string("LabelMatcher.value");
    else r.skip(tag & 7, "LabelMatcher");
  }
  r.end = outer;
  const mt = MATCH_TYPES[type];
  if (!mt) throw new ProtoError("LabelMatcher.type", -1, `unknown matcher type ${type}`);
  try {
    return newMatcher(mt, name, value);
  } catch (e) {
    throw new ProtoError("LabelMatcher.value", -1, (e as Error).message);
  }
}

function readHints(r: ProtoReader): ReadHints {
  const end = r.len("ReadHints");
  const outer = r.end;
  r.end = end;
  const h: ReadHints = { stepMs: 0, func: "", startMs: 0, endMs: 0, grouping: [], by: false, rangeMs: 0 };
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | WIRE_VARINT: h.stepMs = r.int64("ReadHints.step_ms"); break;
      case (2 << 3) | WIRE_LEN: h.func = r.string("ReadHints.func"); break;
      case (3 << 3) | WIRE_VARINT: h.startMs = r.int64("ReadHints.start_ms"); break;
      case (4 << 3) | WIRE_VARINT: h.endMs = r.int64("ReadHints.end_ms"); break;
      case (5 << 3) | WIRE_LEN: h.grouping.push(r.string("ReadHints.grouping")); break;
      case (6 << 3) | WIRE_VARINT: h.by = r.bool("ReadHints.by"); break;
      case (7 << 3) | WIRE_VARINT: h.rangeMs = r.int64("ReadHints.range_ms"); break;
      default: r.skip(tag & 7, "ReadHints");
    }
  }
  r.end = outer;
  return h;
}

/** Decodes a `prometheus.ReadRequest`; malformed input throws {@link ProtoError}. */
export function decodeReadRequest(buf: Uint8Array): ReadRequest {
  const r = new ProtoReader(buf, 0, buf.length);
  const out: ReadRequest = { queries: [], acceptedResponseTypes: [] };
  while (r.more()) {
    const tag = r.tag();
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const end = r.len("Query");
      const outer = r.end;
      r.end = end;
      const q: ReadQuery = { startMs: 0, endMs: 0, matchers: [] };
      while (r.more()) {
        const t = r.tag();
        if (t === ((1 << 3) | WIRE_VARINT)) q.startMs = r.int64("Query.start_timestamp_ms");
        else if (t === ((2 << 3) | WIRE_VARINT)) q.endMs = r.int64("Query.end_timestamp_ms");
        else if (t === ((3 << 3) | WIRE_LEN)) q.matchers.push(readMatcher(r));
        else if (t === ((4 << 3) | WIRE_LEN)) q.hints = readHints(r);
        else r.skip(t & 7, "Query");
      }
      r.end = outer;
      out.queries.push(q);
    } else if (tag === ((2 << 3) | WIRE_VARINT)) {
      out.acceptedResponseTypes.push(r.uint32("ReadRequest.accepted_response_types"));
    } else if (tag === ((2 << 3) | WIRE_LEN)) {
      const end = r.len("ReadRequest.accepted_response_types");
      while (r.pos < end) out.acceptedResponseTypes.push(r.uint32("ReadRequest.accepted_response_types"));
    } else {
      r.skip(tag & 7, "ReadRequest");
    }
  }
  return out;
}

/** Encodes a ReadRequest (for clients and tests). */
export function encodeReadRequest(req: ReadRequest): Uint8Array<ArrayBuffer> {
  const w = new ProtoWriter();
  for (const q of req.queries) {
    w.fork(1);
    w.tag(1, WIRE_VARINT);
    w.int64(q.startMs);
    w.tag(2, WIRE_VARINT);
    w.int64(q.endMs);
    for (const m of q.matchers) {
      w.fork(3);
      w.tag(1, WIRE_VARINT);
      w.uint32(MATCH_TYPES.indexOf(m.type));
      w.string(2, m.name);
      w.string(3, m.value);
      w.join();
    }
    w.join();
  }
  for (const t of req.acceptedResponseTypes) {
    w.tag(2, WIRE_VARINT);
    w.uint32(t);
  }
  return w.finish();
}

function writeLabels(w: ProtoWriter, field: number, ls: Labels): void {
  for (const l of ls) {
    w.fork(field);
    w.string(1, l.name);
    w.string(2, l.value);
    w.join();
  }
}

/** Adds the samples of one series to a QueryResult being written (fields of prometheus.TimeSeries). */
export function writeSeriesSamples(w: ProtoWriter, ls: Labels, t: Float64Array, v: Float64Array, n: number): void {
  w.fork(1);
  writeLabels(w, 1, ls);
  for (let i = 0; i < n; i++) {
    w.fork(2);
    w.tag(1, WIRE_I64);
    w.doubleAt(v, i);
    w.tag(2, WIRE_VARINT);
    w.int64(t[i]!);
    w.join();
  }
  w.join();
}

/** A chunk as streamed: XOR encoding, its time range and bytes as stored. */
export interface StreamChunk {
  mint: number;
  maxt: number;
  data: Uint8Array;
}

/** Encodes one `ChunkedSeries` (labels + XOR chunks) into `w` under field 1 of ChunkedReadResponse. */
export function writeChunkedSeries(w: ProtoWriter, ls: Labels, chunks: readonly StreamChunk[]): void {
  w.fork(1);
  writeLabels(w, 1, ls);
  for (const c of chunks) {
    w.fork(2);
    w.tag(1, WIRE_VARINT);
    w.int64(c.mint);
    w.tag(2, WIRE_VARINT);
    w.int64(c.maxt);
    w.tag(3, WIRE_VARINT);
    w.uint32(1); // XOR
    w.bytes(4, c.data);
    w.join();
  }
  w.join();
}

/**
 * One frame of a streamed response: uvarint(length) · be32 CRC32C(data) · data,
 * as Prometheus's ChunkedWriter writes it.
 */
export function frame(data: Uint8Array): Uint8Array<ArrayBuffer> {
  const head = new ProtoWriter(16);
  head.uint32(data.length);
  const crc = crc32c(data, 0, data.length);
  const out = new Uint8Array(head.pos + 4 + data.length);
  out.set(head.buf.subarray(0, head.pos), 0);
  new DataView(out.buffer).setUint32(head.pos, crc >>> 0, false);
  out.set(data, head.pos + 4);
  return out;
}

/** A decoded ChunkedReadResponse (for clients and tests). */
export interface ChunkedReadResponse {
  queryIndex: number;
  series: { labels: { name: string; value: string }[]; chunks: { mint: number; maxt: number; type: number; data: Uint8Array }[] }[];
}

/** Splits a streamed body into frames, checking each CRC, and decodes them. */
export function decodeChunkedFrames(body: Uint8Array): ChunkedReadResponse[] {
  const out: ChunkedReadResponse[] = [];
  let pos = 0;
  while (pos < body.length) {
    const r = new ProtoReader(body, pos, body.length);
    const len = r.uint32("frame length");
    const start = r.pos + 4;
    if (start + len > body.length) throw new ProtoError("frame", pos, "truncated");
    const crc = new DataView(body.buffer, body.byteOffset).getUint32(r.pos, false);
    if (crc32c(body, start, start + len) >>> 0 !== crc) throw new ProtoError("frame", pos, "CRC32C mismatch");
    const m = new ProtoReader(body, start, start + len);
    const resp: ChunkedReadResponse = { queryIndex: 0, series: [] };
    while (m.more()) {
      const tag = m.tag();
      if (tag === ((2 << 3) | WIRE_VARINT)) resp.queryIndex = m.int64("query_index");
      else if (tag === ((1 << 3) | WIRE_LEN)) {
        const end = m.len("ChunkedSeries");
        const outer = m.end;
        m.end = end;
        const s: ChunkedReadResponse["series"][number] = { labels: [], chunks: [] };
        while (m.more()) {
          const t = m.tag();
          if (t === ((1 << 3) | WIRE_LEN)) {
            const le = m.len("Label");
            const o2 = m.end;
            m.end = le;
            const l = { name: "", value: "" };
            while (m.more()) {
              const lt = m.tag();
              if (lt === 10) l.name = m.string("name");
              else if (lt === 18) l.value = m.string("value");
              else m.skip(lt & 7, "Label");
            }
            m.end = o2;
            s.labels.push(l);
          } else if (t === ((2 << 3) | WIRE_LEN)) {
            const ce = m.len("Chunk");
            const o2 = m.end;
            m.end = ce;
            const c: { mint: number; maxt: number; type: number; data: Uint8Array } = { mint: 0, maxt: 0, type: 0, data: new Uint8Array(0) };
            while (m.more()) {
              const ct = m.tag();
              if (ct === 8) c.mint = m.int64("min_time_ms");
              else if (ct === 16) c.maxt = m.int64("max_time_ms");
              else if (ct === 24) c.type = m.uint32("type");
              else if (ct === 34) c.data = m.bytes("data");
              else m.skip(ct & 7, "Chunk");
            }
            m.end = o2;
            s.chunks.push(c);
          } else m.skip(t & 7, "ChunkedSeries");
        }
        m.end = outer;
        resp.series.push(s);
      } else m.skip(tag & 7, "ChunkedReadResponse");
    }
    out.push(resp);
    pos = start + len;
  }
  return out;
}
