/**
 * One remote_write endpoint: tails the WAL ({@link WALWatcher}), relabels
 * each series once (write_relabel_configs, then external labels), shards
 * samples by series (so each series' samples go out in order), and sends
 * batches of at most max_samples_per_send as snappy-compressed
 * Remote-Write 1.0 or 2.0 requests.
 *
 * Durable: the WAL is the only buffer. The queue persists the WAL position
 * up to which every sample has been delivered (or dropped by a 4xx), and
 * after a restart resumes there, so an endpoint outage plus a restart loses
 * nothing still in the WAL. Delivery is at-least-once: a resent sample has
 * the same timestamp and value, which receivers accept.
 *
 * Retries: 5xx, 429 (with retry_on_http_429) and network errors are retried
 * with exponential backoff from min_backoff to max_backoff, with jitter,
 * honouring Retry-After; other 4xx drop the batch and count it failed.
 * Shards follow the measured throughput between min_shards and max_shards.
 *
 * @example
 * const q = new WriteQueue({ config, name: "a1b2c3", walDir: "data/wal", progressFile: "data/remote_write/a1b2c3.json", metrics, externalLabels: {} });
 * await q.start();
 * await q.stop();
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { RemoteWriteConfig } from "../config/index.ts";
import { authorizedRequestInit } from "./http_auth.ts";
import { nopLogger, type Logger } from "../log/index.ts";
import { type Counter, type Gauge, type Histogram, type Label, type Labels, relabel, type Registry, type RelabelRule } from "../model/index.ts";
import type { SamplesRecord } from "../tsdb/wal/index.ts";
import { snappyEncode } from "./snappy.ts";
import type { WriteGate } from "./election.ts";
import { comparePositions, WALWatcher, type WALPosition } from "./wal_watcher.ts";
import { encodeWriteV1, encodeWriteV2, type EncodeSeries, type WriteMetadata } from "./write_messages.ts";

/** The metrics of every queue, under Prometheus's names; one set per registry. */
export class RemoteWriteMetrics {
  readonly samplesTotal;
  readonly samplesFailed;
  readonly samplesRetried;
  readonly samplesDropped;
  readonly samplesPending;
  readonly highestSent;
  readonly shards;
  readonly shardsDesired;
  readonly shardsMin;
  readonly shardsMax;
  readonly shardCapacity;
  readonly bytesTotal;
  readonly batchDuration;
  readonly samplesIn: Counter;
  readonly highestIn: Gauge;
  readonly metadataTotal;
  readonly metadataFailed;
  readonly metadataRetried;
  readonly metadataBytes;

