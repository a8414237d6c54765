/**
 * The pure core of a scrape loop: turning one scrape body into one batched
 * append, with a per-target series cache and staleness tracking. No I/O —
 * the loop hands in the body and the scrape time.
 *
 * - Series cache: raw series text (`name{…}` as the target wrote it) → ref
 *   and final labels. A series seen before costs one Map lookup; its labels
 *   are not parsed, merged or relabeled again. Series dropped by
 *   metric_relabel_configs are cached as dropped. Targets mostly expose the
 *   same series in the same order, so the parser (text or OpenMetrics) is
 *   first asked whether the next line starts with the series that came next
 *   in the previous scrape: on a match neither the Map lookup nor the label
 *   scan happens.
 * - Metadata: `# TYPE`, `# HELP` and `# UNIT` per metric family, kept (as in
 *   Prometheus's scrape cache) until the family has been missing for more
 *   than 10 scrapes.
 * - All-or-nothing: new series refs are created and the batch is appended
 *   only after the whole body parsed and passed the limits, so a failed
 *   scrape appends nothing of its body.
 * - Staleness: series appended by the previous scrape and missing from this
 *   one get a staleness marker (the NaN with bits 0x7ff0000000000002, written
 *   as raw bits because a JS number cannot carry a NaN payload). A failed
 *   scrape marks every series of the previous one stale.
 */
import {
  METRIC_NAME, OpenMetricsParser, relabel, TextParser,
  type Label, type Labels, type MetricType, type NameValidation, type RelabelRule,
} from "../model/index.ts";
import { AppendStatus, STALE_NAN_BITS, type Appender } from "../tsdb/index.ts";

/** Settings of a job that shape how samples are appended. */
export interface AppendSettings {
  honorLabels: boolean;
  honorTimestamps: boolean;
  trackTimestampsStaleness: boolean;
  /** 0 = no limit, for all limits. */
  sampleLimit: number;
  labelLimit: number;
  labelNameLengthLimit: number;
  labelValueLengthLimit: number;
  metricRelabel: readonly RelabelRule[];
  nameValidation: NameValidation;
}

/** Which limit made a scrape fail, for the limit counters. */
export type ExceededLimit = "sample" | "label";

/** Outcome of appending one scrape body. */
export interface BodyAppendResult {
  /** Samples in the body. */
  scraped: number;
  /** Samples left after metric relabeling. */
  postRelabel: number;
  /** Series new to the cache in this scrape. */
  added: number;
  /** Parse or limit error; nothing of the body was appended when set. */
  error: string | null;
  exceeded?: ExceededLimit;
  /** Samples the storage rejected. */
  outOfOrder: number;
  duplicate: number;
  outOfBounds: number;
}

/** The values of the synthetic series appended after every scrape. */
export interface ScrapeReport {
  up: number;
  durationSeconds: number;
  scraped: number;
  postRelabel: number;
  added: number;
}

/** Names of the report series, in the order they are appended. */
export const REPORT_SERIES = [
  "up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added",
] as const;

interface CacheEntry {
  /** The raw series text this entry is cached under. */
  key: string;
  /** Index in the body order of the last scrape that saw it. */
  pos: number;
  /** Storage ref; -1 until assigned (new series) or when dropped. */
  ref: number;
  /** Final labels; null when metric relabeling dropped the series. */
  labels: Labels | null;
  /** Scrape iteration that last saw the series. */
  iter: number;
  /** Scrape iteration that last tracked the series for staleness. */
  tracked: number;
}

/** The metadata of one metric family as a target exposed it; type is "unknown" until declared. */
export interface ScrapedMetricMetadata {
  metric: string;
  type: string;
  help: string;
  unit: string;
}

interface MetadataEntry extends ScrapedMetricMetadata {
  /** Scrape iteration that last saw a TYPE, HELP or UNIT line of the family. */
  iter: number;
}

/** Scrapes a family's metadata outlives its last TYPE/HELP/UNIT line, as in Prometheus. */
const METADATA_KEEP_SCRAPES = 10;

