/**
 * The Alertmanager: the alert store, the dispatcher, inhibition, silences,
 * the notification log and the receivers' pipelines, wired together for
 * one configuration, plus the operations the HTTP API and the cluster
 * layer need. Time comes from an injectable {@link Clock}, so tests drive
 * group_wait, group_interval and repeat_interval with a manual clock.
 *
 * Silences and notification-log entries are written to `storagePath`
 * (files `silences` and `nflog`) before the calls that change them
 * return, and read back on construction.
 *
 * Given a cluster peer (`cluster`), silences, the notification log and
 * alerts replicate to the other members (see replication.ts), and the
 * notification pipeline waits for the cluster to settle, staggers by the
 * peer's position and holds while the node is on the minority side of a
 * partition (`minorityHold`).
 *
 * @example
 * const am = new Alertmanager({ config, storagePath: "data", externalURL: "http://am:9093" });
 * am.putAlerts([{ labels: labelsFromRecord({ alertname: "Down" }) }]);
 * await am.stop();
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { ClusterPeer } from "../cluster/index.ts";
import type { AlertmanagerConfigFile } from "../config/index.ts";
import { nopLogger, type Logger } from "../log/index.ts";
import { Registry, type Counter, type Gauge, type Matcher, type RE2Regexp } from "../model/index.ts";
import { AlertStore, normalizeAlert, validateAlert, type PostableAlert } from "./alerts.ts";
import { systemClock, type Clock, type Timer } from "./clock.ts";
import { Dispatcher, type AlertGroup, type GroupInfo } from "./dispatch.ts";
import { Inhibitor } from "./inhibit.ts";
import { matchesAll } from "../model/index.ts";
import { NotificationLog } from "./nflog.ts";
import {
  dedupStage, inhibitStage, MinorityHold, minorityHoldStage, recordStage, refreshStage, retryStage, runReceiverPipeline, settleStage,
  silenceStage, timeIntervalStage, waitStage, type NotifyContext, type ReceiverPipeline, type RetryObserver,
} from "./pipeline.ts";
import { AlertmanagerReplication } from "./replication.ts";
import { buildRouteTree, type Route } from "./route.ts";
import { Silences, silenceState, type PostableSilence, type Silence, type SilenceState } from "./silences.ts";
import { parseTimeInterval, type TimeInterval } from "../model/index.ts";
import { fingerprint, isResolved, type Alert } from "./types.ts";
import { buildIntegrations, FAILURE_REASONS, INTEGRATION_NAMES, notificationTemplates } from "./notifiers/index.ts";

/** The Alertmanager version promts reports (User-Agent, build info, status). */
export const ALERTMANAGER_VERSION = "0.27.0";

const HOUR = 3_600_000;
/** Alertmanager's minimum notification timeout per flush. */
const MIN_NOTIFY_TIMEOUT = 10_000;
const MAINTENANCE_INTERVAL = 15 * 60_000;
/** Alerts from a peer applied per event-loop turn (routing and grouping 250 alerts takes a few ms). */
const MERGE_SLICE = 250;

/** Construction settings; only `config` is required. */
export interface AlertmanagerOptions {
  config: AlertmanagerConfigFile;
  /** The config file's text, shown by `status()`; the encoded config when absent. */
  configText?: string;
  /** `--storage.path`; undefined keeps silences and the nflog in memory. */
  storagePath?: string;
  /** `--data.retention`, default 120h. */
  retention?: number;
  logger?: Logger;
  registry?: Registry;
  /** `--web.external-url`, sent to receivers. */
  externalURL?: string;
  /**
   * The cluster this Alertmanager is a member of (undefined: alone). The
   * Alertmanager registers its replicated state on it at construction, so
   * create it before the peer joins, to take part in the join's push/pull.
   */
  cluster?: ClusterPeer;
  /** This peer's position in the cluster (0 when alone); the cluster's position() by default. */
  peerPosition?: () => number;
  /** `--cluster.peer-timeout`, default 15s. */
  peerTimeout?: number;
  /** `--cluster.minority-hold`, default 30s: how long a node on a partition's minority side holds notifications. */
  minorityHold?: number;
  clock?: Clock;
  /** Injectable HTTP client for receivers. */
  fetch?: typeof fetch;
}