  constructor(reg: Registry) {
    const l = ["remote_name", "url"];
    this.samplesTotal = reg.counterVec("prometheus_remote_storage_samples_total", "Total number of samples sent to remote storage.", l);
    this.samplesFailed = reg.counterVec("prometheus_remote_storage_samples_failed_total", "Total number of samples which failed on send to remote storage, non-recoverable errors.", l);
    this.samplesRetried = reg.counterVec("prometheus_remote_storage_samples_retried_total", "Total number of samples which failed on send to remote storage but were retried because the send error was recoverable.", l);
    this.samplesDropped = reg.counterVec("prometheus_remote_storage_samples_dropped_total", "Total number of samples which were dropped after being read from the WAL before being sent via remote write, either via relabelling, due to being too old or unintentionally because of an unknown reference ID.", l);
    this.samplesPending = reg.gaugeVec("prometheus_remote_storage_samples_pending", "The number of samples pending in the queues shards to be sent to the remote storage.", l);
    this.highestSent = reg.gaugeVec("prometheus_remote_storage_queue_highest_sent_timestamp_seconds", "Timestamp from a WAL sample, the highest timestamp successfully sent by this queue, in seconds since epoch.", l);
    this.shards = reg.gaugeVec("prometheus_remote_storage_shards", "The number of shards used for parallel sending to the remote storage.", l);
    this.shardsDesired = reg.gaugeVec("prometheus_remote_storage_shards_desired", "The number of shards that the queues shard calculation wants to run based on the rate of samples in vs. samples out.", l);
    this.shardsMin = reg.gaugeVec("prometheus_remote_storage_shards_min", "The minimum number of shards that the queue is allowed to run.", l);
    this.shardsMax = reg.gaugeVec("prometheus_remote_storage_shards_max", "The maximum number of shards that the queue is allowed to run.", l);
    this.shardCapacity = reg.gaugeVec("prometheus_remote_storage_shard_capacity", "The capacity of each shard of the queue used for parallel sending to the remote storage.", l);
    this.bytesTotal = reg.counterVec("prometheus_remote_storage_bytes_total", "The total number of bytes of data (not metadata) sent by the queue after compression.", l);
    this.batchDuration = reg.histogramVec("prometheus_remote_storage_sent_batch_duration_seconds", "Duration of send calls to the remote storage.", l,
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60, 120, 300]);
    this.metadataTotal = reg.counterVec("prometheus_remote_storage_metadata_total", "Total number of metadata entries sent to remote storage.", l);
    this.metadataFailed = reg.counterVec("prometheus_remote_storage_metadata_failed_total", "Total number of metadata entries which failed on send to remote storage, non-recoverable errors.", l);
    this.metadataRetried = reg.counterVec("prometheus_remote_storage_metadata_retried_total", "Total number of metadata entries which failed on send to remote storage but were retried because the send error was recoverable.", l);
    this.metadataBytes = reg.counterVec("prometheus_remote_storage_metadata_bytes_total", "The total number of bytes of metadata sent by the queue after compression.", l);
    this.samplesIn = reg.counter("prometheus_remote_storage_samples_in_total", "Samples in to remote storage, compare to samples out for queue managers.");
    this.highestIn = reg.gauge("prometheus_remote_storage_highest_timestamp_in_seconds", "Highest timestamp that has come into the remote storage via the Appender interface, in seconds since epoch.");
  }
}

export interface WriteQueueOptions {
  config: RemoteWriteConfig;
  /** The remote_name label: the config's name, or a hash of it. */
  name: string;
  walDir: string;
  /** Where the delivered WAL position is kept. */
  progressFile: string;
  externalLabels: Readonly<Record<string, string>>;
  metrics: RemoteWriteMetrics;
  logger?: Logger;
  /** How long stop() keeps sending what is pending (default 5s; the rest stays in the WAL). */
  flushDeadlineMs?: number;
  /** How often the WAL is read (default 100ms). */
  readIntervalMs?: number;
  /**
   * In a cluster, the writer election (src/remote/election.ts): while it
   * says another node writes, the queue reads on but does not send, and
   * drops the samples the writer has covered.
   */
  gate?: WriteGate;
  /** The scraped metrics' metadata, sent per metadata_config (Remote-Write 1.0 only). */
  metadata?: () => WriteMetadata[];
}

/** Persisted delivery progress. */
interface Progress {
  segment: number;
  offset: number;
  /** Highest sample timestamp delivered (for resending from a checkpoint). */
  highestSent: number;
}

/** Samples of one shard, in order, as columns; `rec` is the WAL record each sample came from. */
class ShardBuffer {
  refs = new Uint32Array(1024);
  t = new Float64Array(1024);
  v = new Float64Array(1024);
  private vWords = new Uint32Array(this.v.buffer);
  rec = new Float64Array(1024);
  n = 0;
  firstAt = 0;

  push(ref: number, t: number, vWords: Uint32Array, vi: number, rec: number, now: number): void {
    if (this.n === this.refs.length) this.grow();
    const i = this.n++;
    if (i === 0) this.firstAt = now;
    this.refs[i] = ref;
    this.t[i] = t;
    this.vWords[2 * i] = vWords[2 * vi]!;
    this.vWords[2 * i + 1] = vWords[2 * vi + 1]!;
    this.rec[i] = rec;
  }