/** A sample-level failure that fails the whole scrape. */
class ScrapeBodyError extends Error {
  constructor(message: string, readonly exceeded?: ExceededLimit) {
    super(message);
  }
}

const EXPORTED_PREFIX = "exported_";

function byName(a: Label, b: Label): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Merges target labels into a sample's labels as Prometheus does. With
 * honor_labels the sample's labels win; otherwise the target's win and a
 * conflicting sample label is kept as `exported_<name>` (prefixed again
 * until the name is free).
 */
export function mergeTargetLabels(sample: Labels, target: Labels, honorLabels: boolean): Labels {
  if (target.length === 0) return sample;
  const m = new Map<string, string>();
  for (const l of sample) m.set(l.name, l.value);
  if (honorLabels) {
    for (const l of target) if (!m.get(l.name)) m.set(l.name, l.value);
  } else {
    const conflicts: Label[] = [];
    for (const l of target) {
      const existing = m.get(l.name);
      if (existing) conflicts.push({ name: l.name, value: existing });
      m.set(l.name, l.value);
    }
    conflicts.sort((a, b) => a.name.length - b.name.length);
    for (const c of conflicts) {
      let name = c.name;
      for (;;) {
        name = EXPORTED_PREFIX + name;
        if (!m.get(name)) {
          m.set(name, c.value);
          break;
        }
      }
    }
  }
  const out: Label[] = [];
  for (const [name, value] of m) if (value !== "") out.push({ name, value });
  return out.sort(byName);
}

function checkLabelLimits(ls: Labels, s: AppendSettings): void {
  const metric = (ls.find((l) => l.name === METRIC_NAME)?.value ?? "").slice(0, 50);
  if (s.labelLimit > 0 && ls.length > s.labelLimit) {
    throw new ScrapeBodyError(`label_limit exceeded (metric: ${metric}, number of labels: ${ls.length}, limit: ${s.labelLimit})`, "label");
  }
  for (const l of ls) {
    if (s.labelNameLengthLimit > 0 && l.name.length > s.labelNameLengthLimit) {
      throw new ScrapeBodyError(
        `label_name_length_limit exceeded (metric: ${metric}, label name: ${l.name.slice(0, 50)}, length: ${l.name.length}, limit: ${s.labelNameLengthLimit})`,
        "label",
      );
    }
    if (s.labelValueLengthLimit > 0 && l.value.length > s.labelValueLengthLimit) {
      throw new ScrapeBodyError(
        `label_value_length_limit exceeded (metric: ${metric}, label name: ${l.name.slice(0, 50)}, value: ${JSON.stringify(l.value.slice(0, 50))}, length: ${l.value.length}, limit: ${s.labelValueLengthLimit})`,
        "label",
      );
    }
  }
}

/** How `/api/v1/metadata` names the text format's types: `untyped` is Prometheus's "unknown". */
const TEXT_TYPE_NAMES: Readonly<Record<MetricType, string>> = {
  counter: "counter", gauge: "gauge", histogram: "histogram", summary: "summary", untyped: "unknown",
};

/** Source of a new series' labels. */
interface LabelSource {
  labels(): Labels;
}

/** What `TextParser` and `OpenMetricsParser` have in common: a cursor over series entries. */
interface SeriesCursor extends LabelSource {
  next(): string;
  nextKnownSeries(expected: string): string;
  readonly knownSeries: boolean;
  series(): string;
  readonly value: number;
  timestamp(): number | undefined;
}

/**
 * Per-target series state: the series cache, the series of the previous
 * scrape (for staleness), reusable sample buffers and the report series refs.
 */
export class TargetSeries {
  private cache = new Map<string, CacheEntry>();
  private pendingByKey = new Map<string, CacheEntry>();
  private iter = 0;
  /** Distinct cache entries seen in the current scrape. */
  private seen = 0;
  /** Entries appended (without explicit timestamps) by the previous successful scrape. */
  private prevTracked: CacheEntry[] = [];
  private curTracked: CacheEntry[] = [];
  private reportEntries = new Map<string, CacheEntry>();
  /** Series entries of the last successful scrape in body order, and those of the current one. */
  private order: CacheEntry[] = [];
  private nextOrder: CacheEntry[] = [];
  private readonly metadataByFamily = new Map<string, MetadataEntry>();
  // Batch buffers; `vBits` aliases `v` so staleness markers keep their payload.
  private refs = new Uint32Array(256);
  private t = new Float64Array(256);
  private v = new Float64Array(256);
  private vBits = new BigUint64Array(this.v.buffer);
  private status = new Uint8Array(256);
  private entries: CacheEntry[] = [];
  private n = 0;
  private scrapeTs = 0;
  private scraped = 0;

