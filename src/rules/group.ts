/**
 * A rule group: its rules evaluated in order at every interval, results
 * written to storage, series that disappear marked stale, alerts handed to
 * the notifier, `for` state restored after a restart. The timing follows
 * Prometheus: evaluation timestamps are aligned to the interval plus an
 * offset from the hash of the group's file and name, and iterations that
 * could not start on time are counted as missed.
 */
import type { Logger } from "../log/index.ts";
import { labelsKey, newMatcher, type Labels } from "../model/index.ts";
import { isStaleAt, type Engine, type QueryableFn } from "../promql/index.ts";
import { STALE_NAN_BITS, type Appender, type Querier } from "../tsdb/index.ts";
import { AlertingRule } from "./alerting.ts";
import { groupEvalTimestamp, groupHash } from "./hash.ts";
import { groupKey, type RuleMetrics } from "./metrics.ts";
import type { RecordingRule } from "./recording.ts";
import type { EvalContext, OutputSample, RuleQueryFunc, SentAlert } from "./types.ts";

/** Either kind of rule. */
export type Rule = AlertingRule | RecordingRule;

/** What every group of a manager shares. */
export interface GroupDeps {
  engine: Engine;
  queryable: QueryableFn;
  appendable: () => Appender;
  logger: Logger;
  metrics: RuleMetrics;
  externalLabels: Readonly<Record<string, string>>;
  externalURL: string;
  notify: (alerts: SentAlert[]) => void;
  outageTolerance: number;
  gracePeriod: number;
  resendDelay: number;
  now: () => number;
}

/** A group's settings after defaults (all durations in ms). */
export interface GroupSettings {
  name: string;
  file: string;
  interval: number;
  queryOffset: number;
  limit: number;
  /** Equal for groups whose definitions are the same (a reload keeps such a group running untouched). */
  fingerprint: string;
}

/**
 * Go's url.QueryEscape: everything but letters, digits and `-_.~` is
 * percent-encoded, spaces become `+`.
 */