  private grow(): void {
    const cap = this.refs.length * 2;
    const r = new Uint32Array(cap); r.set(this.refs); this.refs = r;
    const t = new Float64Array(cap); t.set(this.t); this.t = t;
    const v = new Float64Array(cap);
    const vWords = new Uint32Array(v.buffer);
    vWords.set(this.vWords);
    this.v = v;
    this.vWords = vWords;
    const c = new Float64Array(cap); c.set(this.rec); this.rec = c;
  }

  /** Removes the samples at or before `floor`; calls `gone` with each one's record. */
  dropUpTo(floor: number, gone: (rec: number) => void): number {
    let n = 0;
    for (let i = 0; i < this.n; i++) {
      if (this.t[i]! <= floor) {
        gone(this.rec[i]!);
        continue;
      }
      if (n !== i) {
        this.refs[n] = this.refs[i]!;
        this.t[n] = this.t[i]!;
        this.vWords[2 * n] = this.vWords[2 * i]!;
        this.vWords[2 * n + 1] = this.vWords[2 * i + 1]!;
        this.rec[n] = this.rec[i]!;
      }
      n++;
    }
    const removed = this.n - n;
    this.n = n;
    return removed;
  }

  /** The oldest timestamp buffered (Infinity when empty). */
  minT(): number {
    let m = Infinity;
    for (let i = 0; i < this.n; i++) if (this.t[i]! < m) m = this.t[i]!;
    return m;
  }

  /** Removes and returns the first `k` samples. */
  take(k: number, now: number): { refs: Uint32Array; t: Float64Array; v: Float64Array; rec: Float64Array; n: number } {
    const out = { refs: this.refs.slice(0, k), t: this.t.slice(0, k), v: this.v.slice(0, k), rec: this.rec.slice(0, k), n: k };
    this.refs.copyWithin(0, k, this.n);
    this.t.copyWithin(0, k, this.n);
    this.vWords.copyWithin(0, 2 * k, 2 * this.n);
    this.rec.copyWithin(0, k, this.n);
    this.n -= k;
    this.firstAt = now;
    return out;
  }
}

type Batch = ReturnType<ShardBuffer["take"]>;

/** Parses Retry-After (seconds or an HTTP date) into ms, or undefined. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Whether a response status is worth retrying. */
export function retryableStatus(status: number, retryOn429: boolean): boolean {
  return status >= 500 || (status === 429 && retryOn429);
}

const USER_AGENT = "Prometheus/2.42.0 (promts)";

export class WriteQueue {
  private readonly cfg: RemoteWriteConfig;
  private readonly logger: Logger;
  private readonly watcher: WALWatcher;
  private readonly labelValues: string[];
  private readonly relabelRules: readonly RelabelRule[];
  private readonly ext: Label[];
  private readonly seriesCache = new Map<number, Labels | null>();
  private shards: ShardBuffer[] = [];
  private inFlight: (Promise<void> | undefined)[] = [];
  private pending = 0;
  // Delivery tracking: WAL records in read order, with their samples not yet delivered.
  private recSeq = 0;
  private readonly recPending = new Map<number, number>();
  private readonly recPos = new Map<number, WALPosition>();
  private firstUndelivered = 0;
  private committed: Progress;
  private savedCommitted = "";
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopping = false;
  private stopped = false;
  private lastSave = 0;
  // Shard sizing: send time per sample (EWMA) and samples in per second.
  private secPerSample = 0;
  private inSinceCalc = 0;
  private lastCalc = Date.now();
  private desiredShards: number;
  private highestSent = 0;
  private abort = new AbortController();
  /** Oldest timestamp of each batch in flight (for the acknowledged watermark gossiped to a cluster). */
  private readonly inFlightMin = new Set<{ t: number }>();
  private readonly batchOldest = new WeakMap<Batch, { t: number }>();
  private metadataTimer: ReturnType<typeof setInterval> | undefined;
  private metadataSending = false;
  /** Set once start() loaded the WAL position: a queue stopped before then persists nothing. */
  private started = false;

