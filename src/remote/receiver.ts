/**
 * The remote-write receiver (`POST /api/v1/write`): Remote-Write 1.0
 * (`prometheus.WriteRequest`) and 2.0 (`io.prometheus.write.v2.Request`),
 * chosen by Content-Type as the 2.0 spec says, snappy-compressed.
 *
 * Answers as Prometheus does:
 * - 204 when every sample was stored; for 2.0 always with the
 *   X-Prometheus-Remote-Write-{Samples,Histograms,Exemplars}-Written headers;
 * - 415 for a content type or encoding the server does not take;
 * - 400 with the reason for a body that does not decode (nothing of it is
 *   stored), and for samples refused one by one (out of order, duplicate,
 *   out of bounds, invalid labels, native histograms): the good samples of the
 *   same request are stored all the same, and the body lists what was refused;
 * - 5xx only when storing failed in a way a retry can fix.
 *
 * The samples of a request go to the head in batches (series refs, times and
 * values in typed arrays): no object per sample.
 *
 * @example
 * const write = remoteWriteHandler({ appender: () => db.appender(), acceptedMessages: ["prometheus.WriteRequest"] });
 * const res = await write(new Request("http://x/api/v1/write", { method: "POST", body, headers }));
 */
import type { Logger } from "../log/index.ts";
import { labelsKey, type Label, type Labels } from "../model/index.ts";
import { runSteps, runStepsNow, type Appender } from "../tsdb/index.ts";
import { ProtoError } from "./protobuf.ts";
import { SnappyError, snappyDecodeSteps } from "./snappy.ts";
import { decodeWriteV1Steps, decodeWriteV2Steps, type DecodedWrite } from "./write_messages.ts";

export const PROTO_V1 = "prometheus.WriteRequest";
export const PROTO_V2 = "io.prometheus.write.v2.Request";
export type RemoteWriteProtoMsg = typeof PROTO_V1 | typeof PROTO_V2;
export const REMOTE_WRITE_PROTO_MSGS: readonly RemoteWriteProtoMsg[] = [PROTO_V1, PROTO_V2];

export const SAMPLES_WRITTEN_HEADER = "X-Prometheus-Remote-Write-Samples-Written";
export const HISTOGRAMS_WRITTEN_HEADER = "X-Prometheus-Remote-Write-Histograms-Written";
export const EXEMPLARS_WRITTEN_HEADER = "X-Prometheus-Remote-Write-Exemplars-Written";

/** Default bound of a request body (compressed). */
export const DEFAULT_MAX_BODY_BYTES = 32 << 20;
/** Default bound of a decompressed request. */
export const DEFAULT_MAX_DECODED_BYTES = 64 << 20;

/** Samples appended per call to the head: large requests are stored in slices so the event loop breathes. */
const APPEND_SLICE = 2048;
/** At most this many refusals are spelled out in a 400 body. */
const MAX_LISTED_ERRORS = 10;

export interface RemoteWriteOptions {
  /** Where samples go (the DB's head appender). */
  appender: () => Appender;
  /** --web.remote-write-receiver.accepted-protobuf-messages. */
  acceptedMessages: readonly RemoteWriteProtoMsg[];
  logger?: Logger;
  maxBodyBytes?: number;
  maxDecodedBytes?: number;
}

/** What one request stored and refused. */
export interface WriteStats {
  samples: number;
  histograms: number;
  exemplars: number;
}

class RequestError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const APPEND_ERROR_TEXT = ["", "out of order sample", "duplicate sample for timestamp", "out of bounds", "unknown series"];

/**
 * Parses Content-Type into the message it asks for (Remote-Write 2.0 spec:
 * an empty type or one without `proto=` means 1.0).
 */
export function negotiateWriteMessage(contentType: string | null, accepted: readonly RemoteWriteProtoMsg[]): RemoteWriteProtoMsg {
  const ct = (contentType ?? "").trim();
  let msg: string = PROTO_V1;
  if (ct !== "") {
    const [media, ...params] = ct.split(";").map((p) => p.trim());
    if (media!.toLowerCase() !== "application/x-protobuf") {
      throw new RequestError(415, `unsupported Content-Type ${JSON.stringify(ct)}; expected application/x-protobuf`);
    }
    for (const p of params) {
      const eq = p.indexOf("=");
      if (eq > 0 && p.slice(0, eq).trim().toLowerCase() === "proto") msg = p.slice(eq + 1).trim().replace(/^"|"$/g, "");
    }
  }
  if (msg !== PROTO_V1 && msg !== PROTO_V2) {
    throw new RequestError(415, `unknown remote write protobuf message ${JSON.stringify(msg)}; this server accepts ${accepted.join(", ")}`);
  }
  if (!accepted.includes(msg)) {
    throw new RequestError(415, `remote write protobuf message ${msg} is not accepted by this server (--web.remote-write-receiver.accepted-protobuf-messages=${accepted.join(",")})`);
  }
  return msg;
}

