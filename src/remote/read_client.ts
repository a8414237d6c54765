/**
 * The remote-read client: one `remote_read` endpoint as a Queryable, to be
 * merged with local storage by the fan-out queryable (tsdb's
 * fanoutQueryable), as Prometheus's storage/remote read path does:
 *
 * - each select sends one snappy-compressed `ReadRequest` (one query),
 *   accepting STREAMED_XOR_CHUNKS first and SAMPLES second, and decodes
 *   whichever the server answers (by Content-Type);
 * - `required_matchers`: a select without an equality matcher for each of
 *   them does not reach the endpoint (no series);
 * - external labels (with `filter_external_labels`, the default): an
 *   equality matcher is added for each external label the select does not
 *   constrain, and that label is removed from the series returned;
 * - `read_recent: false` (the default): ranges newer than local storage's
 *   start time (plus a margin) are not asked for, as local storage has them;
 * - label names/values are not asked for (Prometheus 2.42 neither).
 *
 * Errors (HTTP status, timeout, bad body) reject the select with
 * "remote_read: …"; the fan-out turns them into the API response's warnings.
 *
 * @example
 * const rr = new RemoteReadQueryable({ config, name: "a1b2c3", externalLabels: {}, localStartTime: () => Date.now(), metrics });
 * const all = fanoutQueryable(db, [rr]);
 */
import { createHash } from "node:crypto";
import type { PrometheusConfig, RemoteReadConfig } from "../config/index.ts";
import { compareLabels, labelsKey, newMatcher, type Labels, type Matcher, type Registry } from "../model/index.ts";
import { decodeChunks, encodeChunks, mergeSampleBatches, type ChunkMeta, type LabelQueryOptions, type Querier, type Queryable, type SampleBatch, type SelectHints, type StoredSeries } from "../tsdb/index.ts";
import { authorizedRequestInit } from "./http_auth.ts";
import { ProtoError, ProtoReader, WIRE_LEN } from "./protobuf.ts";
import { decodeChunkedFrames, encodeReadRequest, RESPONSE_SAMPLES, RESPONSE_STREAMED_XOR_CHUNKS, type ReadQuery } from "./read_messages.ts";
import { STREAMED_CONTENT_TYPE } from "./read_server.ts";
import { snappyDecode, snappyEncode, SnappyError } from "./snappy.ts";
import { decodeWriteV1 } from "./write_messages.ts";

/** Bound of a decompressed (or streamed) read response. */
export const MAX_READ_RESPONSE_BYTES = 1 << 30;

const USER_AGENT = "Prometheus/2.42.0 (promts)";

/** The remote-read client metrics under Prometheus's names; one set per registry. */
export class RemoteReadMetrics {
  readonly queriesTotal;
  readonly inFlight;
  readonly duration;

  constructor(reg: Registry) {
    this.queriesTotal = reg.counterVec("prometheus_remote_storage_read_queries_total", "The total number of remote read queries.", ["remote_name", "url", "code"]);
    this.inFlight = reg.gaugeVec("prometheus_remote_storage_remote_read_queries", "The number of in-flight remote read queries.", ["remote_name", "url"]);
    this.duration = reg.histogramVec("prometheus_remote_storage_read_request_duration_seconds", "Histogram of the latency for remote read requests.", ["remote_name", "url"],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60]);
  }
}

export interface RemoteReadClientOptions {
  config: RemoteReadConfig;
  /** The remote_name label: the config's name, or a hash of it. */
  name: string;
  /** The global external labels (used only with filter_external_labels). */
  externalLabels: Readonly<Record<string, string>>;
  /** Local storage's start time in ms, margin included: without read_recent, newer ranges are not read remotely. */
  localStartTime: () => number;
  metrics?: RemoteReadMetrics;
}

/** A series read from an endpoint: samples (SAMPLES) or XOR chunks (STREAMED_XOR_CHUNKS), restricted to [mint, maxt]. */
class RemoteSeries implements StoredSeries {
  constructor(
    readonly labels: Labels,
    private readonly mint: number,
    private readonly maxt: number,
    private batch: SampleBatch | undefined,
    private readonly raw: ChunkMeta[] | undefined,
  ) {}

