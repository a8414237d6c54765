/**
 * The pure core of a scrape loop: turning one scrape body into batched
 * appends, with a per-target series cache and staleness tracking. No I/O —
 * the loop hands in the body (whole, or as raw chunks decoded in segments)
 * and the scrape time.
 *
 * - Series cache: raw series text (`name{…}` as the target wrote it) → a
 *   slot. A slot is an index into typed arrays (storage ref, flags, last
 *   scrape seen, body position): per cached series the cache holds one Map
 *   entry, the key string and ~17 bytes, no object and no label set. The
 *   labels of a series are built once, when it is new, and handed to the
 *   storage; should the storage forget the ref (head truncation), they are
 *   rebuilt from the key. Series dropped by metric_relabel_configs are
 *   cached as dropped. Targets mostly expose the same series in the same
 *   order, so the parser (text or OpenMetrics) is first asked whether the
 *   next line starts with the series that came next in the previous scrape:
 *   on a match neither the Map lookup nor the label scan happens.
 * - Metadata: `# TYPE`, `# HELP` and `# UNIT` per metric family, kept (as in
 *   Prometheus's scrape cache) until the family has been missing for more
 *   than 10 scrapes.
 * - All-or-nothing: new series refs are created and samples appended only
 *   after the whole body parsed and passed the limits, so a failed scrape
 *   appends nothing of its body.
 * - Staleness: series appended by the previous scrape and missing from this
 *   one get a staleness marker (the NaN with bits 0x7ff0000000000002, written
 *   as raw bits because a JS number cannot carry a NaN payload). A failed
 *   scrape marks every series of the previous one stale.
 * - Responsiveness: the work is a generator that pauses every few hundred
 *   samples; `appendBody` runs it straight through (tests, small bodies),
 *   `appendRaw` lets a `ScrapeJob` give the event loop back between slices,
 *   and appends go to storage in batches of {@link APPEND_CHUNK}.
 */
import {
  METRIC_NAME, OpenMetricsParser, relabel, TextParser,
  type Label, type Labels, type MetricType, type NameValidation, type RelabelRule,
} from "../model/index.ts";
import { ownString } from "../base/index.ts";
import { AppendStatus, STALE_NAN_BITS, type Appender } from "../tsdb/index.ts";
import { bodySegments, type BodySegment, type RawBody } from "./body.ts";
import type { ScrapeJob } from "./scheduler.ts";

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

/**
 * Fails a series whose label names or values held invalid UTF-8 (decoded
 * as U+FFFD), with Prometheus's error.
 */
function checkUtf8(ls: Labels): void {
  for (const l of ls) {
    if (l.value.includes("\uFFFD")) throw new ScrapeBodyError("invalid UTF-8 label value");
    if (l.name.includes("\uFFFD")) throw new ScrapeBodyError("invalid UTF-8 label name");
  }
}

/** How `/api/v1/metadata` names the text format's types: `untyped` is Prometheus's "unknown". */
const TEXT_TYPE_NAMES: Readonly<Record<MetricType, string>> = {
  counter: "counter", gauge: "gauge", histogram: "histogram", summary: "summary", untyped: "unknown",
};


/** What `TextParser` and `OpenMetricsParser` have in common: a cursor over series entries. */
interface SeriesCursor {
  next(): string;
  nextKnownSeries(expected: string): string;
  readonly knownSeries: boolean;
  series(): string;
  labels(): Labels;
  readonly value: number;
  timestamp(): number | undefined;
}

/** Samples (or cache slots) handled between two pauses of an append. */
const STEP = 512;

/** What a series not seen in the previous scrape costs of a step, against 1 for a known one. */
const NEW_SERIES_COST = 16;

/** Samples per `appendBatch` call. */
export const APPEND_CHUNK = 1024;

// One set of batch buffers for every target: a chunk is filled and appended
// synchronously, so scrapes interleaving between chunks never share one.
// `bVBits` aliases `bV` so staleness markers keep their payload.
const bRefs = new Uint32Array(APPEND_CHUNK);
const bT = new Float64Array(APPEND_CHUNK);
const bV = new Float64Array(APPEND_CHUNK);
const bVBits = new BigUint64Array(bV.buffer);
const bStatus = new Uint8Array(APPEND_CHUNK);
/** Cache slot of each buffered sample; -1 - k for report series k. */
const bSlot = new Int32Array(APPEND_CHUNK);

