/**
 * Gap-free queries on an HA pair (prometheus#18073): a Queryable that, for
 * the intervals when this node was down, reads the same series from a live
 * cluster peer by remote read (its `/api/v1/read`) and hands the fan-out
 * queryable only the samples local storage lacks. Queries that do not touch
 * a remembered gap never reach the peer.
 *
 * Merging without duplicates: the two nodes scrape the same targets at
 * their own phase, so their timestamps differ. Inside a gap window, a
 * peer's sample is kept only when no local sample of the same series lies
 * within 3/4 of that series' scrape step (the median spacing of the peer's
 * samples); local samples always win. So the restarted node's series
 * reads as one sample per scrape interval across the gap, with at most
 * 1.75 steps between neighbours at the gap's edges.
 *
 * @example
 * const fill = new GapFillQueryable({ local: db, gaps: () => store.gaps(), peers: () => [{ name: "b", url: "http://b:9090" }], externalLabels: () => ({}) });
 * const all = fanoutQueryable(db, [fill]);
 */
import type { RemoteReadConfig } from "../config/index.ts";
import { compareLabels, labelsKey, type Labels, type Matcher, type Registry } from "../model/index.ts";
import { encodeChunks, type ChunkMeta, type Querier, type Queryable, type SampleBatch, type SelectHints, type StoredSeries } from "../tsdb/index.ts";
import { RemoteReadQueryable } from "./read_client.ts";

/** A closed interval [start, end] in ms when this node stored nothing. */
export interface Gap {
  start: number;
  end: number;
}

/** A live peer to fill from: its name and its web base URL (no trailing slash). */
export interface GapPeer {
  name: string;
  url: string;
}

export interface GapFillOptions {
  /** Local storage, read to decide which peer samples are missing locally. */
  local: Queryable;
  /** The remembered gaps. */
  gaps: () => readonly Gap[];
  /** Live peers in preference order (tried in turn until one answers). */
  peers: () => readonly GapPeer[];
  /** This node's external labels; the peer's series carry the same ones, which are filtered out as remote_read does. */
  externalLabels: () => Readonly<Record<string, string>>;
  /** Per-request timeout (default 30s). */
  timeoutMs?: number;
  registry?: Registry;
}

/** Metrics of the gap filler. */
class GapFillMetrics {
  readonly reads;
  readonly samples;

  constructor(reg: Registry) {
    this.reads = reg.counterVec("promts_ha_gap_fill_reads_total", "Remote reads sent to a cluster peer to fill a query over an interval when this node was down, by result.", ["result"]);
    this.samples = reg.counter("promts_ha_gap_fill_samples_total", "Samples taken from a cluster peer to fill intervals when this node was down.");
    for (const r of ["success", "error", "no_peer"]) this.reads.get([r]);
  }
}

class FilledSeries implements StoredSeries {
  constructor(readonly labels: Labels, private readonly batch: SampleBatch) {}
  chunks(): ChunkMeta[] {
    return encodeChunks(this.batch);
  }
  samples(): SampleBatch {
    return this.batch;
  }
}

const emptyQuerier: Querier = {
  select: async () => [],
  labelNames: async () => [],
  labelValues: async () => [],
  close: () => {},
};

/** The gaps overlapping [mint, maxt], clipped to it, sorted, overlapping ones joined. */
export function gapsWithin(gaps: readonly Gap[], mint: number, maxt: number): Gap[] {
  const clipped: Gap[] = [];
  for (const g of gaps) {
    if (g.end < mint || g.start > maxt) continue;
    clipped.push({ start: Math.max(g.start, mint), end: Math.min(g.end, maxt) });
  }
  clipped.sort((a, b) => a.start - b.start);
  const out: Gap[] = [];
  for (const g of clipped) {
    const last = out[out.length - 1];
    if (last && g.start <= last.end) last.end = Math.max(last.end, g.end);
    else out.push(g);
  }
  return out;
}

/** The median spacing of a batch's samples (0 with fewer than two). */
export function medianStep(b: SampleBatch): number {
  if (b.length < 2) return 0;
  const d = new Float64Array(b.length - 1);
  for (let i = 1; i < b.length; i++) d[i - 1] = b.t[i]! - b.t[i - 1]!;
  d.sort();
  return d[d.length >> 1]!;
}

/**
 * The samples of `remote` inside one of `windows` with no `local` sample
 * within 3/4 of `step` (an exact timestamp match counts as present).
 */
export function missingSamples(remote: SampleBatch, local: SampleBatch | undefined, windows: readonly Gap[], step: number): SampleBatch {
  const keepT: number[] = [];
  const keepI: number[] = [];
  const near = step * 0.75;
  let j = 0; // first local sample with t >= current remote t - near
  let w = 0;
  for (let i = 0; i < remote.length; i++) {
    const t = remote.t[i]!;
    while (w < windows.length && windows[w]!.end < t) w++;
    if (w >= windows.length) break;
    if (t < windows[w]!.start) continue;
    if (local) {
      while (j < local.length && local.t[j]! < t - near) j++;
      if (j < local.length && (local.t[j] === t || (near > 0 && local.t[j]! <= t + near && local.t[j]! >= t - near))) continue;
    }
    keepT.push(t);
    keepI.push(i);
  }
  const t = Float64Array.from(keepT);
  const v = new Float64Array(keepI.length);
  const to = new Uint32Array(v.buffer), from = new Uint32Array(remote.v.buffer, remote.v.byteOffset, remote.v.length * 2);
  keepI.forEach((i, k) => {
    // Copied as words so NaN payloads (staleness markers) survive.
    to[2 * k] = from[2 * i]!;
    to[2 * k + 1] = from[2 * i + 1]!;
  });
  return { t, v, length: keepI.length };
}