  constructor(private readonly opts: WriteQueueOptions) {
    this.cfg = opts.config;
    this.logger = (opts.logger ?? nopLogger).with({ component: "remote", remote_name: opts.name, url: opts.config.url });
    this.watcher = new WALWatcher(opts.walDir, this.logger);
    this.labelValues = [opts.name, opts.config.url];
    this.relabelRules = opts.config.write_relabel_configs as unknown as readonly RelabelRule[];
    this.ext = Object.entries(opts.externalLabels).map(([name, value]) => ({ name, value }));
    this.desiredShards = Math.max(1, opts.config.queue_config.min_shards);
    this.committed = { segment: 0, offset: 0, highestSent: -Infinity };
  }

  /**
   * Loads series (in ~10 ms slices: a large WAL does not hold the event
   * loop) and the persisted position (or the WAL's end for a new queue),
   * then starts sending.
   */
  async start(): Promise<void> {
    const saved = this.loadProgress();
    await this.watcher.startAsync(saved ? { segment: saved.segment, offset: saved.offset } : undefined);
    if (this.stopped || this.stopping) return;
    this.started = true;
    this.committed = saved ?? { ...this.watcher.position(), highestSent: -Infinity };
    this.highestSent = Number.isFinite(this.committed.highestSent) ? this.committed.highestSent : 0;
    this.reshard(this.desiredShards);
    const m = this.opts.metrics;
    // Every series of the queue exists from the start, at 0, as in Prometheus.
    for (const vec of [m.samplesTotal, m.samplesFailed, m.samplesRetried, m.samplesDropped, m.bytesTotal]) vec.get(this.labelValues);
    m.highestSent.get(this.labelValues).set(this.highestSent / 1000);
    m.batchDuration.get(this.labelValues);
    m.shardsMin.get(this.labelValues).set(this.cfg.queue_config.min_shards);
    m.shardsMax.get(this.labelValues).set(this.cfg.queue_config.max_shards);
    m.shardCapacity.get(this.labelValues).set(this.cfg.queue_config.capacity);
    for (const vec of [m.metadataTotal, m.metadataFailed, m.metadataRetried, m.metadataBytes]) vec.get(this.labelValues);
    const md = this.cfg.metadata_config;
    if (this.opts.metadata && md.send && md.send_interval > 0 && this.cfg.protobuf_message !== "io.prometheus.write.v2.Request") {
      this.metadataTimer = setInterval(() => void this.sendMetadata(), md.send_interval);
      (this.metadataTimer as { unref?: () => void }).unref?.();
    }
    this.logger.info("Starting WAL watcher", { queue: this.opts.name, from: `${this.committed.segment}:${this.committed.offset}`, resumed: saved !== undefined });
    this.schedule(0);
  }

  private loadProgress(): Progress | undefined {
    if (!existsSync(this.opts.progressFile)) return undefined;
    try {
      const p = JSON.parse(readFileSync(this.opts.progressFile, "utf8")) as Progress;
      if (Number.isInteger(p.segment) && Number.isInteger(p.offset)) return { segment: p.segment, offset: p.offset, highestSent: p.highestSent ?? -Infinity };
    } catch (err) {
      this.logger.warn("Ignoring unreadable remote write progress file", { file: this.opts.progressFile, err });
    }
    return undefined;
  }

  private saveProgress(force = false): void {
    const text = JSON.stringify({ segment: this.committed.segment, offset: this.committed.offset, highestSent: Number.isFinite(this.highestSent) ? this.highestSent : null });
    if (text === this.savedCommitted) return;
    const now = Date.now();
    if (!force && now - this.lastSave < 1000) return;
    this.lastSave = now;
    try {
      mkdirSync(dirname(this.opts.progressFile), { recursive: true });
      const tmp = `${this.opts.progressFile}.tmp`;
      writeFileSync(tmp, text);
      renameSync(tmp, this.opts.progressFile);
      this.savedCommitted = text;
    } catch (err) {
      this.logger.error("Unable to persist remote write progress", { file: this.opts.progressFile, err });
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.tick(), ms);
    (this.timer as { unref?: () => void }).unref?.();
  }

