/**
 * The notifier: a bounded queue of alerts and a loop that posts them in
 * batches of at most 64 to every Alertmanager of every configured set (no
 * load balancing: each Alertmanager gets each alert), as Prometheus's
 * notifier.Manager does.
 *
 * Besides the configured sets, alerts go to the Alertmanagers of the
 * cluster this server's built-in Alertmanager is a member of
 * ({@link Notifier.setClusterAlertmanagers}, fed from membership): each
 * gets each alert once, even when a configured set lists it too.
 *
 * `send` adds the external labels (without overriding an alert's own),
 * applies `alert_relabel_configs`, and queues; when the queue is full the
 * oldest alerts are dropped. A batch that reaches no Alertmanager at all
 * counts as dropped. Each set may relabel alerts again with its own
 * `alert_relabel_configs`.
 */
import { parseConfig, type AlertingConfig, type AlertmanagerConfig } from "../config/index.ts";
import { DiscoveryManager, sdConfigsOf, sdRequestInit, type TargetGroup } from "../discovery/index.ts";
import { nopLogger, type Logger } from "../log/index.ts";
import { labelsToRecord, Registry, relabel, type Labels, type RelabelRule } from "../model/index.ts";
import { toPostableAlerts, type Alert } from "./alert.ts";
import { resolveAlertmanagers, staticGroups, type AMTargetGroup } from "./alertmanagers.ts";

/** Most alerts per POST, as Prometheus's maxBatchSize. */
export const MAX_BATCH_SIZE = 64;

/** Dependencies and settings of a {@link Notifier}. */
export interface NotifierOptions {
  logger?: Logger;
  /** Where the prometheus_notifications_* metrics go (a private registry when omitted). */
  registry?: Registry;
  /** `--alertmanager.notification-queue-capacity` (default 10000). */
  queueCapacity?: number;
  /** `global.external_labels`; replaced by {@link Notifier.applyConfig} when it is given some. */
  externalLabels?: Readonly<Record<string, string>>;
  /** `alerting.alert_relabel_configs`; replaced by {@link Notifier.applyConfig}. */
  alertRelabelConfigs?: readonly RelabelRule[];
  /** Replaces global fetch (tests). */
  fetch?: typeof fetch;
  /** How long {@link Notifier.stop} keeps sending queued alerts (default 5s). */
  drainTimeoutMs?: number;
  /** Batching period of Alertmanager service discovery (default 5s, as Prometheus). */
  discoveryUpdateIntervalMs?: number;
}

/** `/api/v1/alertmanagers` data. */
export interface AlertmanagersData {
  activeAlertmanagers: { url: string }[];
  droppedAlertmanagers: { url: string }[];
}

interface AMSet {
  cfg: AlertmanagerConfig;
  /** Target groups by source ("static/0", "file_sd/0:…"). */
  groups: Map<string, AMTargetGroup>;
  active: string[];
  dropped: string[];
}

/** See the module comment. */
export class Notifier {
  private readonly logger: Logger;
  private readonly capacity: number;
  private readonly fetchImpl: typeof fetch;
  private readonly drainTimeoutMs: number;
  private readonly discoveryIntervalMs: number;
  private externalLabels: Readonly<Record<string, string>>;
  private relabelConfigs: readonly RelabelRule[];
  private queue: Alert[] = [];
  private sets = new Map<string, AMSet>();
  /** Alertmanager URLs learnt from cluster membership (see setClusterAlertmanagers). */
  private clusterSet: AMSet = { cfg: clusterAlertmanagerConfig(), groups: new Map(), active: [], dropped: [] };
  private discovery: DiscoveryManager | undefined;
  private readonly registry: Registry;
  private stopped = false;
  private wake: (() => void) | undefined;
  private readonly loopDone: Promise<void>;
  private readonly metrics: {
    sent: ReturnType<Registry["counterVec"]>;
    errors: ReturnType<Registry["counterVec"]>;
    latency: ReturnType<Registry["histogramVec"]>;
    dropped: ReturnType<Registry["counter"]>;
  };

  constructor(opts: NotifierOptions = {}) {
    this.logger = (opts.logger ?? nopLogger).with({ component: "notifier" });
    this.capacity = opts.queueCapacity ?? 10_000;
    this.fetchImpl = opts.fetch ?? fetch;
    this.drainTimeoutMs = opts.drainTimeoutMs ?? 5000;
    this.discoveryIntervalMs = opts.discoveryUpdateIntervalMs ?? 5000;
    this.externalLabels = opts.externalLabels ?? {};
    this.relabelConfigs = opts.alertRelabelConfigs ?? [];
    this.registry = opts.registry ?? new Registry();
    const r = this.registry;
    const am = ["alertmanager"];
    this.metrics = {
      latency: r.histogramVec("prometheus_notifications_latency_seconds", "Latency quantiles for sending alert notifications.", am),
      errors: r.counterVec("prometheus_notifications_errors_total", "Total number of sent alerts affected by errors.", am),
      sent: r.counterVec("prometheus_notifications_sent_total", "Total number of alerts sent.", am),
      dropped: r.counter("prometheus_notifications_dropped_total", "Total number of alerts dropped due to errors when sending to Alertmanager."),
    };
    r.gaugeFunc("prometheus_notifications_queue_length", "The number of alert notifications in the queue.", () => this.queue.length);
    r.gaugeFunc("prometheus_notifications_queue_capacity", "The capacity of the alert notifications queue.", () => this.capacity);
    r.gaugeFunc("prometheus_notifications_alertmanagers_discovered", "The number of alertmanagers discovered and active.", () => this.activeURLs().length);
    this.loopDone = this.loop();
  }