  chunks(): ChunkMeta[] {
    if (this.raw) return this.raw;
    return encodeChunks(this.samples());
  }

  samples(): SampleBatch {
    this.batch ??= decodeChunks(this.raw ?? [], this.mint, this.maxt);
    return this.batch;
  }
}

/** An empty querier: what a remote endpoint answers for a range local storage covers. */
const noopQuerier: Querier = {
  select: async () => [],
  labelNames: async () => [],
  labelValues: async () => [],
  close: () => {},
};

/** One `remote_read` endpoint as a Queryable. */
export class RemoteReadQueryable implements Queryable {
  private readonly ext: Readonly<Record<string, string>>;
  private readonly required: Matcher[];
  private readonly labelValues: [string, string];

  constructor(private readonly opts: RemoteReadClientOptions) {
    this.ext = opts.config.filter_external_labels ? opts.externalLabels : {};
    this.required = Object.entries(opts.config.required_matchers ?? {}).map(([n, v]) => newMatcher("=", n, v));
    this.labelValues = [opts.name, opts.config.url];
    opts.metrics?.inFlight.get(this.labelValues);
    opts.metrics?.duration.get(this.labelValues);
  }

  querier(mint: number, maxt: number): Querier {
    if (!this.opts.config.read_recent) {
      const local = this.opts.localStartTime();
      if (mint > local) return noopQuerier;
      if (maxt > local) maxt = local;
    }
    let closed = false;
    return {
      select: async (matchers, _mint, _maxt, hints) => {
        if (closed) throw new Error("querier already closed");
        return this.select(matchers, mint, maxt, hints);
      },
      labelNames: async (_opts?: LabelQueryOptions) => [],
      labelValues: async () => [],
      close: () => {
        closed = true;
      },
    };
  }

  /** Whether the select constrains every required matcher by equality. */
  private meetsRequired(matchers: readonly Matcher[]): boolean {
    return this.required.every((r) => matchers.some((m) => m.type === "=" && m.name === r.name && m.value === r.value));
  }

  private async select(matchers: readonly Matcher[], mint: number, maxt: number, hints?: SelectHints): Promise<StoredSeries[]> {
    if (!this.meetsRequired(matchers)) return [];
    const added: string[] = [];
    const all = [...matchers];
    for (const [name, value] of Object.entries(this.ext)) {
      if (matchers.some((m) => m.name === name)) continue;
      all.push(newMatcher("=", name, value));
      added.push(name);
    }
    const query: ReadQuery = { startMs: mint, endMs: maxt, matchers: all };
    const found = await this.read(query, hints?.signal);
    const drop = new Set(added);
    const byKey = new Map<string, RemoteSeries[]>();
    for (const s of found) {
      const ls = drop.size > 0 ? s.labels.filter((l) => !drop.has(l.name)) : s.labels;
      const key = labelsKey(ls);
      const same = byKey.get(key);
      const fixed = ls === s.labels ? s : new RemoteSeries(ls, mint, maxt, s.samples(), undefined);
      if (same) same.push(fixed);
      else byKey.set(key, [fixed]);
    }
    const out: StoredSeries[] = [];
    for (const group of byKey.values()) {
      const first = group[0]!;
      out.push(group.length === 1 ? first : new RemoteSeries(first.labels, mint, maxt, mergeSampleBatches(group.map((g) => g.samples())), undefined));
    }
    return out.sort((a, b) => compareLabels(a.labels, b.labels));
  }