/** Slot flags. */
const DROPPED = 1, PENDING = 2, FREE = 4;

/** Thrown into a paused append when its scrape was aborted (the loop stopped). */
class ScrapeAbortedError extends Error {
  constructor() {
    super("scrape aborted");
  }
}

interface AppendCounts {
  outOfOrder: number;
  duplicate: number;
  outOfBounds: number;
}

function growInt32(a: Int32Array<ArrayBuffer>, need: number): Int32Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const b = new Int32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

/**
 * Per-target series state: the series cache, the series of the previous
 * scrape (for staleness), the body order of the last scrape and the report
 * series refs.
 */
export class TargetSeries {
  private slotOf = new Map<string, number>();
  private keys: string[] = [];
  private slotRef = new Uint32Array(16);
  private slotFlags = new Uint8Array(16);
  private slotIter = new Uint32Array(16);
  private slotTracked = new Uint32Array(16);
  /** Index in the body order of the last scrape that saw the slot. */
  private slotPos = new Int32Array(16);
  private slotsUsed = 0;
  private freeSlots: number[] = [];
  /** Slots new in the current scrape, and their labels (refs are created only once the body passed). */
  private pending: number[] = [];
  private pendingLabels: Labels[] = [];
  private iter = 0;
  /** Distinct slots seen in the current scrape. */
  private seen = 0;
  /** Slots appended (without explicit timestamps) by the previous successful scrape, and by the current one. */
  private prevTracked = new Int32Array(16);
  private prevTrackedLen = 0;
  private curTracked = new Int32Array(16);
  private curTrackedLen = 0;
  /** Slots of the last successful scrape in body order, and those of the current one with their values. */
  private order = new Int32Array(16);
  private orderLen = 0;
  private nextOrder = new Int32Array(16);
  private nextOrderLen = 0;
  private values = new Float64Array(16);
  /** Explicit sample timestamps of the current scrape; NaN where the scrape time applies. Null until one is seen. */
  private times: Float64Array | null = null;
  private hasTimes = false;
  private readonly metadataByFamily = new Map<string, MetadataEntry>();
  private reportRefs: number[] = [];
  private reportLabels: Labels[] = [];
  private scrapeTs = 0;
  private scraped = 0;
  /** Samples kept after relabeling in the current scrape. */
  private kept = 0;
  private sampleLimitExceeded = false;
  /** Position in `order` of the next series guessed during a parse. */
  private guess = 0;
  /** The segment being parsed had invalid UTF-8 (now U+FFFD). */
  private invalidUtf8 = false;
  /** Set while an append is under way; a reconfigure waits for its end. */
  private busy = false;
  private deferredConfig: { targetLabels: Labels; settings: AppendSettings } | null = null;

  constructor(private targetLabels: Labels, private settings: AppendSettings) {}