/** `cluster` of `GET /api/v2/status`. */
export interface AlertmanagerClusterStatus {
  name?: string;
  status: "ready" | "settling" | "disabled";
  peers: { name: string; address: string }[];
}

/** Default of `--cluster.minority-hold`. */
export const DEFAULT_MINORITY_HOLD = 30_000;

/** An alert with its state as the API reports it. */
export interface AlertWithStatus {
  alert: Alert;
  fingerprint: string;
  state: "active" | "suppressed" | "unprocessed";
  silencedBy: string[];
  inhibitedBy: string[];
  /** Receivers of the routes the alert matches, in match order; one per route, as Alertmanager lists them (so repeats are kept). */
  receivers: string[];
}

/** Filters of `GET /api/v2/alerts`; all default to true / no restriction. */
export interface AlertFilter {
  active?: boolean;
  silenced?: boolean;
  inhibited?: boolean;
  unprocessed?: boolean;
  /** Anchored regex on receiver names. */
  receiver?: RE2Regexp;
  matchers?: Matcher[];
}

/** One configured receiver integration as the API lists it. */
export interface ReceiverStatus {
  name: string;
}

interface Running {
  config: AlertmanagerConfigFile;
  route: Route;
  inhibitor: Inhibitor;
  intervals: Map<string, TimeInterval[]>;
  pipelines: Map<string, ReceiverPipeline>;
  dispatcher: Dispatcher;
}

interface Metrics {
  alerts: ReturnType<Registry["gaugeVec"]>;
  received: ReturnType<Registry["counterVec"]>;
  invalid: Counter;
  notifications: ReturnType<Registry["counterVec"]>;
  failed: ReturnType<Registry["counterVec"]>;
  requests: ReturnType<Registry["counterVec"]>;
  requestsFailed: ReturnType<Registry["counterVec"]>;
  latency: ReturnType<Registry["histogramVec"]>;
  silences: ReturnType<Registry["gaugeVec"]>;
  nflogMaintenance: Counter;
  configSuccess: Gauge;
  configSuccessTime: Gauge;
  gossip: { silencesPropagated: Counter; nflogPropagated: Counter; alertsPropagated: Counter };
}

/** The Alertmanager core; see the module comment. */
export class Alertmanager {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly silences: Silences;
  readonly nflog: NotificationLog;
  readonly alerts = new AlertStore();
  private running: Running;
  private configText: string | undefined;
  private readonly metrics: Metrics;
  private readonly opts: AlertmanagerOptions;
  private readonly startedAt: number;
  private readonly stopController = new AbortController();
  private maintenanceTimer: Timer | undefined;
  /** Per-fingerprint state behind the alertmanager_alerts gauge. */
  private readonly alertStates = new Map<string, "active" | "suppressed">();
  /** How many alertStates are in each state, kept with it (a 100k-alert POST must not count them per batch). */
  private readonly stateCounts = { active: 0, suppressed: 0 };
  private lastAlertRecount = -Infinity;
  private readonly replication: AlertmanagerReplication | undefined;
  private readonly minorityHold: MinorityHold | undefined;

