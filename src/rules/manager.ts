/**
 * The rule manager: loads rule files into groups, runs one evaluation loop
 * per group, and on reload keeps what did not change, as Prometheus's
 * rules.Manager does — an identical group keeps running untouched; a changed
 * group is replaced and inherits the alerts and series of rules with the
 * same name and labels; a removed group's series are marked stale two
 * intervals later (giving a renamed group time to take them over).
 */
import { nopLogger, type Logger } from "../log/index.ts";
import { Registry, type Labels } from "../model/index.ts";
import type { Engine, QueryableFn } from "../promql/index.ts";
import type { Appender } from "../tsdb/index.ts";
import { AlertingRule, type Alert, type AlertState } from "./alerting.ts";
import { Group, type GroupDeps, type Rule } from "./group.ts";
import { registerRuleMetrics, removeGroupMetrics, type RuleMetrics } from "./metrics.ts";
import { RecordingRule } from "./recording.ts";
import { formatRuleExpr, loadRuleFiles, type RuleGroupDesc } from "./rulefile.ts";
import type { RuleHealth, SentAlert } from "./types.ts";

/** Dependencies and settings of a {@link RuleManager}; durations in ms. */
export interface RuleManagerOptions {
  engine: Engine;
  queryable: QueryableFn;
  /** A fresh appender for each batch of rule output. */
  appendable: () => Appender;
  logger?: Logger;
  /** Where the prometheus_rule_* metrics go (a private registry when omitted). */
  registry?: Registry;
  /** `global.external_labels`, visible to alert templates as $externalLabels. */
  externalLabels?: Readonly<Record<string, string>>;
  /** `--web.external-url`, for templates and the alerts' generatorURL. */
  externalURL?: string;
  /** Receives alerts due for sending (typically Notifier.send). */
  notify?: (alerts: SentAlert[]) => void;
  /** `--rules.alert.for-outage-tolerance` (default 1h). */
  outageTolerance?: number;
  /** `--rules.alert.for-grace-period` (default 10m). */
  gracePeriod?: number;
  /** `--rules.alert.resend-delay` (default 1m). */
  resendDelay?: number;
  /** Wall clock in ms (default Date.now); timestamps of evaluations derive from it. */
  now?: () => number;
  /** When true no loops run: tests drive evaluations with {@link RuleManager.evaluate}. */
  manual?: boolean;
}

/** Settings of one {@link RuleManager.update}. */
export interface RuleUpdateOptions {
  /** `global.rule_query_offset` for groups without `query_offset` (default 0). */
  queryOffset?: number;
  /** New `global.external_labels`; groups whose templates see them are rebuilt (keeping their state). */
  externalLabels?: Readonly<Record<string, string>>;
  /** New external URL, likewise. */
  externalURL?: string;
}

/**
 * One alert as the API builders see it: a copy of the rule's {@link Alert}
 * taken when the status was read; a resolved alert still retained (it is
 * re-sent as resolved) shows as "inactive".
 */
export type AlertStatus = Alert;

/** An alerting rule's state for the API. */
export interface AlertingRuleStatus {
  type: "alerting";
  name: string;
  query: string;
  /** `for`, ms. */
  duration: number;
  keepFiringFor: number;
  labels: Labels;
  annotations: Labels;
  state: AlertState;
  alerts: AlertStatus[];
  health: RuleHealth;
  lastError: string;
  evaluationTime: number;
  lastEvaluation: number;
}

/** A recording rule's state for the API. */
export interface RecordingRuleStatus {
  type: "recording";
  name: string;
  query: string;
  labels: Labels;
  health: RuleHealth;
  lastError: string;
  evaluationTime: number;
  lastEvaluation: number;
}

/** A group's state for the API; times and durations in ms (0 = never). */
export interface GroupStatus {
  name: string;
  file: string;
  interval: number;
  limit: number;
  queryOffset: number;
  evaluationTime: number;
  lastEvaluation: number;
  rules: (AlertingRuleStatus | RecordingRuleStatus)[];
}

function pairs(rec: Readonly<Record<string, string>>): Labels {
  return Object.keys(rec).sort().map((name) => ({ name, value: rec[name]! }));
}

/** See the module comment. */
export class RuleManager {
  private readonly opts: Required<Omit<RuleManagerOptions, "registry" | "manual">> & { manual: boolean };
  private readonly metrics: RuleMetrics;
  private current = new Map<string, Group>();
  /** False until the first update: the first groups restore `for` state. */
  private restoredOnce = false;
  private stopped = false;
  private readonly staleTimers = new Set<ReturnType<typeof setTimeout>>();
  private updating: Promise<void> = Promise.resolve();

  constructor(opts: RuleManagerOptions) {
    this.opts = {
      engine: opts.engine,
      queryable: opts.queryable,
      appendable: opts.appendable,
      logger: (opts.logger ?? nopLogger).with({ component: "rule manager" }),
      externalLabels: opts.externalLabels ?? {},
      externalURL: opts.externalURL ?? "",
      notify: opts.notify ?? (() => {}),
      outageTolerance: opts.outageTolerance ?? 3_600_000,
      gracePeriod: opts.gracePeriod ?? 600_000,
      resendDelay: opts.resendDelay ?? 60_000,
      now: opts.now ?? Date.now,
      manual: opts.manual ?? false,
    };
    this.metrics = registerRuleMetrics(opts.registry ?? new Registry());
  }