  constructor(private targetLabels: Labels, private settings: AppendSettings) {}

  /** Applies new settings (config reload): the cache is flushed, staleness tracking kept. */
  reconfigure(targetLabels: Labels, settings: AppendSettings): void {
    this.targetLabels = targetLabels;
    this.settings = settings;
    this.cache.clear();
    this.order = [];
    this.reportEntries.clear();
  }

  /**
   * Metadata of the metric families seen in recent scrapes, in order of
   * first appearance. The synthetic report series have none, as in
   * Prometheus 2.x.
   */
  metadata(): ScrapedMetricMetadata[] {
    const out: ScrapedMetricMetadata[] = [];
    for (const m of this.metadataByFamily.values()) out.push({ metric: m.metric, type: m.type, help: m.help, unit: m.unit });
    return out;
  }

  private familyMetadata(name: string): MetadataEntry {
    let m = this.metadataByFamily.get(name);
    if (m === undefined) {
      m = { metric: name, type: "unknown", help: "", unit: "", iter: this.iter };
      this.metadataByFamily.set(name, m);
    }
    m.iter = this.iter;
    return m;
  }

  /** Whether the previous scrape left series that an end-of-run would mark stale. */
  hasTrackedSeries(): boolean {
    return this.prevTracked.length > 0;
  }

  /** Number of cached series (new and dropped), for tests and debugging. */
  cacheSize(): number {
    return this.cache.size;
  }

  private grow(): void {
    const cap = this.refs.length * 2;
    const refs = new Uint32Array(cap), t = new Float64Array(cap), v = new Float64Array(cap);
    refs.set(this.refs);
    t.set(this.t);
    new BigUint64Array(v.buffer).set(this.vBits);
    this.refs = refs;
    this.t = t;
    this.v = v;
    this.vBits = new BigUint64Array(v.buffer);
    this.status = new Uint8Array(cap);
  }

  private push(e: CacheEntry, t: number, v: number): void {
    if (this.n === this.refs.length) this.grow();
    const i = this.n++;
    this.refs[i] = e.ref < 0 ? 0 : e.ref;
    this.t[i] = t;
    this.v[i] = v;
    this.entries[i] = e;
  }

  private pushStale(e: CacheEntry, t: number): void {
    if (this.n === this.refs.length) this.grow();
    const i = this.n++;
    this.refs[i] = e.ref;
    this.t[i] = t;
    this.vBits[i] = STALE_NAN_BITS;
    this.entries[i] = e;
  }

  /** The entry of a series text: cached, pending (new in this scrape), or created now from `src`'s labels. */
  private entryFor(key: string, src: LabelSource): CacheEntry {
    const cached = this.cache.get(key) ?? this.pendingByKey.get(key);
    if (cached !== undefined) return cached;
    const s = this.settings;
    const merged = mergeTargetLabels(src.labels(), this.targetLabels, s.honorLabels);
    const final = s.metricRelabel.length > 0 ? relabel(merged, s.metricRelabel, { nameValidation: s.nameValidation }) : merged;
    if (final === null || final.length === 0) {
      const dropped: CacheEntry = { key, pos: -1, ref: -1, labels: null, iter: 0, tracked: 0 };
      this.cache.set(key, dropped);
      return dropped;
    }
    if (!final.some((l) => l.name === METRIC_NAME)) throw new ScrapeBodyError(`missing metric name (${METRIC_NAME} label)`);
    checkLabelLimits(final, s);
    const e: CacheEntry = { key, pos: -1, ref: -1, labels: final, iter: 0, tracked: 0 };
    this.pendingByKey.set(key, e);
    return e;
  }