  constructor(opts: AlertmanagerOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? nopLogger;
    this.startedAt = this.clock.now();
    const retention = opts.retention ?? 120 * HOUR;
    if (opts.storagePath) mkdirSync(opts.storagePath, { recursive: true });
    const path = (name: string) => (opts.storagePath ? join(opts.storagePath, name) : undefined);
    this.silences = new Silences({ path: path("silences"), retention, snapshot: { logger: this.logger.with({ component: "silences" }) } });
    this.nflog = new NotificationLog({ path: path("nflog"), retention, snapshot: { logger: this.logger.with({ component: "nflog" }) } });
    for (const problem of [this.silences.load(), this.nflog.load(this.clock.now())]) {
      if (problem) this.logger.warn("Ignoring unreadable state", { err: problem });
    }
    this.metrics = this.registerMetrics(opts.registry ?? new Registry());
    // The pipelines built next take the hold's stage.
    if (opts.cluster) {
      const holdMs = opts.minorityHold ?? DEFAULT_MINORITY_HOLD;
      this.minorityHold = new MinorityHold(opts.cluster, holdMs, this.clock, (minority) => {
        if (holdMs <= 0) return;
        if (minority) this.logger.warn("This node sees fewer than half of the cluster's last stable membership; holding notifications", { hold: `${holdMs / 1000}s` });
        else this.logger.info("This node sees a majority of the cluster again; notifications are no longer held");
      });
    }
    this.running = this.build(opts.config);
    this.configText = opts.configText;
    this.metrics.configSuccess.set(1);
    this.metrics.configSuccessTime.set(this.clock.now() / 1000);
    this.alerts.subscribe((alert, fp) => {
      this.running.inhibitor.observe(alert, fp);
      this.running.dispatcher.process(alert, fp);
    });
    this.silences.onChange(() => {
      this.updateSilenceGauges();
      this.updateAlertGauges();
    });
    this.updateSilenceGauges();
    this.scheduleMaintenance();
    const peer = opts.cluster;
    if (peer) {
      this.replication = new AlertmanagerReplication(peer, {
        silences: this.silences,
        nflog: this.nflog,
        alerts: () => this.alerts.list().map(([, a]) => a),
        mergeAlerts: (alerts, later) => this.mergePeerAlerts(alerts, later),
        silencesMerged: () => {
          this.updateSilenceGauges();
          this.updateAlertGauges();
        },
        now: () => this.clock.now(),
      }, this.metrics.gossip);
    }
  }

  private peerPosition(): number {
    return this.opts.peerPosition?.() ?? this.opts.cluster?.position() ?? 0;
  }

  private registerMetrics(r: Registry): Metrics {
    r.gaugeVec("alertmanager_build_info", "A metric with a constant '1' value labeled by version, revision, branch, and goversion from which alertmanager was built.", ["version", "revision", "branch", "goversion"])
      .get([ALERTMANAGER_VERSION, "", "", `bun${Bun.version}`]).set(1);
    r.gaugeFunc("alertmanager_dispatcher_aggregation_groups", "Number of active aggregation groups", () => this.running.dispatcher.groupCount);
    r.gaugeFunc("alertmanager_nflog_queries_total", "Number of notification log queries were received.", () => this.nflog.queries, "counter");
    r.gaugeFunc("alertmanager_nflog_snapshot_size_bytes", "Size of the last notification log snapshot in bytes.", () => this.nflog.snapshotSize);
    r.gaugeFunc("alertmanager_silences_snapshot_size_bytes", "Size of the last silence snapshot in bytes.", () => this.silences.snapshot.size);
    // Failed snapshot writes, under Alertmanager 0.26's names (0.25 only logs them).
    r.gaugeFunc("alertmanager_nflog_maintenance_errors_total", "How many maintenances were executed for the notification log that failed.", () => this.nflog.snapshot.errors, "counter");
    r.gaugeFunc("alertmanager_silences_maintenance_errors_total", "How many maintenances were executed for silences that failed.", () => this.silences.snapshot.errors, "counter");
    const metrics: Metrics = {
      alerts: r.gaugeVec("alertmanager_alerts", "How many alerts by state.", ["state"]),
      received: r.counterVec("alertmanager_alerts_received_total", "The total number of received alerts.", ["status"]),
      invalid: r.counter("alertmanager_alerts_invalid_total", "The total number of received alerts that were invalid."),
      notifications: r.counterVec("alertmanager_notifications_total", "The total number of attempted notifications.", ["integration"]),
      failed: r.counterVec("alertmanager_notifications_failed_total", "The total number of failed notifications.", ["integration", "reason"]),
      requests: r.counterVec("alertmanager_notification_requests_total", "The total number of attempted notification requests.", ["integration"]),
      requestsFailed: r.counterVec("alertmanager_notification_requests_failed_total", "The total number of failed notification requests.", ["integration"]),
      latency: r.histogramVec("alertmanager_notification_latency_seconds", "The latency of notifications in seconds.", ["integration"], [1, 5, 10, 15, 20]),
      silences: r.gaugeVec("alertmanager_silences", "How many silences by state.", ["state"]),
      nflogMaintenance: r.counter("alertmanager_nflog_maintenance_total", "How many maintenances were executed for the notification log."),
      configSuccess: r.gauge("alertmanager_config_last_reload_successful", "Whether the last configuration reload attempt was successful."),
      configSuccessTime: r.gauge("alertmanager_config_last_reload_success_timestamp_seconds", "Timestamp of the last successful configuration reload."),
      gossip: {
        silencesPropagated: r.counter("alertmanager_silences_gossip_messages_propagated_total", "Number of received gossip messages that have been further gossiped."),
        nflogPropagated: r.counter("alertmanager_nflog_gossip_messages_propagated_total", "Number of received gossip messages that have been further gossiped."),
        alertsPropagated: r.counter("alertmanager_alerts_gossip_messages_propagated_total", "Number of alerts received from cluster peers that have been further gossiped."),
      },
    };
    // alertmanager_peer_position and the other alertmanager_cluster_* metrics are the cluster room's (src/cluster/peer.ts).
    r.gaugeFunc("alertmanager_cluster_enabled", "Indicates whether the clustering is enabled or not.", () => (this.opts.cluster ? 1 : 0));
    // Series for every integration exist from the start, as in Alertmanager, so rates work from zero.
    for (const name of INTEGRATION_NAMES) {
      for (const vec of [metrics.notifications, metrics.requests, metrics.requestsFailed]) vec.get([name]);
      for (const reason of FAILURE_REASONS) metrics.failed.get([name, reason]);
    }
    return metrics;
  }