async function readBody(req: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get("Content-Length") ?? "NaN");
  if (declared > limit) throw new RequestError(400, `request body of ${declared} bytes exceeds the limit of ${limit} bytes`);
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      throw new RequestError(400, `request body exceeds the limit of ${limit} bytes`);
    }
    parts.push(value);
  }
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * Why a label set cannot be stored (as Prometheus's labels.IsValid with
 * UTF-8 names), or "" when it can. Names are non-empty and unique,
 * `__name__` is present; values were checked to be valid UTF-8 when decoded.
 */
function invalidLabels(ls: readonly Label[]): string {
  let hasName = false;
  for (let i = 0; i < ls.length; i++) {
    const name = ls[i]!.name;
    if (name === "") return "empty label name";
    if (name === "__name__") hasName = ls[i]!.value !== "";
    if (i > 0 && ls[i - 1]!.name === name) return `duplicate label name ${JSON.stringify(name)}`;
  }
  return hasName ? "" : "missing metric name";
}

function sortedLabels(ls: Label[]): Labels {
  let sorted = true;
  let empty = false;
  for (let i = 0; i < ls.length; i++) {
    if (i > 0 && ls[i - 1]!.name > ls[i]!.name) sorted = false;
    if (ls[i]!.value === "" && ls[i]!.name !== "") empty = true;
  }
  if (!sorted) ls.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // An empty value is the same as no label (Prometheus drops it).
  return empty ? ls.filter((l) => l.value !== "" || l.name === "") : ls;
}

/** Collects the reasons samples were refused, for the 400 body. */
class Refusals {
  readonly lines: string[] = [];
  count = 0;

  add(line: string): void {
    this.count++;
    if (this.lines.length < MAX_LISTED_ERRORS) this.lines.push(line);
  }

  text(): string {
    const more = this.count - this.lines.length;
    return this.lines.join("\n") + (more > 0 ? `\n... and ${more} more` : "");
  }
}

/**
 * Stores a decoded request: validates and resolves each series once, then
 * appends all its float samples in batches. Returns what was written and the
 * refusals.
 */
export function storeDecodedWrite(req: DecodedWrite, appender: Appender): { stats: WriteStats; refusals: Refusals } {
  return runStepsNow(storeDecodedWriteSteps(req, appender));
}

/** Series resolved (looked up or created) between two pauses of {@link storeDecodedWriteSteps}. */
const SERIES_PER_STEP = 128;

/**
 * {@link storeDecodedWrite} as steps: it pauses every 128 series resolved
 * and after every appended batch (drive it with runSteps), so storing a
 * large request lets the event loop turn. Samples are appended in request
 * order, so a request's samples of one series stay in order.
 */
export function* storeDecodedWriteSteps(req: DecodedWrite, appender: Appender): Generator<void, { stats: WriteStats; refusals: Refusals }, undefined> {
  const st = new StoreState(req, appender);
  // The loops are plain methods: a loop in a generator's body is optimised later.
  for (let from = 0; from < req.series.length; from += SERIES_PER_STEP) {
    if (from > 0) yield;
    st.resolveSeries(from, Math.min(req.series.length, from + SERIES_PER_STEP));
  }
  while (st.appendNext()) yield;
  if (req.histograms > 0) {
    for (const [s, n] of req.histogramsBySeries) {
      st.refusals.add(`native histograms are not supported by promts yet: ${n} histogram samples refused for series ${labelsKey(st.labelsOf[s]!)}`);
    }
  }
  return { stats: { samples: st.written, histograms: 0, exemplars: 0 }, refusals: st.refusals };
}

/** What storing one request keeps between its steps. */
class StoreState {
  readonly refusals = new Refusals();
  readonly labelsOf: Labels[];
  written = 0;
  private perSeries: Uint32Array | undefined;
  private readonly seriesRefs: Int32Array;
  private readonly refs: Uint32Array;
  private readonly t: Float64Array;
  private readonly v: Float64Array;
  private readonly vWords: Uint32Array;
  private readonly inWords: Uint32Array;
  private readonly status: Uint8Array;
  private readonly batchSeries: Uint32Array;
  private readonly batchT: Float64Array;
  private next = 0;

  constructor(private readonly req: DecodedWrite, private readonly appender: Appender) {
    this.seriesRefs = new Int32Array(req.series.length).fill(-1);
    this.labelsOf = new Array(req.series.length);
    this.refs = new Uint32Array(Math.min(req.samples, APPEND_SLICE));
    this.t = new Float64Array(this.refs.length);
    this.v = new Float64Array(this.refs.length);
    // Values are copied as words: a NaN read into a JS number may lose its payload (the staleness marker).
    this.vWords = new Uint32Array(this.v.buffer);
    this.inWords = new Uint32Array(req.v.buffer, req.v.byteOffset, req.v.length * 2);
    this.status = new Uint8Array(this.refs.length);
    this.batchSeries = new Uint32Array(this.refs.length);
    this.batchT = new Float64Array(this.refs.length);
  }