  /**
   * Applies the `alerting` section: the Alertmanager sets (static targets
   * now, discovered ones as discovery reports them) and the alert relabel
   * rules. `externalLabels` replaces the external labels when given.
   */
  applyConfig(alerting: AlertingConfig, externalLabels?: Readonly<Record<string, string>>): void {
    if (externalLabels) this.externalLabels = externalLabels;
    this.relabelConfigs = alerting.alert_relabel_configs ?? [];
    const sets = new Map<string, AMSet>();
    alerting.alertmanagers.forEach((cfg, i) => {
      const key = `config-${i}`;
      const groups = new Map<string, AMTargetGroup>();
      const old = this.sets.get(key);
      if (old) for (const [src, g] of old.groups) if (!src.startsWith("static/")) groups.set(src, g);
      for (const g of staticGroups(cfg)) groups.set(`static/${g.source}`, g);
      const set: AMSet = { cfg, groups, active: [], dropped: [] };
      this.resolve(set);
      sets.set(key, set);
    });
    this.sets = sets;
    const jobs = alerting.alertmanagers.map((cfg, i) => ({ name: `config-${i}`, configs: sdConfigsOf(cfg) }));
    const dynamic = jobs.some((j) => Object.values(j.configs).some((list) => (list as unknown[]).length > 0));
    if (dynamic || this.discovery) {
      this.discovery ??= new DiscoveryManager({
        logger: this.logger,
        registry: this.registry,
        name: "notify",
        updateIntervalMs: this.discoveryIntervalMs,
        onUpdate: (job, groups) => this.onDiscovered(job, groups),
      });
      this.discovery.applyConfig(jobs);
    }
  }

  private onDiscovered(job: string, groups: TargetGroup[]): void {
    const set = this.sets.get(job);
    if (!set) return;
    for (const g of groups) {
      if (g.targets.length === 0) set.groups.delete(g.source);
      else set.groups.set(g.source, g);
    }
    this.resolve(set);
  }

  private resolve(set: AMSet): void {
    try {
      const r = resolveAlertmanagers(set.groups.values(), set.cfg);
      set.active = r.active;
      set.dropped = r.dropped;
    } catch (e) {
      this.logger.error("Cannot resolve Alertmanagers", { err: (e as Error).message });
    }
  }

  /**
   * Sets the Alertmanager base URLs learnt from cluster membership (e.g.
   * `http://10.0.0.2:9090`); alerts go to `<url>/api/v2/alerts` of each,
   * unless a configured set already sends there. Replaces the previous list.
   */
  setClusterAlertmanagers(baseURLs: readonly string[]): void {
    const urls = [...new Set(baseURLs.map((u) => `${u.replace(/\/+$/, "")}/api/v2/alerts`))].sort();
    this.clusterSet = { ...this.clusterSet, active: urls };
  }

  /** The sets alerts go to: the configured ones, then the cluster's Alertmanagers not already among them. */
  private allSets(): AMSet[] {
    const sets = [...this.sets.values()];
    if (this.clusterSet.active.length === 0) return sets;
    const configured = new Set(sets.flatMap((s) => s.active));
    const active = this.clusterSet.active.filter((u) => !configured.has(u));
    return active.length > 0 ? [...sets, { ...this.clusterSet, active }] : sets;
  }

  /** Every Alertmanager URL alerts go to, across all sets. */
  private activeURLs(): string[] {
    return this.allSets().flatMap((s) => s.active);
  }

  /** `/api/v1/alertmanagers` data. */
  alertmanagers(): AlertmanagersData {
    const sets = this.allSets();
    return {
      activeAlertmanagers: sets.flatMap((s) => s.active).map((url) => ({ url })),
      droppedAlertmanagers: sets.flatMap((s) => s.dropped).map((url) => ({ url })),
    };
  }

  /** Number of alerts waiting to be sent. */
  queueLength(): number {
    return this.queue.length;
  }

