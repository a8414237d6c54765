/**
 * The agent's storage (Prometheus's `tsdb/agent`): a write-ahead log and
 * nothing else. Appends log series and samples to `<dir>/wal` in the
 * server's WAL format (so the remote_write queues tail it as they tail the
 * server's); memory holds only each series' labels, ref and newest sample
 * time. There are no blocks and no queries: a querier's reads reject with
 * "unsupported operation with WAL-only storage", as Prometheus's agent.
 *
 * Truncation (every `truncateFrequencyMs`, default 2h) checkpoints the WAL
 * up to a time the caller computes from what the remote_write queues have
 * sent (see {@link agentTruncationTime}): series not appended to since are
 * dropped, older samples leave the WAL.
 *
 * @example
 * const agent = await openAgentDB({ dir: "data-agent" });
 * const app = agent.appender();
 * const ref = app.ref(labelsFromRecord({ __name__: "up", job: "a" }));
 * app.appendBatch(Uint32Array.of(ref), Float64Array.of(Date.now()), Float64Array.of(1), 1);
 * await agent.close();
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { nopLogger, type Logger } from "../log/index.ts";
import { labelsKey, Registry, type Labels, type Matcher } from "../model/index.ts";
import { WorkSlicer } from "./event_loop.ts";
import type { DB } from "./db.ts";
import type { Head, TSDBStats } from "./head/index.ts";
import type { BlockMeta } from "./block/index.ts";
import { AppendStatus, type AppendResult, type Appender, type Querier } from "./types.ts";
import {
  RecordType, WAL, decodeSamples, decodeSeries, encodeSamples, encodeSeries, lastCheckpoint, listSegments, readSegmentBytes,
  registerWALMetrics, segmentRecords, writeCheckpoint, type SeriesRecord,
} from "./wal/index.ts";

/** What reads of the agent's storage reject with, in Prometheus's words. */
export const AGENT_UNSUPPORTED = "unsupported operation with WAL-only storage";

export interface AgentDBOptions {
  dir: string;
  logger?: Logger;
  registry?: Registry;
  walSegmentSize?: number;
  /** How often the WAL is truncated (default 2h); 0 = never on its own (call truncate()). */
  truncateFrequencyMs?: number;
  /** The time to truncate before, computed when truncation runs (default: now − 4h). */
  truncateBefore?: () => number;
}

/** Prometheus's agent defaults: keep at least 5m and at most 4h of samples in the WAL. */
export const AGENT_MIN_WAL_TIME = 5 * 60_000;
export const AGENT_MAX_WAL_TIME = 4 * 3600_000;

/**
 * The agent's truncation time, as Prometheus's: the lowest timestamp every
 * remote_write queue has sent minus `minWALTime`, but no older than
 * now − `maxWALTime` (so a long outage does not grow the WAL for ever).
 */
export function agentTruncationTime(lowestSent: number, now: number, minWALTime = AGENT_MIN_WAL_TIME, maxWALTime = AGENT_MAX_WAL_TIME): number {
  let ts = lowestSent - minWALTime;
  if (ts < 0) ts = 0;
  const floor = now - maxWALTime;
  return ts < floor ? floor : ts;
}

function unsupported(): Promise<never> {
  return Promise.reject(new Error(AGENT_UNSUPPORTED));
}

/** A querier whose reads reject: the agent keeps no samples to read. */
const unsupportedQuerier: Querier = {
  select: unsupported,
  labelNames: unsupported,
  labelValues: unsupported,
  close: () => {},
};

class AgentStorage implements DB {
  private wal!: WAL;
  private readonly byKey = new Map<string, number>();
  private readonly labelsOf = new Map<number, Labels>();
  private readonly lastTs = new Map<number, number>();
  private pending: SeriesRecord[] = [];
  private nextRef = 1;
  private closed = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private truncation: Promise<void> = Promise.resolve();
  private readonly logger: Logger;