  /** Builds everything that depends on the config; throws for configs it cannot run. */
  private build(config: AlertmanagerConfigFile): Running {
    const route = buildRouteTree(config.route);
    const inhibitor = new Inhibitor(config.inhibit_rules);
    const intervals = new Map<string, TimeInterval[]>();
    for (const ti of [...config.mute_time_intervals, ...config.time_intervals]) {
      intervals.set(ti.name, ti.time_intervals.map(parseTimeInterval));
    }
    const observer: RetryObserver = {
      attempt: (i) => this.metrics.requests.get([i]).inc(),
      failed: (i) => this.metrics.requestsFailed.get([i]).inc(),
      latency: (i, s) => this.metrics.latency.get([i]).observe(s),
      notification: (i) => this.metrics.notifications.get([i]).inc(),
      gaveUp: (i, reason) => this.metrics.failed.get([i, reason]).inc(),
    };
    const deps = {
      templates: notificationTemplates(config.templates, () => this.clock.now()),
      externalURL: this.opts.externalURL ?? "", version: ALERTMANAGER_VERSION, fetch: this.opts.fetch,
      logger: this.logger.with({ component: "notifier" }),
    };
    const peer = this.opts.cluster;
    const shared = [
      ...(peer ? [settleStage((signal) => peer.settle(signal))] : []),
      inhibitStage(() => this.running.inhibitor, this.clock),
      timeIntervalStage(() => this.running.intervals, this.clock),
      silenceStage(this.silences, this.clock),
    ];
    const peerPosition = () => this.peerPosition();
    const peerTimeout = this.opts.peerTimeout ?? 15_000;
    // One exchange with the nodes ahead at a time, shared by the flushes waiting on it.
    let syncing: Promise<void> | undefined;
    const syncAhead = peer?.syncAhead ? () => (syncing ??= peer.syncAhead!(Math.min(2000, Math.max(200, peerTimeout / 2))).finally(() => { syncing = undefined; })) : undefined;
    const pipelines = new Map<string, ReceiverPipeline>();
    for (const rc of config.receivers) {
      const perIntegration = buildIntegrations(rc, deps).map((integration) => {
        const key = { groupName: rc.name, integration: integration.name, idx: integration.index };
        return [
          waitStage(peerPosition, peerTimeout, this.clock, syncAhead),
          ...(this.minorityHold ? [minorityHoldStage(this.minorityHold)] : []),
          refreshStage((fp) => this.alerts.get(fp), this.clock),
          dedupStage(this.nflog, key, integration.sendResolved, this.clock),
          retryStage(integration, this.clock, observer, this.logger.with({ component: "dispatcher" })),
          recordStage(this.nflog, key, this.clock),
        ];
      });
      pipelines.set(rc.name, { shared, perIntegration });
    }
    const dispatcher = new Dispatcher(route, this.clock, (g, alerts) => this.flush(g, alerts), this.logger.with({ component: "dispatcher" }), peer !== undefined);
    return { config, route, inhibitor, intervals, pipelines, dispatcher };
  }