  /** Sends one query; resolves with its series (labels sorted), rejects with "remote_read: …". */
  async read(query: ReadQuery, signal?: AbortSignal): Promise<RemoteSeries[]> {
    const m = this.opts.metrics;
    const started = performance.now();
    m?.inFlight.get(this.labelValues).inc();
    let code = "";
    try {
      const cfg = this.opts.config;
      const body = snappyEncode(encodeReadRequest({ queries: [query], acceptedResponseTypes: [RESPONSE_STREAMED_XOR_CHUNKS, RESPONSE_SAMPLES] }));
      const headers: Record<string, string> = {
        ...(cfg.headers ?? {}),
        "Content-Encoding": "snappy",
        "Content-Type": "application/x-protobuf",
        "User-Agent": USER_AGENT,
        "X-Prometheus-Remote-Read-Version": "0.1.0",
      };
      const timeout = AbortSignal.timeout(cfg.remote_timeout);
      const aborted = signal ? AbortSignal.any([signal, timeout]) : timeout;
      let res: Response;
      let bytes: Uint8Array;
      try {
        const init = await authorizedRequestInit(cfg, { method: "POST", body, headers, signal: aborted }, body, cfg.url);
        res = await fetch(cfg.url, init);
        code = String(res.status);
        bytes = await readLimited(res, MAX_READ_RESPONSE_BYTES);
      } catch (err) {
        if (signal?.aborted) throw err;
        if (timeout.aborted) throw new Error(`remote_read: error sending request: Post "${cfg.url}": context deadline exceeded (remote_timeout ${cfg.remote_timeout / 1000}s)`);
        throw new Error(`remote_read: error sending request: Post "${cfg.url}": ${(err as Error).message}`);
      }
      if (res.status < 200 || res.status >= 300) {
        const text = new TextDecoder().decode(bytes.subarray(0, 1024)).trim();
        throw new Error(`remote_read: remote server ${cfg.url} returned HTTP status ${res.status} ${res.statusText}: ${text}`);
      }
      const type = (res.headers.get("Content-Type") ?? "").replace(/\s+/g, "");
      try {
        if (type.startsWith(STREAMED_CONTENT_TYPE.replace(/\s+/g, ""))) return chunkedSeries(bytes, query);
        return sampleSeries(snappyDecode(bytes, MAX_READ_RESPONSE_BYTES), query);
      } catch (err) {
        if (err instanceof SnappyError) throw new Error(`remote_read: error reading response: ${err.message}`);
        if (err instanceof ProtoError) throw new Error(`remote_read: unable to unmarshal response body: ${err.message}`);
        throw err;
      }
    } finally {
      m?.inFlight.get(this.labelValues).dec();
      m?.duration.get(this.labelValues).observe((performance.now() - started) / 1000);
      if (code !== "") m?.queriesTotal.get([...this.labelValues, code]).inc();
    }
  }
}