  constructor(readonly dir: string, private readonly opts: AgentDBOptions, registry: Registry) {
    this.logger = opts.logger ?? nopLogger;
    registry.gaugeFunc("prometheus_agent_active_series", "Number of active series being tracked by the WAL storage", () => this.labelsOf.size);
  }

  async open(registry: Registry): Promise<void> {
    const walDir = join(this.dir, "wal");
    let series = 0, samples = 0;
    const start = performance.now();
    this.wal = await WAL.open({
      dir: walDir,
      logger: this.logger,
      metrics: registerWALMetrics(registry),
      segmentSize: this.opts.walSegmentSize,
      onRecord: (rec) => {
        try {
          if (rec[0] === RecordType.Series) {
            for (const s of decodeSeries(rec)) {
              series++;
              const key = labelsKey(s.labels);
              const had = this.byKey.get(key);
              if (had !== undefined && had !== s.ref) this.forget(had);
              this.byKey.set(key, s.ref);
              this.labelsOf.set(s.ref, s.labels);
              if (!this.lastTs.has(s.ref)) this.lastTs.set(s.ref, -Infinity);
              if (s.ref >= this.nextRef) this.nextRef = s.ref + 1;
            }
          } else if (rec[0] === RecordType.Samples) {
            const s = decodeSamples(rec);
            for (let i = 0; i < s.length; i++) {
              const last = this.lastTs.get(s.refs[i]!);
              if (last !== undefined && s.t[i]! > last) this.lastTs.set(s.refs[i]!, s.t[i]!);
            }
            samples += s.length;
          }
        } catch (err) {
          this.logger.warn("Skipping undecodable WAL record", { err: (err as Error).message, type: rec[0] });
        }
      },
    });
    if (this.nextRef > 0xffffffff) this.nextRef = 1;
    this.logger.info("WAL replay completed", { series, samples, duration: `${((performance.now() - start) / 1000).toFixed(3)}s` });
  }

  private forget(ref: number): void {
    this.labelsOf.delete(ref);
    this.lastTs.delete(ref);
  }

  startLoop(): void {
    const every = this.opts.truncateFrequencyMs ?? 2 * 3600_000;
    if (every <= 0) return;
    this.timer = setInterval(() => {
      const before = this.opts.truncateBefore?.() ?? Date.now() - AGENT_MAX_WAL_TIME;
      this.truncate(before).catch((err) => this.logger.error("WAL truncation failed", { err }));
    }, every);
    (this.timer as { unref?: () => void }).unref?.();
  }

  appender(): Appender {
    return {
      ref: (labels) => this.ref(labels),
      appendBatch: (refs, t, v, n, status) => this.appendBatch(refs, t, v, n, status),
    };
  }

  private ref(labels: Labels): number {
    if (this.closed) throw new Error("agent storage is closed");
    const key = labelsKey(labels);
    const have = this.byKey.get(key);
    if (have !== undefined) return have;
    let ref = this.nextRef;
    while (this.labelsOf.has(ref)) ref = ref >= 0xffffffff ? 1 : ref + 1;
    this.nextRef = ref >= 0xffffffff ? 1 : ref + 1;
    const sorted = [...labels].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.byKey.set(key, ref);
    this.labelsOf.set(ref, sorted);
    this.lastTs.set(ref, -Infinity);
    this.pending.push({ ref, labels: sorted });
    return ref;
  }

  private appendBatch(refs: Uint32Array, t: Float64Array, v: Float64Array, n: number, status?: Uint8Array): AppendResult {
    if (this.closed) throw new Error("agent storage is closed");
    const res: AppendResult = { appended: 0, outOfOrder: 0, duplicate: 0, outOfBounds: 0, unknownRef: 0 };
    const idx = new Uint32Array(n);
    let k = 0;
    for (let i = 0; i < n; i++) {
      const last = this.lastTs.get(refs[i]!);
      if (last === undefined) {
        res.unknownRef++;
        if (status) status[i] = AppendStatus.UnknownRef;
        continue;
      }
      if (status) status[i] = AppendStatus.Ok;
      if (t[i]! > last) this.lastTs.set(refs[i]!, t[i]!);
      idx[k++] = i;
    }
    const recs: Uint8Array[] = [];
    if (this.pending.length > 0) recs.push(encodeSeries(this.pending).slice());
    if (k > 0) recs.push(encodeSamples(refs, t, v, k, idx).slice());
    if (recs.length > 0) this.wal.log(recs);
    this.pending = [];
    res.appended = k;
    return res;
  }

