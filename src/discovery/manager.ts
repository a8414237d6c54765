/**
 * The discovery manager: runs one discoverer per distinct SD config, merges
 * what they report into per-job target groups and hands them to a consumer
 * (the scrape manager) in batches, as Prometheus's discovery.Manager.
 *
 * - Sources are namespaced by the discoverer instance ("file_sd/0/<path>:0"),
 *   so two configs — or a discoverer and the scrape manager's own static
 *   groups ("static/0") — never overwrite each other's groups.
 * - An SD config used by several jobs (or twice in one job) runs once; its
 *   groups go to every job using it.
 * - `applyConfig` keeps discoverers whose config is unchanged running, stops
 *   removed ones and reports their groups empty to the jobs they fed.
 * - Updates are batched: at most one `onUpdate` per job every
 *   `updateIntervalMs` (5s, Prometheus's default), carrying only the groups
 *   that changed since the last one.
 *
 * static_configs are not handled here: the scrape manager turns them into
 * groups itself on `applyConfig`.
 *
 * @example
 * const dm = new DiscoveryManager({ logger, registry, onUpdate: (job, groups) => scrapeManager.setTargetGroups(job, groups) });
 * dm.applyConfig(config.scrape_configs.map((sc) => ({ name: sc.job_name, configs: sdConfigsOf(sc) })));
 * await dm.stop();
 */
import type { ConsulSDConfig, EC2SDConfig, ServiceDiscoveryConfigs } from "../config/index.ts";
import { nopLogger, type Logger } from "../log/index.ts";
import { labelsEqual, type Registry } from "../model/index.ts";
import { ConsulDiscoverer } from "./consul.ts";
import { DNSDiscoverer, type DNSSDOptions } from "./dns.ts";
import { EC2Discoverer } from "./ec2.ts";
import { FileDiscoverer, type FileSDOptions } from "./file.ts";
import { HTTPDiscoverer, type HTTPSDOptions } from "./http.ts";
import { managerMetrics, type ManagerMetrics } from "./metrics.ts";
import type { Discoverer, DiscovererOptions, TargetGroup } from "./types.ts";

/** The mechanisms promts discovers targets with (besides static_configs). */
export type DiscovererKind = "file" | "http" | "dns" | "consul" | "ec2";

/**
 * The dynamic SD configs of one job (or Alertmanager set), by YAML field
 * name. The config room's types fit; file, http and dns also accept just
 * the fields they read (defaults apply to the rest).
 */
export interface SDConfigs {
  file_sd_configs?: readonly FileSDOptions[];
  http_sd_configs?: readonly HTTPSDOptions[];
  dns_sd_configs?: readonly DNSSDOptions[];
  consul_sd_configs?: readonly ConsulSDConfig[];
  ec2_sd_configs?: readonly EC2SDConfig[];
}

const KIND_FIELDS: readonly (readonly [DiscovererKind, keyof SDConfigs])[] = [
  ["file", "file_sd_configs"],
  ["http", "http_sd_configs"],
  ["dns", "dns_sd_configs"],
  ["consul", "consul_sd_configs"],
  ["ec2", "ec2_sd_configs"],
];

/**
 * The dynamic SD configs of a scrape (or alertmanager) config, for
 * `DiscoveryManager.applyConfig`.
 *
 * @example
 * dm.applyConfig(cfg.scrape_configs.map((sc) => ({ name: sc.job_name, configs: sdConfigsOf(sc) })));
 */
export function sdConfigsOf(sc: ServiceDiscoveryConfigs): SDConfigs {
  return {
    file_sd_configs: sc.file_sd_configs ?? [],
    http_sd_configs: sc.http_sd_configs ?? [],
    dns_sd_configs: sc.dns_sd_configs ?? [],
    consul_sd_configs: sc.consul_sd_configs ?? [],
    ec2_sd_configs: sc.ec2_sd_configs ?? [],
  };
}

/**
 * YAML names of the non-empty `*_sd_configs` of `sc` that promts accepts in
 * the config but does not run (kubernetes_sd_configs, …), to warn about.
 *
 * @example
 * for (const m of unsupportedSDConfigs(sc)) log.warn("Service discovery mechanism not supported", { job: sc.job_name, mechanism: m });
 */
export function unsupportedSDConfigs(sc: ServiceDiscoveryConfigs): string[] {
  const known = new Set<string>(KIND_FIELDS.map(([, field]) => field));
  return Object.keys(sc)
    .filter((k) => k.endsWith("_sd_configs") && !known.has(k))
    .filter((k) => {
      const v = (sc as unknown as Record<string, unknown>)[k];
      return Array.isArray(v) && v.length > 0;
    })
    .sort();
}

/**
 * Creates the discoverer for one SD config. Throws for an invalid config.
 *
 * @example
 * const d = newDiscoverer("file", { files: ["sd/*.json"], refresh_interval: 300_000 }, { logger });
 */