  /** Sends one flushed group through its receiver's pipeline with the flush deadline. */
  private async flush(group: GroupInfo, alerts: Alert[]): Promise<boolean> {
    const opts = group.route.opts;
    const pipeline = this.running.pipelines.get(opts.receiver);
    if (!pipeline) return true;
    // Alertmanager's flush timeout (group_interval, at least 10s) plus the peer wait, plus what a minority hold may add.
    const wait = this.peerPosition() * (this.opts.peerTimeout ?? 15_000) + (this.minorityHold?.remaining() ?? 0);
    const deadline = new AbortController();
    const timer = this.clock.setTimer(() => deadline.abort(new Error("notification deadline exceeded")), Math.max(opts.groupInterval, MIN_NOTIFY_TIMEOUT) + wait);
    const ctx: NotifyContext = {
      groupKey: group.groupKey, receiverName: opts.receiver, groupLabels: group.groupLabels,
      repeatInterval: opts.repeatInterval, muteTimeIntervals: opts.muteTimeIntervals,
      activeTimeIntervals: opts.activeTimeIntervals,
      signal: AbortSignal.any([deadline.signal, this.stopController.signal]),
    };
    try {
      await runReceiverPipeline(pipeline, ctx, alerts);
      return true;
    } catch (e) {
      this.logger.error("Notify for alerts failed", { receiver: opts.receiver, aggrGroup: group.groupKey, err: e as Error });
      return false;
    } finally {
      timer.cancel();
      // Many groups flush at once; one recount per second of clock time is enough.
      if (this.clock.now() - this.lastAlertRecount >= 1000) this.updateAlertGauges();
    }
  }

  /**
   * Accepts alerts as `POST /api/v2/alerts` does: times filled in, each
   * valid alert stored (and routed), invalid ones counted and reported.
   * Returns the problems, one per invalid alert (empty when all were fine).
   */
  putAlerts(posted: PostableAlert[]): string[] {
    const now = this.clock.now();
    const resolveTimeout = this.running.config.global.resolve_timeout;
    const errors: string[] = [];
    const accepted: Alert[] = [];
    for (const p of posted) {
      const alert = normalizeAlert(p, now, resolveTimeout);
      this.metrics.received.get([alert.endsAt > now ? "firing" : "resolved"]).inc();
      const problem = validateAlert(alert);
      if (problem) {
        this.metrics.invalid.inc();
        errors.push(`${problem}`);
        continue;
      }
      const stored = this.alerts.put(alert, now);
      this.trackAlertState(stored, fingerprint(stored.labels), now);
      accepted.push(stored);
    }
    this.publishAlertGauges();
    this.replication?.alertsReceived(accepted);
    return errors;
  }

  /**
   * Takes alerts from a cluster peer: all are validated first (an invalid
   * one rejects the whole message); each is then stored when it is newer
   * (by updatedAt) than the known alert, or unknown here and not resolved.
   * A large message (a full state) is applied {@link MERGE_SLICE} alerts
   * per event-loop turn: the first slice now (returned), the rest later,
   * each slice's taken alerts handed to `later`.
   */
  private mergePeerAlerts(incoming: Alert[], later: (taken: Alert[]) => void): Alert[] {
    incoming.forEach((a, i) => {
      const problem = validateAlert(a);
      if (problem) throw new Error(`alert ${i} from peer: ${problem}`);
    });
    if (incoming.length <= MERGE_SLICE) return this.applyPeerAlerts(incoming);
    let next = MERGE_SLICE;
    const step = () => {
      if (this.stopController.signal.aborted) return;
      const taken = this.applyPeerAlerts(incoming.slice(next, next + MERGE_SLICE));
      next += MERGE_SLICE;
      if (taken.length > 0) later(taken);
      if (next < incoming.length) setTimeout(step, 0);
    };
    setTimeout(step, 0);
    return this.applyPeerAlerts(incoming.slice(0, MERGE_SLICE));
  }