  private addSample(e: CacheEntry, value: number, sampleTs: number | undefined): void {
    const s = this.settings;
    const explicit = s.honorTimestamps && sampleTs !== undefined;
    const t = explicit ? sampleTs! : this.scrapeTs;
    if (e.iter !== this.iter) {
      e.iter = this.iter;
      e.pos = this.nextOrder.length;
      this.seen++;
    }
    this.nextOrder.push(e);
    if (e.labels === null) return;
    this.push(e, t, value);
    if ((!explicit || s.trackTimestampsStaleness) && e.tracked !== this.iter) {
      e.tracked = this.iter;
      this.curTracked.push(e);
    }
  }

  /** Parses the body into the batch, counting samples in `this.scraped` as it goes (so a failure still reports them). */
  private parseBody(body: string, contentType: string): void {
    if (contentType.startsWith("application/openmetrics-text")) {
      const p = new OpenMetricsParser(body);
      this.parseEntries(p, (e) => {
        if (e === "series") return;
        const f = p.family();
        const m = this.familyMetadata(f.name);
        m.type = f.type;
        m.help = f.help;
        m.unit = f.unit;
      });
      return;
    }
    const p = new TextParser(body);
    this.parseEntries(p, (e) => {
      if (e === "type") this.familyMetadata(p.metricName()).type = TEXT_TYPE_NAMES[p.type()];
      else if (e === "help") this.familyMetadata(p.metricName()).help = p.help();
    });
  }

  /**
   * Drives a parser over a body: each series goes to the batch, each other
   * entry to `onMetadata`. The series that came next in the previous scrape
   * is offered to the parser as a guess.
   */
  private parseEntries(p: SeriesCursor, onMetadata: (entry: string) => void): void {
    const order = this.order;
    let k = 0;
    for (;;) {
      const guess = k < order.length ? order[k]! : undefined;
      const e = guess !== undefined ? p.nextKnownSeries(guess.key) : p.next();
      if (e === "eof") return;
      if (e !== "series") {
        onMetadata(e);
        continue;
      }
      this.scraped++;
      let entry: CacheEntry;
      if (guess !== undefined && p.knownSeries) {
        entry = guess;
        k++;
      } else {
        entry = this.entryFor(p.series(), p);
        // Resynchronise the guesses after a series was added or removed.
        if (entry.iter !== this.iter && entry.pos >= 0) k = entry.pos + 1;
      }
      this.addSample(entry, p.value, p.timestamp());
    }
  }

  /**
   * Parses a scrape body and appends its samples plus staleness markers for
   * series gone since the previous scrape, in one `appendBatch`. On a parse
   * or limit error nothing of the body is appended and every series of the
   * previous scrape is marked stale.
   */
  appendBody(app: Appender, body: string, contentType: string, scrapeTs: number): BodyAppendResult {
    this.iter++;
    this.seen = 0;
    this.scrapeTs = scrapeTs;
    this.n = 0;
    this.curTracked.length = 0;
    this.pendingByKey.clear();
    this.nextOrder.length = 0;
    this.scraped = 0;
    try {
      this.parseBody(body, contentType);
      const limit = this.settings.sampleLimit;
      if (limit > 0 && this.n > limit) throw new ScrapeBodyError("sample limit exceeded", "sample");
    } catch (e) {
      this.pendingByKey.clear();
      const res = this.appendStaleAll(app, scrapeTs);
      const exceeded = e instanceof ScrapeBodyError ? e.exceeded : undefined;
      return { scraped: this.scraped, postRelabel: 0, added: 0, error: (e as Error).message, exceeded, ...res };
    }
    const scraped = this.scraped;
    const postRelabel = this.n;
    let added = 0;
    for (const [key, e] of this.pendingByKey) {
      e.ref = app.ref(e.labels!);
      this.cache.set(key, e);
      added++;
    }
    this.pendingByKey.clear();
    for (let i = 0; i < postRelabel; i++) this.refs[i] = this.entries[i]!.ref;
    let curRefs: Set<number> | null = null;
    for (const e of this.prevTracked) {
      if (e.tracked === this.iter) continue;
      // Several cache keys can share a ref (e.g. after metric relabeling): only refs absent from this scrape go stale.
      if (curRefs === null) curRefs = new Set(this.curTracked.map((c) => c.ref));
      if (curRefs.has(e.ref)) continue;
      curRefs.add(e.ref);
      this.pushStale(e, scrapeTs);
    }
    const prev = this.prevTracked;
    this.prevTracked = this.curTracked;
    this.curTracked = prev;
    this.curTracked.length = 0;
    const res = this.flush(app);
    if (this.cache.size > this.seen) for (const [key, e] of this.cache) if (e.iter !== this.iter) this.cache.delete(key);
    const order = this.order;
    this.order = this.nextOrder;
    this.nextOrder = order;
    for (const [name, m] of this.metadataByFamily) if (this.iter - m.iter > METADATA_KEEP_SCRAPES) this.metadataByFamily.delete(name);
    return { scraped, postRelabel, added, error: null, ...res };
  }