  /**
   * Drops series without samples since `mint` and checkpoints the WAL:
   * the checkpoint keeps live series and samples at or after `mint`; the
   * segments it covers are deleted.
   */
  truncate(mint: number): Promise<void> {
    const run = this.truncation.then(() => this.truncateNow(mint));
    this.truncation = run.catch(() => {});
    return run;
  }

  private async truncateNow(mint: number): Promise<void> {
    if (this.closed) return;
    for (const [ref, last] of this.lastTs) {
      if (last < mint) {
        const ls = this.labelsOf.get(ref);
        if (ls) this.byKey.delete(labelsKey(ls));
        this.forget(ref);
      }
    }
    if (this.pending.length > 0) {
      this.wal.log([encodeSeries(this.pending).slice()]);
      this.pending = [];
    }
    const walDir = join(this.dir, "wal");
    const last = this.wal.nextSegment();
    const prev = lastCheckpoint(walDir);
    const segs = listSegments(walDir).filter((s) => s <= last && (!prev || s > prev.index));
    const slicer = new WorkSlicer();
    await writeCheckpoint(walDir, last, async (log) => {
      const batch: Uint8Array[] = [];
      const keep = (rec: Uint8Array) => {
        if (rec[0] === RecordType.Series) {
          const live = decodeSeries(rec).filter((s) => this.labelsOf.has(s.ref));
          if (live.length > 0) batch.push(encodeSeries(live).slice());
        } else if (rec[0] === RecordType.Samples) {
          const s = decodeSamples(rec);
          const idx = new Uint32Array(s.length);
          let k = 0;
          for (let i = 0; i < s.length; i++) if (s.t[i]! >= mint && this.labelsOf.has(s.refs[i]!)) idx[k++] = i;
          if (k > 0) batch.push(encodeSamples(s.refs, s.t, s.v, k, idx).slice());
        }
        if (batch.length >= 256) log(batch.splice(0));
      };
      const fold = async (dir: string, segment: number) => {
        for (const rec of segmentRecords(await readSegmentBytes(dir, segment), dir, segment)) {
          keep(rec);
          if (slicer.due()) await slicer.yield();
        }
      };
      if (prev) for (const s of listSegments(prev.dir)) await fold(prev.dir, s);
      for (const s of segs) await fold(walDir, s);
      if (batch.length > 0) log(batch);
    });
    this.wal.truncate(last + 1);
    this.logger.info("WAL checkpoint complete", { first: segs[0] ?? last, last, mint });
  }

  querier(): Querier {
    return unsupportedQuerier;
  }

  head(): Head {
    throw new Error(AGENT_UNSUPPORTED);
  }

  blocks(): BlockMeta[] {
    return [];
  }

  async compact(): Promise<void> {}

  stats(): TSDBStats {
    throw new Error(AGENT_UNSUPPORTED);
  }

  delete(_mint: number, _maxt: number, _matchers: readonly Matcher[]): Promise<void> {
    return unsupported();
  }

  cleanTombstones(): Promise<void> {
    return unsupported();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    await this.truncation;
    if (this.pending.length > 0) this.wal.log([encodeSeries(this.pending).slice()]);
    this.closed = true;
    await this.wal.close();
  }
}

/** Opens (creating if needed) the agent's WAL in `<opts.dir>/wal`, replaying it, and starts the truncation loop. */
export async function openAgentDB(opts: AgentDBOptions): Promise<DB & { truncate(mint: number): Promise<void> }> {
  mkdirSync(opts.dir, { recursive: true });
  const registry = opts.registry ?? new Registry();
  const db = new AgentStorage(opts.dir, opts, registry);
  await db.open(registry);
  db.startLoop();
  return db;
}