  private applyPeerAlerts(incoming: Alert[]): Alert[] {
    const now = this.clock.now();
    const taken: Alert[] = [];
    for (const alert of incoming) {
      const fp = fingerprint(alert.labels);
      const known = this.alerts.get(fp);
      if (known ? known.updatedAt >= alert.updatedAt : isResolved(alert, now)) continue;
      const stored = this.alerts.put(alert, now);
      this.trackAlertState(stored, fp, now);
      taken.push(alert);
    }
    if (taken.length > 0) this.publishAlertGauges();
    return taken;
  }

  /** The state of one alert now, as the API reports it. */
  alertStatus(alert: Alert, fp: string = fingerprint(alert.labels)): AlertWithStatus {
    const now = this.clock.now();
    const silencedBy = this.silences.mutes(alert.labels, now);
    const inhibitor = this.running.inhibitor.mutes(alert.labels, now);
    const inhibitedBy = inhibitor === undefined ? [] : [inhibitor];
    const receivers = this.running.route.match(alert.labels).map((r) => r.opts.receiver);
    const state = silencedBy.length > 0 || inhibitedBy.length > 0 ? "suppressed" : "active";
    return { alert, fingerprint: fp, state, silencedBy, inhibitedBy, receivers };
  }

  /** Alerts not yet resolved, with their state, filtered like `GET /api/v2/alerts`, sorted by fingerprint. */
  getAlerts(filter: AlertFilter = {}): AlertWithStatus[] {
    const now = this.clock.now();
    const out: AlertWithStatus[] = [];
    for (const [fp, alert] of this.alerts.list()) {
      if (isResolved(alert, now)) continue;
      if (filter.matchers && !matchesAll(filter.matchers, alert.labels)) continue;
      const s = this.alertStatus(alert, fp);
      if (filter.receiver && !s.receivers.some((r) => filter.receiver!.test(r))) continue;
      if (filter.active === false && s.state === "active") continue;
      if (filter.silenced === false && s.silencedBy.length > 0) continue;
      if (filter.inhibited === false && s.inhibitedBy.length > 0) continue;
      if (filter.unprocessed === false && s.state === "unprocessed") continue;
      out.push(s);
    }
    return out.sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0));
  }

  /** The dispatcher's aggregation groups (`GET /api/v2/alerts/groups`). */
  groups(): AlertGroup[] {
    return this.running.dispatcher.groups();
  }

  /** Creates or updates a silence; returns its id. Throws SilenceError for client errors. */
  setSilence(s: PostableSilence): string {
    return this.silences.set(s, this.clock.now());
  }

  /** Expires a silence now. Throws SilenceError when unknown or already expired. */
  expireSilence(id: string): void {
    this.silences.expire(id, this.clock.now());
  }

  /** One silence with its state, or undefined. */
  getSilence(id: string): (Silence & { state: SilenceState }) | undefined {
    const s = this.silences.get(id);
    return s && { ...s, state: silenceState(s, this.clock.now()) };
  }

  /** All silences with their states. */
  listSilences(): (Silence & { state: SilenceState })[] {
    const now = this.clock.now();
    return this.silences.list().map((s) => ({ ...s, state: silenceState(s, now) }));
  }

  /**
   * Switches to a new config, keeping alerts, silences and the nflog:
   * the old dispatcher stops and the stored alerts are routed afresh
   * (as Alertmanager does on reload). A config that cannot be built is
   * rejected and the old one keeps running.
   */
  applyConfig(config: AlertmanagerConfigFile, configText?: string): void {
    let next: Running;
    try {
      next = this.build(config);
    } catch (e) {
      this.metrics.configSuccess.set(0);
      throw e;
    }
    this.running.dispatcher.stop();
    this.running = next;
    this.configText = configText;
    this.metrics.configSuccess.set(1);
    this.metrics.configSuccessTime.set(this.clock.now() / 1000);
    for (const [fp, alert] of this.alerts.list()) next.inhibitor.observe(alert, fp);
    for (const [fp, alert] of this.alerts.list()) next.dispatcher.process(alert, fp);
  }

  /**
   * Records a reload that failed before reaching {@link applyConfig} (a
   * config file that did not parse), for alertmanager_config_last_reload_successful.
   */
  reloadFailed(): void {
    this.metrics.configSuccess.set(0);
  }

  /** The configured receivers' names, in config order. */
  receivers(): ReceiverStatus[] {
    return this.running.config.receivers.map((r) => ({ name: r.name }));
  }

  /**
   * The running config and facts for `GET /api/v2/status`: `uptime` is
   * when this Alertmanager started (Unix ms), as the API's `uptime` field.
   */
  status(): { config: AlertmanagerConfigFile; configText: string | undefined; uptime: number; version: string } {
    return { config: this.running.config, configText: this.configText, uptime: this.startedAt, version: ALERTMANAGER_VERSION };
  }

  /** `cluster` of `GET /api/v2/status`: the members that are not dead or gone, or `disabled` when alone. */
  clusterStatus(): AlertmanagerClusterStatus {
    const peer = this.opts.cluster;
    if (!peer) return { status: "disabled", peers: [] };
    const peers = peer.members()
      .filter((m) => m.state === "alive" || m.state === "suspect")
      .map((m) => ({ name: m.name, address: m.address }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { name: peer.name, status: peer.status(), peers };
  }

  /** Drops resolved alerts, old silences and nflog entries; runs every 15 minutes on its own. */
  maintenance(): void {
    const now = this.clock.now();
    this.alerts.gc(now);
    this.running.inhibitor.gc(now);
    this.silences.gc(now);
    this.nflog.gc(now);
    // Snapshots that could not be written after a change get another try here too.
    this.silences.snapshot.flush();
    this.nflog.snapshot.flush();
    this.metrics.nflogMaintenance.inc();
    this.updateAlertGauges();
    this.updateSilenceGauges();
  }

  private scheduleMaintenance(): void {
    this.maintenanceTimer = this.clock.setTimer(() => {
      this.maintenance();
      this.scheduleMaintenance();
    }, MAINTENANCE_INTERVAL);
  }

  /** Resolves when every running flush has finished (tests, shutdown). */
  settled(): Promise<void> {
    return this.running.dispatcher.settled();
  }

  /** Stops timers and cancels running notifications, then waits for them to end. */
  async stop(): Promise<void> {
    this.maintenanceTimer?.cancel();
    this.replication?.close();
    this.minorityHold?.close();
    for (const snapshot of [this.silences.snapshot, this.nflog.snapshot]) {
      snapshot.flush();
      snapshot.close();
    }
    const dispatcher = this.running.dispatcher;
    dispatcher.stop();
    this.stopController.abort(new Error("alertmanager stopped"));
    await dispatcher.settled();
  }

  /** Records one alert's state for the alertmanager_alerts gauge (resolved alerts are not counted). */
  private trackAlertState(alert: Alert, fp: string, now: number): void {
    const before = this.alertStates.get(fp);
    if (before !== undefined) this.stateCounts[before]--;
    if (isResolved(alert, now)) {
      this.alertStates.delete(fp);
      return;
    }
    const muted = this.silences.mutes(alert.labels, now).length > 0 || this.running.inhibitor.mutes(alert.labels, now) !== undefined;
    const state = muted ? "suppressed" : "active";
    this.alertStates.set(fp, state);
    this.stateCounts[state]++;
  }

  /**
   * Recomputes every alert's state: silences, inhibitions and resolve
   * times change with time and config, not only when alerts arrive.
   */
  private updateAlertGauges(): void {
    const now = this.clock.now();
    this.lastAlertRecount = now;
    this.alertStates.clear();
    this.stateCounts.active = this.stateCounts.suppressed = 0;
    for (const [fp, a] of this.alerts.list()) this.trackAlertState(a, fp, now);
    this.publishAlertGauges();
  }

  private publishAlertGauges(): void {
    this.metrics.alerts.get(["active"]).set(this.stateCounts.active);
    this.metrics.alerts.get(["suppressed"]).set(this.stateCounts.suppressed);
    this.metrics.alerts.get(["unprocessed"]).set(0);
  }

  private updateSilenceGauges(): void {
    const counts = this.silences.countByState(this.clock.now());
    for (const state of ["active", "pending", "expired"] as const) this.metrics.silences.get([state]).set(counts[state]);
  }
}