  private tick(): void {
    try {
      if (this.opts.gate && !this.opts.gate.canSend()) this.dropCovered(this.opts.gate.floor());
      if (!this.stopping) this.readWAL();
      this.dispatch(this.stopping || (this.opts.gate?.flushing() ?? false));
      this.maybeReshard();
      this.saveProgress();
    } catch (err) {
      this.logger.error("Remote write queue step failed", { err });
    }
    this.schedule(this.opts.readIntervalMs ?? 100);
  }

  /** The labels a series is sent with, or null when relabeling drops it; computed once per series. */
  private labelsFor(ref: number): Labels | null | undefined {
    let ls = this.seriesCache.get(ref);
    if (ls !== undefined) return ls;
    const raw = this.watcher.series.get(ref);
    if (!raw) return undefined;
    let out: Label[] = [...raw];
    if (this.ext.length > 0) {
      const have = new Set(out.map((l) => l.name));
      for (const e of this.ext) if (!have.has(e.name)) out.push(e);
      out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    }
    ls = this.relabelRules.length > 0 ? relabel(out, this.relabelRules) : out;
    this.seriesCache.set(ref, ls);
    return ls;
  }

  private readWAL(): void {
    const room = this.cfg.queue_config.capacity * this.shards.length - this.pending;
    if (room <= 0) return;
    const m = this.opts.metrics;
    const ageLimit = this.cfg.queue_config.sample_age_limit;
    const now = Date.now();
    this.watcher.read(room, (rec: SamplesRecord, after: WALPosition) => this.enqueue(rec, after, ageLimit, now, m), this.committed.highestSent);
  }

  /** Standby in a cluster: forgets the buffered samples the elected writer covered (up to `floor`). */
  private dropCovered(floor: number): void {
    if (!Number.isFinite(floor)) return;
    let removed = 0;
    const gone = (rec: number) => this.recPending.set(rec, (this.recPending.get(rec) ?? 1) - 1);
    for (const shard of this.shards) removed += shard.dropUpTo(floor, gone);
    if (removed === 0) return;
    this.pending -= removed;
    this.opts.metrics.samplesPending.get(this.labelValues).set(this.pending);
    this.advanceCommitted();
  }

  private enqueue(rec: SamplesRecord, after: WALPosition, ageLimit: number, now: number, m: RemoteWriteMetrics): void {
    const floor = this.opts.gate ? this.opts.gate.floor() : -Infinity;
    const seq = this.recSeq++;
    this.recPos.set(seq, after);
    let kept = 0;
    let dropped = 0;
    let highest = m.highestIn.value * 1000;
    const vWords = new Uint32Array(rec.v.buffer, rec.v.byteOffset, rec.v.length * 2);
    for (let i = 0; i < rec.length; i++) {
      const ref = rec.refs[i]!;
      const t = rec.t[i]!;
      if (t > highest) highest = t;
      const ls = this.labelsFor(ref);
      if (!ls || (ageLimit > 0 && t < now - ageLimit)) {
        dropped++;
        continue;
      }
      if (t <= floor) continue; // the cluster's elected writer sent it
      this.shards[ref % this.shards.length]!.push(ref, t, vWords, i, seq, now);
      kept++;
    }
    m.samplesIn.inc(rec.length);
    m.highestIn.set(highest / 1000);
    this.inSinceCalc += rec.length;
    if (dropped > 0) m.samplesDropped.get(this.labelValues).inc(dropped);
    this.pending += kept;
    m.samplesPending.get(this.labelValues).set(this.pending);
    this.recPending.set(seq, kept);
    this.advanceCommitted();
  }

  /** Moves the committed position past every record whose samples were all delivered. */
  private advanceCommitted(): void {
    while (this.firstUndelivered < this.recSeq && (this.recPending.get(this.firstUndelivered) ?? 0) === 0) {
      const pos = this.recPos.get(this.firstUndelivered)!;
      if (comparePositions(pos, this.committed) > 0) this.committed = { segment: pos.segment, offset: pos.offset, highestSent: this.committed.highestSent };
      this.recPending.delete(this.firstUndelivered);
      this.recPos.delete(this.firstUndelivered);
      this.firstUndelivered++;
    }
    this.committed.highestSent = this.highestSent;
  }