export function goQueryEscape(s: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (byte === 0x20) out += "+";
    else out += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/** Prometheus's generator URL of an alert: the rule expression in the table view. */
export function generatorURL(externalURL: string, expr: string): string {
  return `${externalURL}/graph?g0.expr=${goQueryEscape(expr)}&g0.tab=1`;
}

/** Prometheus's texts for the AppendStatus codes. */
const APPEND_ERRORS: Record<number, string> = {
  1: "out of order sample",
  2: "duplicate sample for timestamp",
  3: "out of bounds",
  4: "unknown series ref",
};

function staleValues(n: number): { v: Float64Array; bits: BigUint64Array } {
  const buf = new ArrayBuffer(n * 8);
  return { v: new Float64Array(buf), bits: new BigUint64Array(buf) };
}

/** See the module comment. */
export class Group {
  readonly key: string;
  readonly hash: bigint;
  /** Series each rule wrote in its last successful evaluation, by labels key. */
  seriesInPreviousEval: Map<string, Labels>[];
  /** Series of removed or renamed rules still to be marked stale. */
  staleSeries: Labels[] = [];
  /** Set on the first load after start: restore `for` state after the second iteration. */
  shouldRestore: boolean;
  iterations = 0;
  /** Wall time (ms) the last iteration started; 0 when never. */
  lastEvaluation = 0;
  /** Duration of the last iteration (ms). */
  evaluationTime = 0;
  /** The scheduled timestamp of the last iteration (ms); 0 when never. */
  lastEvalTimestamp = 0;
  private stopped = false;
  /** Aborted by stop(): a running evaluation's queries end at once instead of delaying shutdown or reload. */
  private readonly stopping = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;

  constructor(
    readonly settings: GroupSettings,
    readonly rules: Rule[],
    private readonly deps: GroupDeps,
    shouldRestore: boolean,
  ) {
    this.key = groupKey(settings.file, settings.name);
    this.hash = groupHash(settings.file, settings.name);
    this.seriesInPreviousEval = rules.map(() => new Map());
    this.shouldRestore = shouldRestore;
    deps.metrics.interval.get([this.key]).set(settings.interval / 1000);
    deps.metrics.groupRules.get([this.key]).set(rules.length);
    deps.metrics.iterationsTotal.get([this.key]);
    deps.metrics.iterationsMissed.get([this.key]);
    deps.metrics.evalTotal.get([this.key]);
    deps.metrics.evalFailures.get([this.key]);
  }

  get name(): string {
    return this.settings.name;
  }

  get file(): string {
    return this.settings.file;
  }

  /** The evaluation slot at or before `nowMs` for this group. */
  evalTimestamp(nowMs: number): number {
    return groupEvalTimestamp(this.hash, this.settings.interval, nowMs);
  }

  /**
   * Takes over the state of the group this one replaces on reload: rules
   * match by name and labels (duplicates in order); alerts and the series
   * written last time carry over, series of rules that are gone will be
   * marked stale at the next evaluation.
   */
  copyState(from: Group): void {
    this.evaluationTime = from.evaluationTime;
    this.lastEvaluation = from.lastEvaluation;
    this.lastEvalTimestamp = from.lastEvalTimestamp;
    const byIdentity = new Map<string, number[]>();
    from.rules.forEach((r, i) => {
      const list = byIdentity.get(r.identity()) ?? [];
      list.push(i);
      byIdentity.set(r.identity(), list);
    });
    this.rules.forEach((rule, i) => {
      const list = byIdentity.get(rule.identity());
      if (!list || list.length === 0) return;
      const fi = list.shift()!;
      this.seriesInPreviousEval[i] = from.seriesInPreviousEval[fi]!;
      const old = from.rules[fi]!;
      if (rule instanceof AlertingRule && old instanceof AlertingRule) {
        for (const [k, a] of old.active) rule.active.set(k, a);
      }
      rule.health = old.health;
      rule.lastError = old.lastError;
      rule.lastEvaluation = old.lastEvaluation;
      rule.evaluationTime = old.evaluationTime;
    });
    this.staleSeries = [...from.staleSeries];
    for (const list of byIdentity.values()) {
      for (const fi of list) this.staleSeries.push(...from.seriesInPreviousEval[fi]!.values());
    }
  }

  /** Every series this group wrote last time, to mark stale when the group goes away. */
  takeAllSeries(): Labels[] {
    const out = [...this.staleSeries];
    for (const m of this.seriesInPreviousEval) out.push(...m.values());
    this.staleSeries = [];
    this.seriesInPreviousEval = this.rules.map(() => new Map());
    return out;
  }

  /** Starts the evaluation loop (first evaluation at the group's next slot). */
  start(): void {
    this.running = this.loop();
  }

  /** Stops the loop and waits for a running iteration to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    await this.running;
  }

  /** Sleeps until the clock reaches `ms` (timers may fire early) or the group stops. */
  private async sleepUntil(ms: number): Promise<void> {
    while (!this.stopped && this.deps.now() < ms) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, Math.max(1, ms - this.deps.now()));
      });
    }
  }

  private async loop(): Promise<void> {
    const interval = this.settings.interval;
    let evalTs = this.evalTimestamp(this.deps.now()) + interval;
    await this.sleepUntil(evalTs);
    while (!this.stopped) {
      try {
        await this.runIteration(evalTs);
      } catch (e) {
        this.deps.logger.error("Rule group evaluation failed", { group: this.name, file: this.file, err: (e as Error).message });
      }
      await this.sleepUntil(evalTs + interval);
      if (this.stopped) break;
      const missed = Math.floor((this.deps.now() - evalTs) / interval) - 1;
      if (missed > 0) {
        this.deps.metrics.iterationsMissed.get([this.key]).inc(missed);
        this.deps.metrics.iterationsTotal.get([this.key]).inc(missed);
      }
      evalTs += (Math.max(0, missed) + 1) * interval;
    }
  }

  /**
   * One scheduled iteration at `evalTs` (ms): evaluates all rules, records
   * timings, and after the second iteration of a fresh start restores the
   * alerts' `for` state. The loop calls this; tests may call it directly.
   */
  async runIteration(evalTs: number): Promise<void> {
    this.deps.metrics.iterationsTotal.get([this.key]).inc();
    const start = this.deps.now();
    const t0 = performance.now();
    await this.eval(evalTs);
    const took = performance.now() - t0;
    this.deps.metrics.groupDuration.observe(took / 1000);
    this.deps.metrics.lastDuration.get([this.key]).set(took / 1000);
    this.deps.metrics.lastEvalTimestamp.get([this.key]).set(evalTs / 1000);
    this.evaluationTime = took;
    this.lastEvaluation = start;
    this.lastEvalTimestamp = evalTs;
    this.iterations++;
    if (this.shouldRestore && this.iterations >= 2) {
      this.shouldRestore = false;
      try {
        await this.restoreForState(this.deps.now());
      } catch (e) {
        this.deps.logger.error("Failed to restore 'for' state", { group: this.name, err: (e as Error).message });
        for (const r of this.rules) if (r instanceof AlertingRule) r.restored = true;
      }
    }
  }

  private queryFunc(): RuleQueryFunc {
    const { engine, queryable } = this.deps;
    return async (query, t) => {
      const res = await engine.instantQuery(queryable, query, t, { signal: this.stopping.signal });
      if (res.value.type === "vector") return res.value.samples.map((s) => ({ metric: s.metric, t: s.t, v: s.v }));
      if (res.value.type === "scalar") return [{ metric: [], t: res.value.t, v: res.value.v }];
      throw new Error("rule result is not a vector or scalar");
    };
  }

  /** Evaluates every rule once at `ts` (ms), in order; each rule sees what earlier rules just wrote. */
  async eval(ts: number): Promise<void> {
    const query = this.queryFunc();
    const ctx: EvalContext = {
      query,
      templateQuery: (t) => async (q) => (await query(q, t)).map((s) => ({ labels: Object.fromEntries(s.metric.map((l) => [l.name, l.value])), value: s.v })),
      queryOffset: this.settings.queryOffset,
      limit: this.settings.limit,
      externalLabels: this.deps.externalLabels,
      externalURL: this.deps.externalURL,
    };
    let samplesTotal = 0;
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i]!;
      this.deps.metrics.evalTotal.get([this.key]).inc();
      const wallStart = this.deps.now();
      const t0 = performance.now();
      let out: OutputSample[];
      try {
        out = await rule.eval(ts, ctx);
      } catch (e) {
        rule.health = "err";
        rule.lastError = (e as Error).message;
        rule.lastEvaluation = wallStart;
        rule.evaluationTime = performance.now() - t0;
        this.deps.metrics.evalFailures.get([this.key]).inc();
        this.deps.logger.warn("Evaluating rule failed", { rule: rule.name, group: this.name, err: (e as Error).message });
        continue;
      }
      rule.health = "ok";
      rule.lastError = "";
      samplesTotal += out.length;
      if (rule instanceof AlertingRule) {
        const alerts = rule.alertsToSend(ts, this.deps.resendDelay, this.settings.interval, generatorURL(this.deps.externalURL, rule.spec.query));
        if (alerts.length > 0) this.deps.notify(alerts);
      }
      this.appendRuleOutput(i, rule, out, ts - this.settings.queryOffset);
      rule.lastEvaluation = wallStart;
      rule.evaluationTime = performance.now() - t0;
    }
    this.deps.metrics.lastSamples.get([this.key]).set(samplesTotal);
    this.markStale(this.staleSeries, ts - this.settings.queryOffset);
    this.staleSeries = [];
  }

  /** Writes a rule's samples plus stale markers for its vanished series in one batch. */
  private appendRuleOutput(i: number, rule: Rule, out: OutputSample[], staleTs: number): void {
    const previous = this.seriesInPreviousEval[i]!;
    const current = new Map<string, Labels>();
    const keys = out.map((s) => labelsKey(s.metric));
    const vanished: Labels[] = [];
    const outKeys = new Set(keys);
    for (const [k, ls] of previous) if (!outKeys.has(k)) vanished.push(ls);
    const n = out.length + vanished.length;
    if (n === 0) {
      this.seriesInPreviousEval[i] = current;
      return;
    }
    const app = this.deps.appendable();
    const refs = new Uint32Array(n);
    const t = new Float64Array(n);
    const { v, bits } = staleValues(n);
    out.forEach((s, j) => {
      refs[j] = app.ref(s.metric);
      t[j] = s.t;
      v[j] = s.v;
    });
    vanished.forEach((ls, j) => {
      const at = out.length + j;
      refs[at] = app.ref(ls);
      t[at] = staleTs;
      bits[at] = STALE_NAN_BITS;
    });
    const status = new Uint8Array(n);
    app.appendBatch(refs, t, v, n, status);
    out.forEach((s, j) => {
      if (status[j] === 0) current.set(keys[j]!, s.metric);
    });
    const bad = out.findIndex((_, j) => status[j] !== 0);
    if (bad >= 0) {
      const reason = APPEND_ERRORS[status[bad]!] ?? "append failed";
      rule.health = "err";
      rule.lastError = reason;
      this.deps.logger.warn("Error on ingesting results from rule evaluation", { rule: rule.name, group: this.name, err: reason });
    }
    this.seriesInPreviousEval[i] = current;
  }

  /** Appends staleness markers for `series` at `ts`. */
  markStale(series: readonly Labels[], ts: number): void {
    const n = series.length;
    if (n === 0) return;
    const app = this.deps.appendable();
    const refs = new Uint32Array(n);
    const t = new Float64Array(n).fill(ts);
    const { v, bits } = staleValues(n);
    series.forEach((ls, j) => {
      refs[j] = app.ref(ls);
      bits[j] = STALE_NAN_BITS;
    });
    app.appendBatch(refs, t, v, n);
  }

  /**
   * Restores `ActiveAt` of alerts from their ALERTS_FOR_STATE series after a
   * restart, as Prometheus's RestoreForState: only series with a sample in
   * the outage-tolerance window count; an alert that had time left pending
   * gets that time back (at least the grace period); rules whose `for` is
   * shorter than the grace period are not restored.
   */
  async restoreForState(ts: number): Promise<void> {
    const { outageTolerance, gracePeriod } = this.deps;
    const querier = this.deps.queryable(ts - outageTolerance, ts);
    try {
      await this.restoreWith(querier, ts);
    } finally {
      querier.close();
    }
  }

  private async restoreWith(querier: Querier, ts: number): Promise<void> {
    const { outageTolerance, gracePeriod } = this.deps;
    for (const rule of this.rules) {
      if (!(rule instanceof AlertingRule)) continue;
      const hold = rule.spec.holdDuration;
      if (hold < gracePeriod) {
        rule.restored = true;
        continue;
      }
      for (const a of rule.active.values()) {
        const want = rule.forStateSeriesLabels(a);
        const matchers = want.map((l) => newMatcher("=", l.name, l.value));
        const series = (await querier.select(matchers, ts - outageTolerance, ts)).find((s) => s.labels.length === want.length);
        if (!series) continue;
        const b = series.samples();
        if (b.length === 0 || isStaleAt(b.v, b.length - 1)) continue;
        const downAt = Math.floor(b.t[b.length - 1]! / 1000) * 1000;
        let activeAt = b.v[b.length - 1]! * 1000;
        const remaining = hold - (downAt - activeAt);
        // remaining <= 0: it was firing when the server went down and fires again at the next evaluation.
        if (remaining > 0) activeAt = remaining < gracePeriod ? ts + gracePeriod - hold : activeAt + (ts - downAt);
        a.activeAt = activeAt;
        this.deps.logger.debug("'for' state restored", { alertname: rule.name, restored_time: new Date(activeAt).toISOString() });
      }
      rule.restored = true;
    }
  }
}