/** Joins batches that follow one another in time. */
function concatBatches(parts: readonly SampleBatch[]): SampleBatch {
  const n = parts.reduce((k, p) => k + p.length, 0);
  const t = new Float64Array(n), v = new Float64Array(n);
  let at = 0;
  for (const p of parts) {
    t.set(p.t.subarray(0, p.length), at);
    v.set(p.v.subarray(0, p.length), at); // a typed-array copy keeps NaN payloads
    at += p.length;
  }
  return { t, v, length: n };
}

/** See the module comment. */
export class GapFillQueryable implements Queryable {
  private readonly metrics: GapFillMetrics | undefined;

  constructor(private readonly opts: GapFillOptions) {
    this.metrics = opts.registry ? new GapFillMetrics(opts.registry) : undefined;
  }

  querier(mint: number, maxt: number): Querier {
    const windows = gapsWithin(this.opts.gaps(), mint, maxt);
    if (windows.length === 0) return emptyQuerier;
    let closed = false;
    return {
      select: async (matchers, _mint, _maxt, hints) => {
        if (closed) throw new Error("querier already closed");
        return this.select(matchers, windows, hints);
      },
      labelNames: async () => [],
      labelValues: async () => [],
      close: () => {
        closed = true;
      },
    };
  }

  private peerReader(peer: GapPeer): RemoteReadQueryable {
    const config = {
      url: `${peer.url}/api/v1/read`,
      remote_timeout: this.opts.timeoutMs ?? 30_000,
      read_recent: true,
      filter_external_labels: true,
      tls_config: { insecure_skip_verify: false },
      follow_redirects: true,
      enable_http2: true,
    } satisfies RemoteReadConfig;
    return new RemoteReadQueryable({ config, name: `ha-peer-${peer.name}`, externalLabels: this.opts.externalLabels(), localStartTime: () => Infinity });
  }

  /** Each window is read on its own (gaps can be days apart), then each series' pieces are joined in time order. */
  private async select(matchers: readonly Matcher[], windows: readonly Gap[], hints?: SelectHints): Promise<StoredSeries[]> {
    const bySeries = new Map<string, { labels: Labels; parts: SampleBatch[] }>();
    for (const w of windows) {
      for (const s of await this.selectWindow(matchers, w, hints)) {
        const key = labelsKey(s.labels);
        let e = bySeries.get(key);
        if (!e) bySeries.set(key, (e = { labels: s.labels, parts: [] }));
        e.parts.push(s.samples());
      }
    }
    const out: StoredSeries[] = [];
    for (const { labels, parts } of bySeries.values()) out.push(new FilledSeries(labels, parts.length === 1 ? parts[0]! : concatBatches(parts)));
    return out.sort((a, b) => compareLabels(a.labels, b.labels));
  }

  private async selectWindow(matchers: readonly Matcher[], window: Gap, hints?: SelectHints): Promise<StoredSeries[]> {
    const from = window.start;
    const to = window.end;
    const windows = [window];
    const peers = this.opts.peers();
    if (peers.length === 0) {
      this.metrics?.reads.get(["no_peer"]).inc();
      throw new Error("ha gap fill: no live cluster peer to read the interval this node was down from");
    }
    let remote: StoredSeries[] | undefined;
    const errors: string[] = [];
    for (const peer of peers) {
      const q = this.peerReader(peer).querier(from, to);
      try {
        remote = await q.select(matchers, from, to, hints);
        this.metrics?.reads.get(["success"]).inc();
        break;
      } catch (err) {
        if (hints?.signal?.aborted) throw err;
        this.metrics?.reads.get(["error"]).inc();
        errors.push(`${peer.name}: ${(err as Error).message}`);
      } finally {
        q.close();
      }
    }
    if (!remote) throw new Error(`ha gap fill: no peer answered (${errors.join("; ")})`);
    if (remote.length === 0) return [];
    // The steps of the peer's series decide how far around the gap local samples matter.
    const steps = new Map<string, number>();
    let widest = 0;
    for (const s of remote) {
      const st = medianStep(s.samples());
      steps.set(labelsKey(s.labels), st);
      if (st > widest) widest = st;
    }
    const margin = Math.ceil(widest * 0.75) + 1;
    const lq = this.opts.local.querier(from - margin, to + margin);
    const localByKey = new Map<string, SampleBatch>();
    try {
      for (const s of await lq.select(matchers, from - margin, to + margin, hints)) localByKey.set(labelsKey(s.labels), s.samples());
    } finally {
      lq.close();
    }
    const out: StoredSeries[] = [];
    let taken = 0;
    for (const s of remote) {
      const key = labelsKey(s.labels);
      const kept = missingSamples(s.samples(), localByKey.get(key), windows, steps.get(key) ?? 0);
      if (kept.length === 0) continue;
      taken += kept.length;
      out.push(new FilledSeries(s.labels, kept));
    }
    this.metrics?.samples.inc(taken);
    return out;
  }
}