  /** Marks every series of the previous scrape stale at `ts` (failed scrape or end of run). */
  appendStaleAll(app: Appender, ts: number): { outOfOrder: number; duplicate: number; outOfBounds: number } {
    this.n = 0;
    const seen = new Set<number>();
    for (const e of this.prevTracked) {
      if (seen.has(e.ref)) continue;
      seen.add(e.ref);
      this.pushStale(e, ts);
    }
    this.prevTracked = [];
    return this.flush(app);
  }

  /** Appends the synthetic report series (`up`, `scrape_duration_seconds`, …) at `ts`. */
  appendReport(app: Appender, ts: number, r: ScrapeReport): void {
    this.n = 0;
    const values = [r.up, r.durationSeconds, r.scraped, r.postRelabel, r.added];
    for (let k = 0; k < REPORT_SERIES.length; k++) this.push(this.reportEntry(app, REPORT_SERIES[k]!), ts, values[k]!);
    this.flush(app);
  }

  /** Appends staleness markers for the report series at `ts` (end of run). */
  appendReportStale(app: Appender, ts: number): void {
    this.n = 0;
    for (const name of REPORT_SERIES) this.pushStale(this.reportEntry(app, name), ts);
    this.flush(app);
  }

  private reportEntry(app: Appender, name: string): CacheEntry {
    let e = this.reportEntries.get(name);
    if (e === undefined) {
      const labels = mergeTargetLabels([{ name: METRIC_NAME, value: name }], this.targetLabels, false);
      e = { key: name, pos: -1, ref: app.ref(labels), labels, iter: 0, tracked: 0 };
      this.reportEntries.set(name, e);
    }
    return e;
  }

  /** Appends the buffered batch; samples whose ref the storage no longer knows are re-resolved once. */
  private flush(app: Appender): { outOfOrder: number; duplicate: number; outOfBounds: number } {
    const n = this.n;
    const out = { outOfOrder: 0, duplicate: 0, outOfBounds: 0 };
    if (n === 0) return out;
    const res = app.appendBatch(this.refs, this.t, this.v, n, this.status);
    out.outOfOrder = res.outOfOrder;
    out.duplicate = res.duplicate;
    out.outOfBounds = res.outOfBounds;
    if (res.unknownRef > 0) {
      // Re-resolve refs the storage dropped (e.g. after head truncation) and retry those samples.
      let k = 0;
      for (let i = 0; i < n; i++) {
        if (this.status[i] !== AppendStatus.UnknownRef) continue;
        const e = this.entries[i]!;
        if (e.labels === null) continue;
        e.ref = app.ref(e.labels);
        this.refs[k] = e.ref;
        this.t[k] = this.t[i]!;
        this.vBits[k] = this.vBits[i]!;
        this.entries[k] = e;
        k++;
      }
      if (k > 0) {
        const retry = app.appendBatch(this.refs, this.t, this.v, k, this.status);
        out.outOfOrder += retry.outOfOrder;
        out.duplicate += retry.duplicate;
        out.outOfBounds += retry.outOfBounds;
      }
    }
    this.n = 0;
    return out;
  }
}