  private dispatch(flushAll: boolean): void {
    const max = this.cfg.queue_config.max_samples_per_send;
    const deadline = this.cfg.queue_config.batch_send_deadline;
    const now = Date.now();
    const gate = this.opts.gate;
    if (gate && !gate.canSend()) return;
    this.shards.forEach((shard, i) => {
      if (this.inFlight[i] || shard.n === 0) return;
      if (shard.n < max && now - shard.firstAt < deadline && !flushAll) return;
      const batch = shard.take(Math.min(max, shard.n), now);
      let oldest: { t: number } | undefined;
      let wait = 0;
      if (gate) {
        let lo = Infinity, hi = -Infinity;
        for (let k = 0; k < batch.n; k++) {
          const t = batch.t[k]!;
          if (t < lo) lo = t;
          if (t > hi) hi = t;
        }
        oldest = { t: lo };
        this.inFlightMin.add(oldest);
        this.batchOldest.set(batch, oldest);
        wait = gate.claim(hi);
      }
      this.inFlight[i] = this.sendWithRetries(batch, wait).finally(() => {
        if (oldest) this.inFlightMin.delete(oldest);
        this.inFlight[i] = undefined;
        // Keep a full shard moving without waiting for the next tick.
        if (!this.stopped && shard.n >= max) this.dispatch(false);
      });
    });
  }

  private encode(batch: Batch): Uint8Array<ArrayBuffer> {
    const bySeries = new Map<number, { t: number[]; idx: number[] }>();
    for (let i = 0; i < batch.n; i++) {
      const ref = batch.refs[i]!;
      let e = bySeries.get(ref);
      if (!e) bySeries.set(ref, (e = { t: [], idx: [] }));
      e.t.push(batch.t[i]!);
      e.idx.push(i);
    }
    const series: EncodeSeries[] = [];
    for (const [ref, e] of bySeries) {
      const v = new Float64Array(e.idx.length);
      const vw = new Uint32Array(v.buffer);
      const bw = new Uint32Array(batch.v.buffer);
      e.idx.forEach((i, k) => {
        vw[2 * k] = bw[2 * i]!;
        vw[2 * k + 1] = bw[2 * i + 1]!;
      });
      series.push({ labels: this.seriesCache.get(ref) ?? [], t: e.t, v });
    }
    const raw = this.cfg.protobuf_message === "io.prometheus.write.v2.Request" ? encodeWriteV2(series) : encodeWriteV1(series);
    return snappyEncode(raw);
  }

