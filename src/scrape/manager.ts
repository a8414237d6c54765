/**
 * The scrape manager: one scrape pool per job of the config, fed with target
 * groups — from `static_configs` by `applyConfig`, and from discovery through
 * `setTargetGroups`.
 *
 * On `applyConfig`, pools of unchanged jobs keep running untouched, changed
 * jobs are reloaded in place, and removed jobs stop with end-of-run staleness
 * markers for their series. `stop()` is for shutdown: no staleness markers,
 * as in Prometheus (the series resume after a restart).
 *
 * @example
 * const sm = new ScrapeManager({ appender: () => head.appender(), registry });
 * sm.applyConfig(config);             // a loaded PrometheusConfig
 * sm.activeTargets();                 // for /api/v1/targets
 * await sm.stop();
 */
import { nopLogger, type Logger } from "../log/index.ts";
import { labelsFromRecord, Registry, type Labels } from "../model/index.ts";
import type { Appender } from "../tsdb/index.ts";
import type { LoopDeps, ScrapeLoop } from "./loop.ts";
import { registerScrapeMetrics } from "./metrics.ts";
import { ScrapePool } from "./pool.ts";
import { ScrapeScheduler } from "./scheduler.ts";
import type { ActiveTarget, DroppedTarget, ScrapeJobConfig, ScrapeManagerConfig, TargetGroup, TargetMetadata } from "./types.ts";

/** Dependencies of a `ScrapeManager`. */
export interface ScrapeManagerOptions {
  /** Returns the appender scraped samples go to (called per append). */
  appender: () => Appender;
  logger?: Logger;
  /** Where the scrape metrics are registered; a private registry when omitted. */
  registry?: Registry;
  /** Wall clock for sample timestamps, ms since the epoch (Date.now by default). */
  now?: () => number;
}

const STATIC_SOURCE_PREFIX = "static/";

/** Source name of the i-th `static_configs` entry of a job. */
export function staticSource(i: number): string {
  return `${STATIC_SOURCE_PREFIX}${i}`;
}

/** Turns a job's `static_configs` into target groups (one per entry). */
export function staticTargetGroups(cfg: ScrapeJobConfig): TargetGroup[] {
  return cfg.static_configs.map((sc, i) => ({
    source: staticSource(i),
    targets: sc.targets.map((address) => labelsFromRecord({ __address__: address })),
    labels: labelsFromRecord({ ...(sc.labels ?? {}) }),
  }));
}

/** Owns the scrape pools; see the module comment. */
export class ScrapeManager {
  private readonly pools = new Map<string, ScrapePool>();
  private readonly groups = new Map<string, Map<string, TargetGroup>>();
  private readonly deps: LoopDeps;
  private readonly logger: Logger;
  private stopped = false;

  constructor(opts: ScrapeManagerOptions) {
    this.logger = (opts.logger ?? nopLogger).with({ component: "scrape manager" });
    this.deps = {
      appender: opts.appender,
      metrics: registerScrapeMetrics(opts.registry ?? new Registry()),
      logger: opts.logger ?? nopLogger,
      now: opts.now ?? Date.now,
      retiring: new Set<ScrapeLoop>(),
      shuttingDown: false,
      scheduler: new ScrapeScheduler(),
    };
  }

  /**
   * Applies a (re)loaded config: creates, reloads or removes pools so there
   * is one per `scrape_configs` job, and sets each job's static target groups.
   */
  applyConfig(cfg: ScrapeManagerConfig): void {
    if (this.stopped) throw new Error("scrape manager is stopped");
    const jobs = new Map<string, ScrapeJobConfig>();
    for (const sc of cfg.scrape_configs) jobs.set(sc.job_name, sc);
    for (const [job, pool] of this.pools) {
      if (jobs.has(job)) continue;
      this.pools.delete(job);
      this.groups.delete(job);
      void pool.stop("retire");
      this.logger.info("Scrape pool removed", { scrape_pool: job });
    }
    for (const [job, sc] of jobs) {
      const groups = this.jobGroups(job);
      for (const source of [...groups.keys()]) if (source.startsWith(STATIC_SOURCE_PREFIX)) groups.delete(source);
      for (const g of staticTargetGroups(sc)) if (g.targets.length > 0) groups.set(g.source, g);
      const pool = this.pools.get(job);
      if (!pool) {
        this.deps.metrics.poolsTotal.inc();
        const created = new ScrapePool(sc, this.deps);
        try {
          created.sync(groups.values());
          this.pools.set(job, created);
        } catch (e) {
          this.deps.metrics.poolsFailed.inc();
          void created.stop("shutdown");
          this.logger.error("Error creating new scrape pool", { scrape_pool: job, err: e });
        }
      } else if (JSON.stringify(pool.config) !== JSON.stringify(sc)) {
        try {
          pool.reload(sc, groups.values());
        } catch (e) {
          this.deps.metrics.poolReloadsFailed.inc();
          this.logger.error("Error reloading scrape pool", { scrape_pool: job, err: e });
        }
      } else {
        pool.sync(groups.values());
      }
    }
  }

  /**
   * Updates a job's target groups from a discovery source: each group
   * replaces the one with the same `source`; a group without targets removes
   * it. Groups for jobs not (yet) in the config are kept until they are.
   */
  setTargetGroups(job: string, groups: readonly TargetGroup[]): void {
    if (this.stopped) return;
    const current = this.jobGroups(job);
    for (const g of groups) {
      if (g.targets.length === 0) current.delete(g.source);
      else current.set(g.source, g);
    }
    try {
      this.pools.get(job)?.sync(current.values());
    } catch (e) {
      this.logger.error("Error syncing scrape pool", { scrape_pool: job, err: e });
    }
  }

  private jobGroups(job: string): Map<string, TargetGroup> {
    let g = this.groups.get(job);
    if (!g) {
      g = new Map();
      this.groups.set(job, g);
    }
    return g;
  }

  /** Every scraped target, pool by pool in config order. */
  activeTargets(): ActiveTarget[] {
    const out: ActiveTarget[] = [];
    for (const pool of this.pools.values()) out.push(...pool.activeTargets());
    return out;
  }

  /**
   * Every scraped target with the metadata (`# TYPE`, `# HELP`, `# UNIT`) of
   * the metric families it exposed in its recent scrapes, pool by pool: what
   * `/api/v1/targets/metadata` and `/api/v1/metadata` serve.
   */
  targetsMetadata(): TargetMetadata[] {
    const out: TargetMetadata[] = [];
    for (const pool of this.pools.values()) out.push(...pool.targetsMetadata());
    return out;
  }

  /** Targets dropped by relabeling (or invalid), pool by pool. */
  droppedTargets(): DroppedTarget[] {
    const out: DroppedTarget[] = [];
    for (const pool of this.pools.values()) out.push(...pool.droppedTargets());
    return out;
  }

  /** Labels of the targets of each job, as Prometheus's `TargetsActive` groups them. */
  targetsByPool(): Map<string, Labels[]> {
    const out = new Map<string, Labels[]>();
    for (const [job, pool] of this.pools) out.set(job, pool.activeTargets().map((t) => t.labels));
    return out;
  }

  /** The pool of a job, for tests. */
  pool(job: string): ScrapePool | undefined {
    return this.pools.get(job);
  }

  /** Stops all scraping for shutdown: in-flight scrapes are aborted, no staleness markers are written. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.deps.shuttingDown = true;
    for (const loop of [...this.deps.retiring]) loop.cancelStaleness();
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.stop("shutdown")));
  }
}