/** Reads a response body, failing past `limit` bytes. */
async function readLimited(res: Response, limit: number): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
    n += part.length;
    if (n > limit) throw new Error(`response body exceeds ${limit} bytes`);
    parts.push(part);
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function sortedLabels(pairs: { name: string; value: string }[]): Labels {
  return [...pairs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The series of a SAMPLES `ReadResponse` (one QueryResult expected). */
function sampleSeries(buf: Uint8Array, query: ReadQuery): RemoteSeries[] {
  const r = new ProtoReader(buf, 0, buf.length);
  const results: Uint8Array[] = [];
  while (r.more()) {
    const tag = r.tag();
    if (tag === ((1 << 3) | WIRE_LEN)) results.push(r.bytes("ReadResponse.results"));
    else r.skip(tag & 7, "ReadResponse");
  }
  if (results.length !== 1) throw new ProtoError("ReadResponse", 0, `responses: want 1, got ${results.length}`);
  const d = decodeWriteV1(results[0]!);
  const counts = new Uint32Array(d.series.length);
  for (let i = 0; i < d.samples; i++) counts[d.sampleSeries[i]!]!++;
  const batches = Array.from(counts, (n) => ({ t: new Float64Array(n), v: new Float64Array(n), length: 0 }));
  const words = Array.from(batches, (b) => new Uint32Array(b.v.buffer));
  const from = new Uint32Array(d.v.buffer, d.v.byteOffset, d.v.length * 2);
  for (let i = 0; i < d.samples; i++) {
    const s = d.sampleSeries[i]!;
    const b = batches[s]!;
    const k = b.length++;
    b.t[k] = d.t[i]!;
    // Copied as words so NaN payloads (staleness markers) survive.
    words[s]![2 * k] = from[2 * i]!;
    words[s]![2 * k + 1] = from[2 * i + 1]!;
  }
  return d.series.map((ls, i) => {
    let b: SampleBatch = batches[i]!;
    if (!inOrder(b)) b = sortBatch(b);
    return new RemoteSeries(sortedLabels(ls), query.startMs, query.endMs, b, undefined);
  });
}

/** The series of a streamed `ChunkedReadResponse` body; series split over frames are joined. */
function chunkedSeries(body: Uint8Array, query: ReadQuery): RemoteSeries[] {
  const byKey = new Map<string, { labels: Labels; chunks: ChunkMeta[] }>();
  for (const frame of decodeChunkedFrames(body)) {
    if (frame.queryIndex !== 0) throw new ProtoError("ChunkedReadResponse.query_index", 0, `unexpected query index ${frame.queryIndex}`);
    for (const s of frame.series) {
      const labels = sortedLabels(s.labels);
      const key = labelsKey(labels);
      let e = byKey.get(key);
      if (!e) byKey.set(key, (e = { labels, chunks: [] }));
      for (const c of s.chunks) {
        if (c.type !== 1) throw new ProtoError("Chunk.type", 0, `unsupported chunk encoding ${c.type} (only XOR)`);
        e.chunks.push({ mint: c.mint, maxt: c.maxt, data: c.data });
      }
    }
  }
  return [...byKey.values()].map((e) => new RemoteSeries(e.labels, query.startMs, query.endMs, undefined, e.chunks.sort((a, b) => a.mint - b.mint)));
}

function inOrder(b: SampleBatch): boolean {
  for (let i = 1; i < b.length; i++) if (!(b.t[i]! > b.t[i - 1]!)) return false;
  return true;
}

/** Sorts a batch by time, keeping the first of equal timestamps. */
function sortBatch(b: SampleBatch): SampleBatch {
  const idx = Array.from({ length: b.length }, (_, i) => i).sort((x, y) => b.t[x]! - b.t[y]! || x - y);
  const t = new Float64Array(b.length), v = new Float64Array(b.length);
  const to = new Uint32Array(v.buffer), from = new Uint32Array(b.v.buffer, b.v.byteOffset, b.length * 2);
  let n = 0;
  for (const i of idx) {
    if (n > 0 && t[n - 1] === b.t[i]) continue;
    t[n] = b.t[i]!;
    to[2 * n] = from[2 * i]!;
    to[2 * n + 1] = from[2 * i + 1]!;
    n++;
  }
  return { t: t.subarray(0, n), v: v.subarray(0, n), length: n };
}

/** The remote_name of a remote_read endpoint: its name, or the first 6 hex digits of a hash of its config. */
export function readEndpointName(cfg: RemoteReadConfig): string {
  return cfg.name && cfg.name !== "" ? cfg.name : createHash("sha256").update(JSON.stringify(cfg)).digest("hex").slice(0, 6);
}

/**
 * Every remote_read endpoint of the running configuration, rebuilt on each
 * applyConfig (the clients hold no state besides their settings).
 *
 * @example
 * const rrs = new RemoteReadStorage({ registry, localStartTime: () => Date.now() });
 * rrs.applyConfig(config);
 * const all = fanoutQueryable(db, rrs.queryables());
 */
export class RemoteReadStorage {
  private readonly metrics: RemoteReadMetrics;
  private current: RemoteReadQueryable[] = [];

  constructor(private readonly opts: { registry: Registry; localStartTime: () => number }) {
    this.metrics = new RemoteReadMetrics(opts.registry);
  }

  /** Replaces the endpoints with `config.remote_read`; a duplicate endpoint name is refused. */
  applyConfig(config: PrometheusConfig): void {
    const names = new Set<string>();
    const next: RemoteReadQueryable[] = [];
    for (const cfg of config.remote_read) {
      const name = readEndpointName(cfg);
      if (names.has(name)) throw new Error(`duplicate remote read configs are not allowed, found duplicate for URL: ${cfg.url}`);
      names.add(name);
      next.push(new RemoteReadQueryable({ config: cfg, name, externalLabels: config.global.external_labels ?? {}, localStartTime: this.opts.localStartTime, metrics: this.metrics }));
    }
    this.current = next;
  }

  /** The endpoints in effect, in config order. */
  queryables(): readonly RemoteReadQueryable[] {
    return this.current;
  }
}