  /**
   * Loads `files` (globs allowed) and makes the running groups match them.
   * Throws the rule files' errors (RuleFileErrors) without changing
   * anything, as a failed Prometheus reload keeps the old rules.
   *
   * @example await manager.update(config.rule_files, config.global.evaluation_interval, { queryOffset: config.global.rule_query_offset });
   */
  async update(files: readonly string[], evaluationInterval: number, opts: RuleUpdateOptions = {}): Promise<void> {
    const descs = loadRuleFiles(files);
    const run = this.updating.then(() => {
      if (opts.externalLabels) this.opts.externalLabels = opts.externalLabels;
      if (opts.externalURL !== undefined) this.opts.externalURL = opts.externalURL;
      return this.apply(descs, evaluationInterval, opts.queryOffset ?? 0);
    });
    this.updating = run.catch(() => {});
    return run;
  }

  private async apply(descs: RuleGroupDesc[], evaluationInterval: number, defaultOffset: number): Promise<void> {
    if (this.stopped) throw new Error("rule manager is stopped");
    const deps: GroupDeps = { ...this.opts, metrics: this.metrics };
    const next = new Map<string, Group>();
    const toStart: Group[] = [];
    for (const d of descs) {
      const g = this.buildGroup(d, evaluationInterval, defaultOffset, deps);
      const old = this.current.get(g.key);
      this.current.delete(g.key);
      if (old && old.settings.fingerprint === g.settings.fingerprint) {
        next.set(g.key, old);
        continue;
      }
      if (old) {
        await old.stop();
        g.copyState(old);
      }
      next.set(g.key, g);
      toStart.push(g);
    }
    for (const [key, old] of this.current) {
      await old.stop();
      removeGroupMetrics(this.metrics, key);
      const series = old.takeAllSeries();
      const at = this.opts.now();
      if (series.length === 0) continue;
      const timer = setTimeout(() => {
        this.staleTimers.delete(timer);
        old.markStale(series, at);
      }, 2 * old.settings.interval);
      this.staleTimers.add(timer);
    }
    this.current = next;
    this.restoredOnce = true;
    if (!this.opts.manual) for (const g of toStart) g.start();
  }

  private buildGroup(d: RuleGroupDesc, evaluationInterval: number, defaultOffset: number, deps: GroupDeps): Group {
    const interval = d.interval || evaluationInterval;
    const queryOffset = d.query_offset ?? defaultOffset;
    const rules: Rule[] = [];
    const fingerprintRules: unknown[] = [];
    for (const r of d.rules) {
      const labels = pairs({ ...d.labels, ...r.labels });
      const text = formatRuleExpr(r.expr);
      if (r.alert !== "") {
        const annotations = pairs(r.annotations);
        rules.push(new AlertingRule(
          { name: r.alert, query: text, holdDuration: r.for, keepFiringFor: r.keep_firing_for, labels, annotations },
          this.restoredOnce,
          this.opts.logger,
        ));
      } else {
        rules.push(new RecordingRule({ name: r.record, query: text, labels }));
      }
      fingerprintRules.push([r.record, r.alert, text, r.for, r.keep_firing_for, labels, pairs(r.annotations)]);
    }
    const fingerprint = JSON.stringify([interval, queryOffset, d.limit, fingerprintRules, pairs(this.opts.externalLabels), this.opts.externalURL]);
    return new Group({ name: d.name, file: d.file, interval, queryOffset, limit: d.limit, fingerprint }, rules, deps, !this.restoredOnce);
  }

  /**
   * Runs one iteration of every group at `ts` (ms), in file/name order —
   * what the loops do at each tick. For `manual` managers (tests, tools).
   */
  async evaluate(ts: number): Promise<void> {
    for (const g of this.sortedGroups()) await g.runIteration(ts);
  }

  /** Stops every group loop and drops pending staleness markers of removed groups. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.updating;
    for (const t of this.staleTimers) clearTimeout(t);
    this.staleTimers.clear();
    await Promise.all([...this.current.values()].map((g) => g.stop()));
  }

  private sortedGroups(): Group[] {
    return [...this.current.values()].sort((a, b) => (a.file !== b.file ? (a.file < b.file ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The groups' current state, sorted by file then name, for rulesAPIData / alertsAPIData. */
  groups(): GroupStatus[] {
    return this.sortedGroups().map((g) => ({
      name: g.name,
      file: g.file,
      interval: g.settings.interval,
      limit: g.settings.limit,
      queryOffset: g.settings.queryOffset,
      evaluationTime: g.evaluationTime,
      lastEvaluation: g.lastEvaluation,
      rules: g.rules.map((r) => ruleStatus(r)),
    }));
  }
}

function ruleStatus(r: Rule): AlertingRuleStatus | RecordingRuleStatus {
  const common = { name: r.name, query: r.spec.query, labels: r.spec.labels, health: r.health, lastError: r.lastError, evaluationTime: r.evaluationTime, lastEvaluation: r.lastEvaluation };
  if (r instanceof RecordingRule) return { type: "recording", ...common };
  return {
    type: "alerting",
    ...common,
    duration: r.spec.holdDuration,
    keepFiringFor: r.spec.keepFiringFor,
    annotations: r.spec.annotations,
    state: r.state(),
    alerts: [...r.active.values()].map((a) => ({ ...a })),
  };
}