  /** Applies new settings (config reload): the cache is flushed, staleness tracking kept. */
  reconfigure(targetLabels: Labels, settings: AppendSettings): void {
    if (this.busy) {
      this.deferredConfig = { targetLabels, settings };
      return;
    }
    this.targetLabels = targetLabels;
    this.settings = settings;
    this.slotOf.clear();
    this.keys = [];
    this.slotsUsed = 0;
    this.freeSlots = [];
    this.orderLen = 0;
    this.reportRefs = [];
    this.reportLabels = [];
    // Staleness tracking keeps its slots: their refs stay valid in the (fresh) arrays.
    const refs = Array.from(this.prevTracked.subarray(0, this.prevTrackedLen), (slot) => this.slotRef[slot]!);
    this.slotRef = new Uint32Array(16);
    this.slotFlags = new Uint8Array(16);
    this.slotIter = new Uint32Array(16);
    this.slotTracked = new Uint32Array(16);
    this.slotPos = new Int32Array(16);
    this.prevTrackedLen = 0;
    for (const ref of refs) {
      // Slots outside the map: kept only to be marked stale, freed after the next scrape.
      const slot = this.allocSlot("", ref, 0);
      this.prevTracked = growInt32(this.prevTracked, this.prevTrackedLen + 1);
      this.prevTracked[this.prevTrackedLen++] = slot;
    }
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
      const own = ownString(name);
      m = { metric: own, type: "unknown", help: "", unit: "", iter: this.iter };
      this.metadataByFamily.set(own, m);
    }
    m.iter = this.iter;
    return m;
  }

  /** Whether the previous scrape left series that an end-of-run would mark stale. */
  hasTrackedSeries(): boolean {
    return this.prevTrackedLen > 0;
  }

  /** Number of cached series (new and dropped), for tests and debugging. */
  cacheSize(): number {
    return this.slotOf.size;
  }

  // ---- slots ----------------------------------------------------------------

  private allocSlot(key: string, ref: number, flags: number): number {
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.slotsUsed++;
      if (slot === this.slotRef.length) this.growSlots();
    }
    this.keys[slot] = key;
    this.slotRef[slot] = ref;
    this.slotFlags[slot] = flags;
    this.slotIter[slot] = 0;
    this.slotTracked[slot] = 0;
    this.slotPos[slot] = -1;
    return slot;
  }

  private freeSlot(slot: number): void {
    this.keys[slot] = "";
    this.slotFlags[slot] = FREE;
    this.freeSlots.push(slot);
  }

  private growSlots(): void {
    const cap = this.slotRef.length * 2;
    const ref = new Uint32Array(cap), flags = new Uint8Array(cap), it = new Uint32Array(cap), tr = new Uint32Array(cap), pos = new Int32Array(cap);
    ref.set(this.slotRef);
    flags.set(this.slotFlags);
    it.set(this.slotIter);
    tr.set(this.slotTracked);
    pos.set(this.slotPos);
    this.slotRef = ref;
    this.slotFlags = flags;
    this.slotIter = it;
    this.slotTracked = tr;
    this.slotPos = pos;
  }

  /** The final labels of a series from its parsed labels; null when metric relabeling drops it. */
  private finalLabels(parsed: Labels): Labels | null {
    const s = this.settings;
    const merged = mergeTargetLabels(parsed, this.targetLabels, s.honorLabels);
    const final = s.metricRelabel.length > 0 ? relabel(merged, s.metricRelabel, { nameValidation: s.nameValidation }) : merged;
    return final === null || final.length === 0 ? null : final;
  }

  /** The slot of a series text: cached (or new in this scrape), or created now from `src`'s labels. */
  private slotFor(text: string, src: SeriesCursor): number {
    const cached = this.slotOf.get(text);
    if (cached !== undefined) return cached;
    // `text` is a slice of the body segment: kept as it is, it would keep the whole segment.
    const key = ownString(text);
    const parsed = src.labels();
    if (this.invalidUtf8 && key.includes("\uFFFD")) checkUtf8(parsed);
    const final = this.finalLabels(parsed);
    if (final === null) {
      const slot = this.allocSlot(key, 0, DROPPED);
      this.slotOf.set(key, slot);
      return slot;
    }
    if (!final.some((l) => l.name === METRIC_NAME)) throw new ScrapeBodyError(`missing metric name (${METRIC_NAME} label)`);
    checkLabelLimits(final, this.settings);
    const slot = this.allocSlot(key, 0, PENDING);
    this.slotOf.set(key, slot);
    this.pending.push(slot);
    this.pendingLabels.push(final);
    return slot;
  }

  /** Rebuilds a cached series' labels from its key (the storage forgot its ref). */
  private labelsOfSlot(slot: number): Labels | null {
    const key = this.keys[slot]!;
    if (key === "") return null;
    const p = new TextParser(key + " 0\n");
    if (p.next() !== "series") return null;
    return this.finalLabels(p.labels());
  }

  /** Forgets the series created in a scrape that failed. */
  private rollbackPending(): void {
    for (const slot of this.pending) {
      this.slotOf.delete(this.keys[slot]!);
      this.freeSlot(slot);
    }
    this.pending.length = 0;
    this.pendingLabels.length = 0;
  }

  // ---- parsing ------------------------------------------------------------

  private addSample(slot: number, value: number, sampleTs: number | undefined): void {
    const s = this.settings;
    const explicit = s.honorTimestamps && sampleTs !== undefined;
    if (this.slotIter[slot] !== this.iter) {
      this.slotIter[slot] = this.iter;
      this.slotPos[slot] = this.nextOrderLen;
      this.seen++;
    }
    const dropped = (this.slotFlags[slot]! & DROPPED) !== 0;
    if (!dropped) {
      if (s.sampleLimit > 0 && this.kept >= s.sampleLimit) {
        this.sampleLimitExceeded = true;
        return;
      }
      this.kept++;
    }
    // Dropped series stay in the body order too, so that next scrape's guesses line up with the body.
    const i = this.nextOrderLen++;
    if (i >= this.nextOrder.length || i >= this.values.length) this.growOrder(i + 1);
    this.nextOrder[i] = slot;
    this.values[i] = value;
    if (explicit) {
      if (!this.hasTimes) {
        if (this.times === null || this.times.length < this.values.length) this.times = new Float64Array(this.values.length);
        this.times.fill(NaN, 0, i);
        this.hasTimes = true;
      }
      this.times![i] = sampleTs!;
    } else if (this.hasTimes) {
      this.times![i] = NaN;
    }
    if (dropped) return;
    if ((!explicit || s.trackTimestampsStaleness) && this.slotTracked[slot] !== this.iter) {
      this.slotTracked[slot] = this.iter;
      if (this.curTrackedLen === this.curTracked.length) this.curTracked = growInt32(this.curTracked, this.curTrackedLen + 1);
      this.curTracked[this.curTrackedLen++] = slot;
    }
  }

  /** Grows the current scrape's order, values and times to hold `need` samples (`order` and `nextOrder` swap, so their sizes differ). */
  private growOrder(need: number): void {
    this.nextOrder = growInt32(this.nextOrder, need);
    if (this.values.length < need) {
      const v = new Float64Array(Math.max(need, this.values.length * 2));
      v.set(this.values);
      this.values = v;
    }
    if (this.times !== null && this.times.length < this.values.length) {
      const t = new Float64Array(this.values.length);
      t.set(this.times);
      this.times = t;
    }
  }

  /**
   * Parses the body's segments into the current scrape, counting samples
   * in `this.scraped` as it goes (so a failure still reports them); pauses
   * every {@link STEP} samples.
   */
  private *parseSteps(segments: Iterator<BodySegment, void, undefined>, contentType: string): Generator<void, void, undefined> {
    const om = contentType.startsWith("application/openmetrics-text");
    let cur = segments.next();
    if (cur.done) {
      // An empty body: the OpenMetrics parser still wants its `# EOF`.
      if (om) new OpenMetricsParser("").next();
      return;
    }
    const omp = om ? new OpenMetricsParser(cur.value.text) : null;
    const tp = om ? null : new TextParser(cur.value.text);
    const p: SeriesCursor = omp ?? tp!;
    this.guess = 0;
    for (;;) {
      const following = segments.next();
      if (omp !== null) omp.continueWith(cur.value.text, following.done === true);
      else tp!.continueWith(cur.value.text);
      this.invalidUtf8 = cur.value.invalidUtf8;
      while (!this.parseSome(p, omp, tp, STEP)) yield;
      if (following.done) return;
      yield;
      cur = following;
    }
  }

  /**
   * Parses entries of the current segment until it ends (true) or `budget`
   * is spent (false): a series seen in the previous scrape costs 1, a new
   * one {@link NEW_SERIES_COST}. A plain method, not a generator, so that
   * the hot loop is optimised as one.
   */
  private parseSome(p: SeriesCursor, omp: OpenMetricsParser | null, tp: TextParser | null, budget: number): boolean {
    const order = this.order, orderLen = this.orderLen, keys = this.keys;
    let k = this.guess;
    try {
      while (budget > 0) {
        const guess = k < orderLen ? order[k]! : -1;
        const e = guess >= 0 ? p.nextKnownSeries(keys[guess]!) : p.next();
        if (e === "eof") return true;
        if (e !== "series") {
          if (omp !== null) {
            const f = omp.family();
            const m = this.familyMetadata(f.name);
            m.type = f.type;
            if (m.help !== f.help) m.help = ownString(f.help);
            if (m.unit !== f.unit) m.unit = ownString(f.unit);
          } else if (e === "type") {
            this.familyMetadata(tp!.metricName()).type = TEXT_TYPE_NAMES[tp!.type()];
          } else if (e === "help") {
            const m = this.familyMetadata(tp!.metricName()), help = tp!.help();
            if (m.help !== help) m.help = ownString(help);
          }
          continue;
        }
        this.scraped++;
        budget--;
        if (this.sampleLimitExceeded) continue;
        let slot: number;
        if (guess >= 0 && p.knownSeries) {
          slot = guess;
          k++;
        } else {
          budget -= NEW_SERIES_COST;
          slot = this.slotFor(p.series(), p);
          // Resynchronise the guesses after a series was added or removed.
          if (this.slotIter[slot] !== this.iter && this.slotPos[slot]! >= 0) k = this.slotPos[slot]! + 1;
        }
        this.addSample(slot, p.value, p.timestamp());
      }
      return false;
    } finally {
      this.guess = k;
    }
  }

  // ---- appending ----------------------------------------------------------

  /**
   * Parses a whole scrape body and appends its samples plus staleness
   * markers for series gone since the previous scrape, without pausing. On
   * a parse or limit error nothing of the body is appended and every series
   * of the previous scrape is marked stale.
   */
  appendBody(app: Appender, body: string, contentType: string, scrapeTs: number): BodyAppendResult {
    const segments: BodySegment[] = body === "" ? [] : [{ text: body, invalidUtf8: false }];
    return runNow(this.appendSteps(app, segments[Symbol.iterator](), contentType, scrapeTs, null));
  }

  /**
   * `appendBody` for a raw body, decoded in segments, giving the event loop
   * back whenever `job` says the turn's budget is used. When `signal` aborts
   * while the append is paused, it stops without appending anything more and
   * resolves with the error "scrape aborted".
   */
  async appendRaw(app: () => Appender, body: RawBody, contentType: string, scrapeTs: number, job: ScrapeJob, signal?: AbortSignal): Promise<BodyAppendResult> {
    const steps = this.appendSteps(app, bodySegments(body), contentType, scrapeTs, signal ?? null);
    return runPaused(steps, job);
  }

  /** Marks every series of the previous scrape stale at `ts` (failed scrape or end of run). */
  appendStaleAll(app: Appender, ts: number): AppendCounts {
    return runNow(this.staleAllSteps(() => app, ts));
  }

  /** `appendStaleAll`, pausing as `job` says. */
  appendStaleAllPaused(app: () => Appender, ts: number, job: ScrapeJob): Promise<AppendCounts> {
    return runPaused(this.staleAllSteps(app, ts), job);
  }

  private *appendSteps(
    appOrGet: Appender | (() => Appender), segments: Iterator<BodySegment, void, undefined>, contentType: string, scrapeTs: number, signal: AbortSignal | null,
  ): Generator<void, BodyAppendResult, undefined> {
    const getApp = typeof appOrGet === "function" ? appOrGet : () => appOrGet;
    this.busy = true;
    try {
      this.iter++;
      this.seen = 0;
      this.scrapeTs = scrapeTs;
      this.curTrackedLen = 0;
      this.nextOrderLen = 0;
      this.hasTimes = false;
      this.scraped = 0;
      this.kept = 0;
      this.sampleLimitExceeded = false;
      this.pending.length = 0;
      this.pendingLabels.length = 0;
      try {
        const parse = this.parseSteps(segments, contentType);
        for (let step = parse.next(); !step.done; step = parse.next()) {
          yield;
          if (signal?.aborted) throw new ScrapeAbortedError();
        }
        if (this.sampleLimitExceeded) throw new ScrapeBodyError("sample limit exceeded", "sample");
      } catch (e) {
        this.rollbackPending();
        const exceeded = e instanceof ScrapeBodyError ? e.exceeded : undefined;
        const fail = { scraped: this.scraped, postRelabel: 0, added: 0, error: (e as Error).message, exceeded };
        if (e instanceof ScrapeAbortedError) return { ...fail, outOfOrder: 0, duplicate: 0, outOfBounds: 0 };
        const res = yield* this.staleAllSteps(getApp, scrapeTs);
        return { ...fail, ...res };
      }
      const scraped = this.scraped;
      const postRelabel = this.kept;
      // New series: refs now that the body passed.
      const added = this.pending.length;
      for (let i = 0; i < added; i++) {
        const slot = this.pending[i]!;
        this.slotRef[slot] = getApp().ref(this.pendingLabels[i]!);
        this.slotFlags[slot] = 0;
        if (i % STEP === STEP - 1) yield;
      }
      this.pending.length = 0;
      this.pendingLabels.length = 0;
      const stale = yield* this.goneSteps();
      const prev = this.prevTracked;
      this.prevTracked = this.curTracked;
      this.prevTrackedLen = this.curTrackedLen;
      this.curTracked = prev;
      this.curTrackedLen = 0;
      const res = yield* this.flushSteps(getApp, stale);
      // Forget series not seen in this scrape.
      if (this.slotOf.size > this.seen || this.freeSlots.length + this.slotOf.size < this.slotsUsed) {
        for (let slot = 0; slot < this.slotsUsed; slot++) {
          if (this.slotFlags[slot]! & FREE || this.slotIter[slot] === this.iter) continue;
          if (this.keys[slot] !== "") this.slotOf.delete(this.keys[slot]!);
          this.freeSlot(slot);
          if (slot % APPEND_CHUNK === APPEND_CHUNK - 1) yield;
        }
      }
      const order = this.order;
      this.order = this.nextOrder;
      this.orderLen = this.nextOrderLen;
      this.nextOrder = order;
      this.nextOrderLen = 0;
      for (const [name, m] of this.metadataByFamily) if (this.iter - m.iter > METADATA_KEEP_SCRAPES) this.metadataByFamily.delete(name);
      return { scraped, postRelabel, added, error: null, ...res };
    } finally {
      this.busy = false;
      const d = this.deferredConfig;
      if (d !== null) {
        this.deferredConfig = null;
        this.reconfigure(d.targetLabels, d.settings);
      }
    }
  }

  /**
   * Slots of the previous scrape missing from this one, one per ref
   * (several cache keys can share a ref, e.g. after metric relabeling: only
   * refs absent from this scrape go stale).
   */
  private *goneSteps(): Generator<void, number[], undefined> {
    const gone: number[] = [];
    for (let i = 0; i < this.prevTrackedLen; i++) {
      const slot = this.prevTracked[i]!;
      if (this.slotTracked[slot] !== this.iter || this.keys[slot] === "") gone.push(slot);
    }
    if (gone.length === 0) return gone;
    const goneRefs = new Set<number>();
    for (const slot of gone) goneRefs.add(this.slotRef[slot]!);
    for (let i = 0; i < this.curTrackedLen; i++) {
      goneRefs.delete(this.slotRef[this.curTracked[i]!]!);
      if (i % (STEP * 16) === STEP * 16 - 1) yield;
    }
    const out: number[] = [];
    for (const slot of gone) {
      const ref = this.slotRef[slot]!;
      if (!goneRefs.has(ref)) continue;
      goneRefs.delete(ref);
      out.push(slot);
    }
    return out;
  }

  private *staleAllSteps(getApp: () => Appender, ts: number): Generator<void, AppendCounts, undefined> {
    const seen = new Set<number>();
    const stale: number[] = [];
    for (let i = 0; i < this.prevTrackedLen; i++) {
      const slot = this.prevTracked[i]!;
      const ref = this.slotRef[slot]!;
      if (seen.has(ref)) continue;
      seen.add(ref);
      stale.push(slot);
    }
    this.prevTrackedLen = 0;
    const savedLen = this.nextOrderLen;
    this.nextOrderLen = 0;
    const saveTs = this.scrapeTs;
    this.scrapeTs = ts;
    try {
      return yield* this.flushSteps(getApp, stale);
    } finally {
      this.nextOrderLen = savedLen;
      this.scrapeTs = saveTs;
    }
  }

  /** Appends the current scrape's kept samples, then staleness markers for `stale`, in chunks. */
  private *flushSteps(getApp: () => Appender, stale: number[]): Generator<void, AppendCounts, undefined> {
    const out: AppendCounts = { outOfOrder: 0, duplicate: 0, outOfBounds: 0 };
    for (let i = 0; i < this.nextOrderLen;) {
      const [next, n] = this.fillSamples(i);
      i = next;
      this.flushBuffered(getApp(), n, out);
      if (i < this.nextOrderLen) yield;
    }
    for (let from = 0; from < stale.length; from += APPEND_CHUNK) {
      if (from > 0) yield;
      const to = Math.min(stale.length, from + APPEND_CHUNK);
      const ts = this.scrapeTs;
      let n = 0;
      for (let i = from; i < to; i++) {
        const slot = stale[i]!;
        bRefs[n] = this.slotRef[slot]!;
        bT[n] = ts;
        bVBits[n] = STALE_NAN_BITS;
        bSlot[n] = slot;
        n++;
      }
      this.flushBuffered(getApp(), n, out);
    }
    return out;
  }

  /** Buffers kept samples of the current scrape from body position `from`, up to a chunk; returns the next position and the count. */
  private fillSamples(from: number): [number, number] {
    const ts = this.scrapeTs, len = this.nextOrderLen, times = this.hasTimes ? this.times : null;
    const order = this.nextOrder, flags = this.slotFlags, refs = this.slotRef, values = this.values;
    let n = 0, i = from;
    for (; i < len && n < APPEND_CHUNK; i++) {
      const slot = order[i]!;
      if (flags[slot]! & DROPPED) continue;
      bRefs[n] = refs[slot]!;
      const t = times !== null ? times[i]! : NaN;
      bT[n] = t === t ? t : ts;
      bV[n] = values[i]!;
      bSlot[n] = slot;
      n++;
    }
    return [i, n];
  }

  /** Appends the first `n` buffered samples; samples whose ref the storage no longer knows are re-resolved once. */
  private flushBuffered(app: Appender, n: number, out: AppendCounts): void {
    if (n === 0) return;
    const res = app.appendBatch(bRefs, bT, bV, n, bStatus);
    out.outOfOrder += res.outOfOrder;
    out.duplicate += res.duplicate;
    out.outOfBounds += res.outOfBounds;
    if (res.unknownRef === 0) return;
    // Re-resolve refs the storage dropped (e.g. after head truncation) and retry those samples.
    let k = 0;
    for (let i = 0; i < n; i++) {
      if (bStatus[i] !== AppendStatus.UnknownRef) continue;
      const slot = bSlot[i]!;
      let ref: number;
      if (slot < 0) {
        const r = -1 - slot;
        ref = app.ref(this.reportLabels[r]!);
        this.reportRefs[r] = ref;
      } else {
        const labels = this.labelsOfSlot(slot);
        if (labels === null) continue;
        ref = app.ref(labels);
        this.slotRef[slot] = ref;
      }
      bRefs[k] = ref;
      bT[k] = bT[i]!;
      bVBits[k] = bVBits[i]!;
      bSlot[k] = slot;
      k++;
    }
    if (k === 0) return;
    const retry = app.appendBatch(bRefs, bT, bV, k, bStatus);
    out.outOfOrder += retry.outOfOrder;
    out.duplicate += retry.duplicate;
    out.outOfBounds += retry.outOfBounds;
  }

  // ---- report series --------------------------------------------------------

  /** Appends the synthetic report series (`up`, `scrape_duration_seconds`, …) at `ts`. */
  appendReport(app: Appender, ts: number, r: ScrapeReport): void {
    const values = [r.up, r.durationSeconds, r.scraped, r.postRelabel, r.added];
    for (let k = 0; k < REPORT_SERIES.length; k++) {
      bRefs[k] = this.reportRef(app, k);
      bT[k] = ts;
      bV[k] = values[k]!;
      bSlot[k] = -1 - k;
    }
    this.flushBuffered(app, REPORT_SERIES.length, { outOfOrder: 0, duplicate: 0, outOfBounds: 0 });
  }

  /** Appends staleness markers for the report series at `ts` (end of run). */
  appendReportStale(app: Appender, ts: number): void {
    for (let k = 0; k < REPORT_SERIES.length; k++) {
      bRefs[k] = this.reportRef(app, k);
      bT[k] = ts;
      bVBits[k] = STALE_NAN_BITS;
      bSlot[k] = -1 - k;
    }
    this.flushBuffered(app, REPORT_SERIES.length, { outOfOrder: 0, duplicate: 0, outOfBounds: 0 });
  }

  private reportRef(app: Appender, k: number): number {
    let ref = this.reportRefs[k];
    if (ref === undefined) {
      const labels = mergeTargetLabels([{ name: METRIC_NAME, value: REPORT_SERIES[k]! }], this.targetLabels, false);
      ref = app.ref(labels);
      this.reportLabels[k] = labels;
      this.reportRefs[k] = ref;
    }
    return ref;
  }
}

/** Runs a stepwise append to its result without pausing. */
function runNow<T>(steps: Generator<void, T, undefined>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Runs a stepwise append, pausing whenever `job` says the turn's budget is used. */
async function runPaused<T>(steps: Generator<void, T, undefined>, job: ScrapeJob): Promise<T> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (job.due()) await job.pause();
  }
}