export function newDiscoverer(kind: DiscovererKind, cfg: unknown, opts: DiscovererOptions): Discoverer {
  switch (kind) {
    case "file":
      return new FileDiscoverer(cfg as FileSDOptions, opts);
    case "http":
      return new HTTPDiscoverer(cfg as HTTPSDOptions, opts);
    case "dns":
      return new DNSDiscoverer(cfg as DNSSDOptions, opts);
    case "ec2":
      return new EC2Discoverer(cfg as EC2SDConfig, opts);
    case "consul":
      return new ConsulDiscoverer(cfg as ConsulSDConfig, opts);
  }
}

/** Dependencies and settings of a {@link DiscoveryManager}. */
export interface DiscoveryManagerOptions {
  logger?: Logger;
  /** Where discovery metrics are registered; a private registry when omitted. */
  registry?: Registry;
  /** Receives each job's changed groups (a group without targets removes its source). */
  onUpdate: (job: string, groups: TargetGroup[]) => void;
  /** Batching period for `onUpdate` (5000ms as Prometheus; tests use small values). */
  updateIntervalMs?: number;
  /** The `name` label of the metrics: "scrape" or "notify" (default "scrape"). */
  name?: string;
  /** Replaces {@link newDiscoverer} (tests). */
  newDiscoverer?: (kind: DiscovererKind, cfg: unknown, opts: DiscovererOptions) => Discoverer;
  /** Replaces global fetch in the discoverers (tests). */
  fetch?: typeof fetch;
}

/** A job and the SD configs that feed it. */
export interface DiscoveryJob {
  name: string;
  configs: SDConfigs;
}

interface Provider {
  /** Mechanism and serialized config: equal keys mean an unchanged config. */
  key: string;
  /** Source namespace, e.g. "file_sd/0". */
  name: string;
  abort: AbortController;
  done: Promise<void>;
  /** Jobs fed by this provider. */
  jobs: Set<string>;
  /** Current non-empty groups by namespaced source. */
  groups: Map<string, TargetGroup>;
}

function sameGroup(a: TargetGroup, b: TargetGroup): boolean {
  if (!labelsEqual(a.labels, b.labels) || a.targets.length !== b.targets.length) return false;
  for (let i = 0; i < a.targets.length; i++) if (!labelsEqual(a.targets[i]!, b.targets[i]!)) return false;
  return true;
}

/** See the module comment. */
export class DiscoveryManager {
  private readonly logger: Logger;
  private readonly registry: Registry | undefined;
  private readonly metrics: ManagerMetrics;
  private readonly name: string;
  private readonly intervalMs: number;
  private readonly onUpdate: (job: string, groups: TargetGroup[]) => void;
  private readonly create: (kind: DiscovererKind, cfg: unknown, opts: DiscovererOptions) => Discoverer;
  private readonly fetchImpl: typeof fetch | undefined;
  private readonly providers = new Map<string, Provider>();
  /** Groups to send per job at the next flush, by namespaced source. */
  private readonly pending = new Map<string, Map<string, TargetGroup>>();
  private readonly nextIndex = new Map<DiscovererKind, number>();
  /** Jobs of the last applied config; only these have a prometheus_sd_discovered_targets child. */
  private jobNames = new Set<string>();
  private readonly startedAt = performance.now();
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(opts: DiscoveryManagerOptions) {
    this.logger = (opts.logger ?? nopLogger).with({ component: "discovery manager" });
    this.registry = opts.registry;
    this.metrics = managerMetrics(opts.registry);
    this.name = opts.name ?? "scrape";
    this.intervalMs = opts.updateIntervalMs ?? 5000;
    this.onUpdate = opts.onUpdate;
    this.create = opts.newDiscoverer ?? newDiscoverer;
    this.fetchImpl = opts.fetch;
  }

  /**
   * Makes the running discoverers match `jobs`: unchanged configs keep
   * running (and keep their targets), changed or removed ones stop and their
   * groups are reported empty, new ones start. A config that cannot be
   * turned into a discoverer is logged and counted in
   * prometheus_sd_failed_configs; the others still apply.
   */
  applyConfig(jobs: readonly DiscoveryJob[]): void {
    if (this.stopped) throw new Error("discovery manager is stopped");
    const wanted = new Map<string, { kind: DiscovererKind; cfg: unknown; jobs: Set<string> }>();
    for (const job of jobs) {
      for (const [kind, field] of KIND_FIELDS) {
        for (const cfg of job.configs[field] ?? []) {
          const key = `${kind}\0${JSON.stringify(cfg)}`;
          let w = wanted.get(key);
          if (!w) {
            w = { kind, cfg, jobs: new Set() };
            wanted.set(key, w);
          }
          w.jobs.add(job.name);
        }
      }
    }
    for (const [key, p] of this.providers) {
      if (wanted.has(key)) continue;
      this.providers.delete(key);
      p.abort.abort();
      for (const job of p.jobs) this.retract(p, job);
    }
    let failed = 0;
    for (const [key, w] of wanted) {
      const existing = this.providers.get(key);
      if (existing) {
        for (const job of existing.jobs) if (!w.jobs.has(job)) this.retract(existing, job);
        for (const job of w.jobs) if (!existing.jobs.has(job)) this.announce(existing, job);
        existing.jobs = w.jobs;
        continue;
      }
      if (!this.start(key, w.kind, w.cfg, w.jobs)) failed++;
    }
    this.metrics.failedConfigs.get([this.name]).set(failed);
    const jobNames = new Set(jobs.map((j) => j.name));
    for (const job of this.jobNames) if (!jobNames.has(job)) this.metrics.discoveredTargets.remove([job, this.name]);
    this.jobNames = jobNames;
    for (const job of jobNames) this.countTargets(job);
    this.scheduleFlush();
  }