  /**
   * Queues alerts for every Alertmanager after adding external labels and
   * applying alert_relabel_configs (alerts relabeled away are not queued).
   */
  send(alerts: readonly Alert[]): void {
    let batch = relabelAlerts(alerts, this.relabelConfigs, this.externalLabels);
    if (batch.length === 0) return;
    const over = batch.length - this.capacity;
    if (over > 0) {
      batch = batch.slice(over);
      this.logger.warn("Alert batch larger than queue capacity, dropping alerts", { num_dropped: over });
      this.metrics.dropped.inc(over);
    }
    const full = this.queue.length + batch.length - this.capacity;
    if (full > 0) {
      this.queue = this.queue.slice(full);
      this.logger.warn("Alert notification queue full, dropping alerts", { num_dropped: full });
      this.metrics.dropped.inc(full);
    }
    this.queue.push(...batch);
    this.wake?.();
  }

  private async loop(): Promise<void> {
    for (;;) {
      if (this.queue.length === 0 && !this.stopped) await new Promise<void>((resolve) => (this.wake = resolve));
      if (this.stopped) return;
      await this.sendBatch(this.queue.splice(0, MAX_BATCH_SIZE));
    }
  }

  /** Sends one batch; counts it as dropped when no Alertmanager accepted it. */
  private async sendBatch(batch: Alert[]): Promise<void> {
    try {
      if (!(await this.sendAll(batch))) this.metrics.dropped.inc(batch.length);
    } catch (e) {
      this.logger.error("Error sending alerts", { count: batch.length, err: (e as Error).message });
      this.metrics.dropped.inc(batch.length);
    }
  }

  /** Posts one batch to every Alertmanager; true when at least one accepted it. */
  private async sendAll(alerts: Alert[]): Promise<boolean> {
    if (alerts.length === 0) return true;
    const begin = performance.now();
    const sends: Promise<boolean>[] = [];
    for (const set of this.allSets()) {
      if (set.active.length === 0) continue;
      const setRelabel = (set.cfg.alert_relabel_configs ?? []) as readonly RelabelRule[];
      const own = setRelabel.length > 0 ? relabelAlerts(alerts, setRelabel, {}) : alerts;
      if (own.length === 0) continue;
      const body = JSON.stringify(toPostableAlerts(own));
      for (const url of set.active) {
        sends.push(this.sendOne(set.cfg, url, body).then(
          () => true,
          (e: Error) => {
            this.logger.error("Error sending alert", { alertmanager: url, count: own.length, err: e.message });
            this.metrics.errors.get([url]).inc(own.length);
            return false;
          },
        ).then((ok) => {
          this.metrics.latency.get([url]).observe((performance.now() - begin) / 1000);
          this.metrics.sent.get([url]).inc(own.length);
          return ok;
        }));
      }
    }
    const results = await Promise.all(sends);
    return results.some((ok) => ok);
  }

  private async sendOne(cfg: AlertmanagerConfig, url: string, body: string): Promise<void> {
    const signal = AbortSignal.timeout(cfg.timeout || 10_000);
    const init = sdRequestInit(cfg, { "Content-Type": "application/json", "User-Agent": "promts" }, signal);
    const res = await this.fetchImpl(url, { ...init, method: "POST", body });
    await res.arrayBuffer().catch(() => undefined);
    if (res.status < 200 || res.status > 299) throw new Error(`bad response status ${res.status} ${res.statusText}`.trimEnd());
  }

  /**
   * Stops the send loop and discovery, then keeps sending what is queued
   * for at most the drain timeout; whatever is left is dropped.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wake?.();
    await this.loopDone;
    await this.discovery?.stop();
    const deadline = performance.now() + this.drainTimeoutMs;
    while (this.queue.length > 0 && performance.now() < deadline) {
      await this.sendBatch(this.queue.splice(0, MAX_BATCH_SIZE));
    }
    if (this.queue.length > 0) {
      this.metrics.dropped.inc(this.queue.length);
      this.queue = [];
    }
  }
}

/**
 * Adds external labels an alert does not have, then applies relabel rules;
 * alerts relabeled to nothing are left out. Annotations and times are kept.
 */
export function relabelAlerts(alerts: readonly Alert[], rules: readonly RelabelRule[], externalLabels: Readonly<Record<string, string>>): Alert[] {
  const out: Alert[] = [];
  const extra = Object.entries(externalLabels);
  for (const a of alerts) {
    let labels: Labels = a.labels;
    if (extra.length > 0) {
      const rec = labelsToRecord(a.labels);
      for (const [n, v] of extra) if (!rec[n]) rec[n] = v;
      labels = Object.keys(rec).sort().filter((n) => rec[n] !== "").map((name) => ({ name, value: rec[name]! }));
    }
    const kept = relabel(labels, rules);
    if (kept === null) continue;
    out.push({ ...a, labels: kept });
  }
  return out;
}

/** The settings alerts to cluster members' Alertmanagers are sent with: an `alertmanagers` entry's defaults (API v2, 10s timeout). */
function clusterAlertmanagerConfig(): AlertmanagerConfig {
  return parseConfig("alerting:\n  alertmanagers:\n    - static_configs: []\n", "<cluster alertmanagers>").config.alerting.alertmanagers[0]!;
}