  /** One POST of a snappy-compressed write request; status 0 means the request itself failed (network, timeout). */
  private async post(body: Uint8Array<ArrayBuffer>, v2: boolean): Promise<{ status: number; retryAfter?: number; errText: string }> {
    let status = 0;
    let retryAfter: number | undefined;
    let errText = "";
    try {
      const headers: Record<string, string> = {
        ...(this.cfg.headers ?? {}),
        "Content-Encoding": "snappy",
        "Content-Type": v2 ? "application/x-protobuf;proto=io.prometheus.write.v2.Request" : "application/x-protobuf",
        "User-Agent": USER_AGENT,
        "X-Prometheus-Remote-Write-Version": v2 ? "2.0.0" : "0.1.0",
      };
      const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.cfg.remote_timeout)]);
      const res = await fetch(this.cfg.url, await authorizedRequestInit(this.cfg, { method: "POST", body, headers, signal }, body, this.cfg.url));
      status = res.status;
      retryAfter = retryAfterMs(res.headers.get("Retry-After"));
      errText = status >= 300 ? (await res.text()).slice(0, 512) : "";
      if (status < 300) await res.arrayBuffer().catch(() => undefined);
    } catch (err) {
      errText = (err as Error).message;
    }
    return { status, retryAfter, errText };
  }

  /** Waits `ms` or until the queue is aborted; true when aborted. */
  private async backoffWait(ms: number): Promise<boolean> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.abort.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
    return this.abort.signal.aborted;
  }

  /** Sends a batch, after `waitMs` (a cluster claim going out first), retrying as configured. */
  private async sendWithRetries(batch: Batch, waitMs = 0): Promise<void> {
    const m = this.opts.metrics;
    const claimedAt = performance.now();
    if (waitMs > 0) await Bun.sleep(waitMs);
    const body = this.encode(batch);
    const v2 = this.cfg.protobuf_message === "io.prometheus.write.v2.Request";
    let backoff = this.cfg.queue_config.min_backoff;
    for (let attempt = 0; ; attempt++) {
      const started = performance.now();
      const { status, retryAfter, errText } = await this.post(body, v2);
      const seconds = (performance.now() - started) / 1000;
      m.batchDuration.get(this.labelValues).observe(seconds);
      if (status >= 200 && status < 300) {
        m.samplesTotal.get(this.labelValues).inc(batch.n);
        m.bytesTotal.get(this.labelValues).inc(body.length);
        // Shard sizing counts the claim's wait too: it holds the shard as the send does.
        const held = attempt === 0 ? (performance.now() - claimedAt) / 1000 : seconds;
        this.secPerSample = this.secPerSample === 0 ? held / batch.n : 0.8 * this.secPerSample + 0.2 * (held / batch.n);
        this.delivered(batch);
        return;
      }
      if (status !== 0 && !retryableStatus(status, this.cfg.queue_config.retry_on_http_429)) {
        this.logger.error("non-recoverable error", { count: batch.n, status, err: errText });
        m.samplesFailed.get(this.labelValues).inc(batch.n);
        this.delivered(batch);
        return;
      }
      if (this.stopped || (this.stopping && this.abort.signal.aborted)) return; // left in the WAL for the next start
      m.samplesRetried.get(this.labelValues).inc(batch.n);
      if (attempt === 0 || attempt % 10 === 0) this.logger.warn("Failed to send batch, retrying", { status, err: errText });
      const jitter = backoff * (0.5 + Math.random() * 0.5);
      if (await this.backoffWait(Math.max(retryAfter ?? 0, jitter))) return;
      backoff = Math.min(backoff * 2, this.cfg.queue_config.max_backoff);
    }
  }

  /**
   * Sends the scraped metrics' metadata (metadata_config), as Prometheus
   * 2.42 does for Remote-Write 1.0: every send_interval, in WriteRequests
   * holding only metadata, at most metadata_config.max_samples_per_send
   * each, retried like samples. 2.0 carries metadata with each series.
   */
  private async sendMetadata(): Promise<void> {
    const source = this.opts.metadata;
    if (!source || this.metadataSending) return;
    this.metadataSending = true;
    const m = this.opts.metrics;
    try {
      const all = source();
      const per = Math.max(1, this.cfg.metadata_config.max_samples_per_send);
      for (let i = 0; i < all.length && !this.stopping; i += per) {
        const chunk = all.slice(i, i + per);
        const body = snappyEncode(encodeWriteV1([], chunk));
        let backoff = this.cfg.queue_config.min_backoff;
        for (;;) {
          const { status, retryAfter, errText } = await this.post(body, false);
          if (status >= 200 && status < 300) {
            m.metadataTotal.get(this.labelValues).inc(chunk.length);
            m.metadataBytes.get(this.labelValues).inc(body.length);
            break;
          }
          if ((status !== 0 && !retryableStatus(status, this.cfg.queue_config.retry_on_http_429)) || this.stopping) {
            this.logger.error("non-recoverable error while sending metadata", { count: chunk.length, status, err: errText });
            m.metadataFailed.get(this.labelValues).inc(chunk.length);
            break;
          }
          m.metadataRetried.get(this.labelValues).inc(chunk.length);
          if (await this.backoffWait(Math.max(retryAfter ?? 0, backoff * (0.5 + Math.random() * 0.5)))) return;
          backoff = Math.min(backoff * 2, this.cfg.queue_config.max_backoff);
        }
      }
    } catch (err) {
      this.logger.error("Sending metadata failed", { err });
    } finally {
      this.metadataSending = false;
    }
  }

  private delivered(batch: Batch): void {
    for (let i = 0; i < batch.n; i++) {
      const seq = batch.rec[i]!;
      this.recPending.set(seq, (this.recPending.get(seq) ?? 1) - 1);
      if (batch.t[i]! > this.highestSent) this.highestSent = batch.t[i]!;
    }
    this.pending -= batch.n;
    const m = this.opts.metrics;
    m.samplesPending.get(this.labelValues).set(this.pending);
    m.highestSent.get(this.labelValues).set(this.highestSent / 1000);
    this.advanceCommitted();
    const oldest = this.batchOldest.get(batch);
    if (oldest) this.inFlightMin.delete(oldest);
    if (this.opts.gate) this.opts.gate.acked(this.ackedWatermark());
  }

  /** The newest timestamp up to which every sample read has been delivered. */
  private ackedWatermark(): number {
    let oldest = Infinity;
    for (const s of this.shards) oldest = Math.min(oldest, s.minT());
    for (const f of this.inFlightMin) oldest = Math.min(oldest, f.t);
    return oldest === Infinity ? this.highestSent : Math.min(this.highestSent, oldest - 1);
  }

  /** Every 10s: shards = samples in per second x send seconds per sample, with 30% headroom, clamped. */
  private maybeReshard(): void {
    const now = Date.now();
    if (now - this.lastCalc < 10_000) return;
    const rate = this.inSinceCalc / ((now - this.lastCalc) / 1000);
    this.inSinceCalc = 0;
    this.lastCalc = now;
    const q = this.cfg.queue_config;
    const backlog = this.pending * this.secPerSample / 10; // catch up within ~10s
    const want = Math.ceil((rate * this.secPerSample + backlog) * 1.3);
    this.desiredShards = Math.min(q.max_shards, Math.max(q.min_shards, want, 1));
    this.opts.metrics.shardsDesired.get(this.labelValues).set(this.desiredShards);
    const cur = this.shards.length;
    if (this.desiredShards !== cur && Math.abs(this.desiredShards - cur) / cur > 0.3 && this.inFlight.every((p) => !p)) {
      this.logger.info("Remote storage resharding", { from: cur, to: this.desiredShards });
      this.reshard(this.desiredShards);
    }
  }

  /** Redistributes pending samples over `n` shards by series (order within a series is kept). */
  private reshard(n: number): void {
    const old = this.shards;
    this.shards = Array.from({ length: n }, () => new ShardBuffer());
    this.inFlight = new Array(n).fill(undefined);
    const now = Date.now();
    for (const s of old) {
      const words = new Uint32Array(s.v.buffer);
      for (let i = 0; i < s.n; i++) this.shards[s.refs[i]! % n]!.push(s.refs[i]!, s.t[i]!, words, i, s.rec[i]!, now);
    }
    this.opts.metrics.shards.get(this.labelValues).set(n);
  }

  /** The highest sample timestamp (ms) delivered so far (0 before the first delivery). */
  highestSentTimestamp(): number {
    return this.highestSent;
  }

  /** Samples read from the WAL and not yet delivered. */
  pendingSamples(): number {
    return this.pending;
  }

  /**
   * Stops reading, sends what is pending for up to the flush deadline, then
   * persists the delivered position; undelivered samples stay in the WAL.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopping = true;
    clearTimeout(this.timer);
    clearInterval(this.metadataTimer);
    const deadline = Date.now() + (this.opts.flushDeadlineMs ?? 5000);
    while (Date.now() < deadline && (this.pending > 0 || this.inFlight.some((p) => p))) {
      this.dispatch(true);
      const flights = this.inFlight.filter((p): p is Promise<void> => p !== undefined);
      if (flights.length === 0) break;
      await Promise.race([Promise.all(flights), Bun.sleep(Math.max(0, deadline - Date.now()))]);
    }
    this.abort.abort();
    this.stopped = true;
    await Promise.all(this.inFlight.filter((p): p is Promise<void> => p !== undefined));
    if (this.started) this.saveProgress(true);
    for (const vec of [this.opts.metrics.samplesPending, this.opts.metrics.shards]) vec.get(this.labelValues).set(0);
  }
}