  /** Stops every discoverer and the batching timer; resolves when all discoverers returned. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.pending.clear();
    const providers = [...this.providers.values()];
    this.providers.clear();
    for (const p of providers) p.abort.abort();
    await Promise.all(providers.map((p) => p.done));
  }

  /** Number of running discoverers (for tests and the status page). */
  get discovererCount(): number {
    return this.providers.size;
  }

  /** The current groups of `job` across its discoverers, by namespaced source. */
  targetGroups(job: string): TargetGroup[] {
    const out: TargetGroup[] = [];
    for (const p of this.providers.values()) if (p.jobs.has(job)) out.push(...p.groups.values());
    return out.sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
  }

  private start(key: string, kind: DiscovererKind, cfg: unknown, jobs: Set<string>): boolean {
    const index = this.nextIndex.get(kind) ?? 0;
    const name = `${kind}_sd/${index}`;
    let discoverer: Discoverer;
    try {
      discoverer = this.create(kind, cfg, { logger: this.logger.with({ discovery: kind, config: name }), registry: this.registry, fetch: this.fetchImpl });
    } catch (err) {
      this.logger.error("Cannot create service discovery", { type: kind, jobs: [...jobs].join(","), err });
      return false;
    }
    this.nextIndex.set(kind, index + 1);
    const abort = new AbortController();
    const p: Provider = { key, name, abort, done: Promise.resolve(), jobs, groups: new Map() };
    this.providers.set(key, p);
    p.done = (async () => {
      try {
        await discoverer.run((groups) => this.receive(p, groups), abort.signal);
      } catch (err) {
        this.logger.error("Discoverer failed", { config: name, err });
      }
    })();
    return true;
  }

  private receive(p: Provider, groups: readonly TargetGroup[]): void {
    if (this.stopped || p.abort.signal.aborted) return;
    this.metrics.receivedUpdates.get([this.name]).inc();
    for (const g of groups) {
      const source = `${p.name}/${g.source}`;
      const previous = p.groups.get(source);
      if (g.targets.length === 0) {
        if (!previous) continue;
        p.groups.delete(source);
        for (const job of p.jobs) this.queue(job, { source, targets: [], labels: [] });
        continue;
      }
      const group: TargetGroup = { source, targets: g.targets, labels: g.labels };
      if (previous && sameGroup(previous, group)) continue;
      p.groups.set(source, group);
      for (const job of p.jobs) this.queue(job, group);
    }
    this.scheduleFlush();
  }

  /** Queues removal of all of `p`'s groups from `job`. */
  private retract(p: Provider, job: string): void {
    for (const source of p.groups.keys()) this.queue(job, { source, targets: [], labels: [] });
  }

  /** Queues all of `p`'s groups for `job` (newly fed by it). */
  private announce(p: Provider, job: string): void {
    for (const g of p.groups.values()) this.queue(job, g);
  }

  private queue(job: string, group: TargetGroup): void {
    let m = this.pending.get(job);
    if (!m) {
      m = new Map();
      this.pending.set(job, m);
    }
    m.set(group.source, group);
  }

  /** Arms the flush timer on the next tick of a free-running `intervalMs` clock, as Prometheus's ticker. */
  private scheduleFlush(): void {
    if (this.stopped || this.flushTimer !== undefined || this.pending.size === 0) return;
    const elapsed = performance.now() - this.startedAt;
    const delay = this.intervalMs - (elapsed % this.intervalMs);
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, delay);
  }

  private flush(): void {
    if (this.stopped || this.pending.size === 0) return;
    const batches = [...this.pending];
    this.pending.clear();
    this.metrics.updates.get([this.name]).inc();
    for (const [job, groups] of batches) {
      if (this.jobNames.has(job)) this.countTargets(job);
      try {
        this.onUpdate(job, [...groups.values()]);
      } catch (err) {
        this.logger.error("Target group consumer failed", { job, err });
      }
    }
  }

  private countTargets(job: string): void {
    let n = 0;
    for (const p of this.providers.values()) {
      if (!p.jobs.has(job)) continue;
      for (const g of p.groups.values()) n += g.targets.length;
    }
    this.metrics.discoveredTargets.get([job, this.name]).set(n);
  }
}