  /** Validates series [from, to) and resolves their refs (creating series as needed). */
  resolveSeries(from: number, to: number): void {
    const req = this.req;
    for (let i = from; i < to; i++) {
      const ls = sortedLabels(req.series[i]!);
      this.labelsOf[i] = ls;
      const why = invalidLabels(ls);
      if (why !== "") {
        this.perSeries ??= samplesPerSeries(req);
        const n = this.perSeries[i]!;
        if (n > 0 || req.histogramsBySeries.has(i)) this.refusals.add(`invalid labels (${why}) for series ${labelsKey(ls)}: ${n} samples refused`);
        continue;
      }
      this.seriesRefs[i] = this.appender.ref(ls);
    }
  }

  /** Appends the next batch of samples (request order); false once every sample was appended. */
  appendNext(): boolean {
    const req = this.req;
    const { refs, t, vWords, inWords, batchSeries, batchT, status } = this;
    let i = this.next;
    let n = 0;
    for (; i < req.samples && n < refs.length; i++) {
      const s = req.sampleSeries[i]!;
      const ref = this.seriesRefs[s]!;
      if (ref < 0) continue;
      refs[n] = ref;
      t[n] = req.t[i]!;
      vWords[2 * n] = inWords[2 * i]!;
      vWords[2 * n + 1] = inWords[2 * i + 1]!;
      batchSeries[n] = s;
      batchT[n] = req.t[i]!;
      n++;
    }
    this.next = i;
    if (n > 0) {
      const res = this.appender.appendBatch(refs, t, this.v, n, status);
      // An exact duplicate of a series' last sample is accepted (not stored twice), as Prometheus does: it counts as written.
      const ok = countOk(status, n);
      this.written += ok;
      if (ok !== n || res.outOfOrder + res.duplicate + res.outOfBounds + res.unknownRef > 0) {
        for (let j = 0; j < n; j++) {
          const st = status[j]!;
          if (st === 0) continue;
          this.refusals.add(`${APPEND_ERROR_TEXT[st] ?? `append error ${st}`} for series ${labelsKey(this.labelsOf[batchSeries[j]!]!)} at timestamp ${batchT[j]}`);
        }
      }
    }
    return i < req.samples;
  }
}

function countOk(status: Uint8Array, n: number): number {
  let ok = 0;
  for (let j = 0; j < n; j++) if (status[j] === 0) ok++;
  return ok;
}

function samplesPerSeries(req: DecodedWrite): Uint32Array {
  const counts = new Uint32Array(req.series.length);
  for (let i = 0; i < req.samples; i++) counts[req.sampleSeries[i]!]!++;
  return counts;
}

function textResponse(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body === "" ? null : `${body}\n`, { status, headers: { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff", ...headers } });
}

/** The handler for POST /api/v1/write. */
export function remoteWriteHandler(opts: RemoteWriteOptions): (req: Request) => Promise<Response> {
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxDecoded = opts.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES;
  return async (req) => {
    let msg: RemoteWriteProtoMsg;
    let decoded: DecodedWrite;
    try {
      msg = negotiateWriteMessage(req.headers.get("Content-Type"), opts.acceptedMessages);
      const enc = (req.headers.get("Content-Encoding") ?? "").trim().toLowerCase();
      if (enc !== "" && enc !== "snappy") throw new RequestError(415, `unsupported Content-Encoding ${JSON.stringify(enc)}; only snappy is supported`);
      const body = await readBody(req, maxBody);
      // Decompressing, decoding and storing run in ~10 ms slices: a large request does not hold the event loop.
      const raw = await runSteps(snappyDecodeSteps(body, maxDecoded));
      decoded = await runSteps(msg === PROTO_V1 ? decodeWriteV1Steps(raw) : decodeWriteV2Steps(raw));
    } catch (err) {
      if (err instanceof RequestError) {
        opts.logger?.error("Error decoding remote write request", { err: err.message });
        return textResponse(err.status, err.message);
      }
      if (err instanceof SnappyError || err instanceof ProtoError) {
        const what = err instanceof SnappyError ? err.message : `decoding ${msg!}: ${err.message}`;
        opts.logger?.error("Error decoding remote write request", { err: what });
        return textResponse(400, what);
      }
      throw err;
    }
    let stats: WriteStats;
    let refusals: Refusals;
    try {
      ({ stats, refusals } = await runSteps(storeDecodedWriteSteps(decoded, opts.appender())));
    } catch (err) {
      // Storage failed (e.g. the WAL could not be written): a retry may succeed.
      opts.logger?.error("Error appending remote write", { err });
      return textResponse(500, `storing samples failed: ${(err as Error).message}`);
    }
    const headers: Record<string, string> = msg === PROTO_V2
      ? {
        [SAMPLES_WRITTEN_HEADER]: String(stats.samples),
        [HISTOGRAMS_WRITTEN_HEADER]: String(stats.histograms),
        [EXEMPLARS_WRITTEN_HEADER]: String(stats.exemplars),
      }
      : {};
    if (refusals.count > 0) {
      opts.logger?.warn("Remote write samples refused", { refused: refusals.count, first: refusals.lines[0] });
      return textResponse(400, refusals.text(), headers);
    }
    return new Response(null, { status: 204, headers });
  };
}
