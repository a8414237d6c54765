/**
 * A scrape pool: all targets of one job. `sync` turns the job's target
 * groups into targets, starts loops for new targets, retires loops of
 * vanished ones (with end-of-run staleness) and keeps running loops as they
 * are. `reload` applies a changed job config to the running loops.
 */
import type { Logger } from "../log/index.ts";
import { ScrapeLoop, type LoopDeps, type StopMode } from "./loop.ts";
import { populateTargetLabels, Target } from "./target.ts";
import type { ActiveTarget, DroppedTarget, ScrapeJobConfig, TargetGroup, TargetMetadata } from "./types.ts";

/** The targets and loops of one scrape job. */
export class ScrapePool {
  private readonly loops = new Map<string, ScrapeLoop>();
  private dropped: DroppedTarget[] = [];
  /** Targets held back because the pool exceeded target_limit (not scraped). */
  private limitedTargets: Target[] = [];
  private readonly logger: Logger;

  constructor(private cfg: ScrapeJobConfig, private readonly deps: LoopDeps) {
    this.logger = deps.logger.with({ component: "scrape manager", scrape_pool: cfg.job_name });
  }

  /** The job config the pool runs with. */
  get config(): ScrapeJobConfig {
    return this.cfg;
  }

  /** Applies a changed job config: running loops keep their targets' state but flush their series caches. */
  reload(cfg: ScrapeJobConfig, groups: Iterable<TargetGroup>): void {
    this.cfg = cfg;
    this.deps.metrics.poolReloads.inc();
    for (const loop of this.loops.values()) loop.reconfigure(cfg);
    this.sync(groups);
  }

  /** Recomputes the targets from the job's groups and starts/retires loops accordingly. */
  sync(groups: Iterable<TargetGroup>): void {
    const started = performance.now();
    const job = this.cfg.job_name;
    const m = this.deps.metrics;
    const active = new Map<string, Target>();
    const dropped: DroppedTarget[] = [];
    const keepDropped = this.cfg.keep_dropped_targets ?? 0;
    for (const g of groups) {
      for (const tl of g.targets) {
        const r = populateTargetLabels(g.labels, tl, this.cfg);
        if (r.kind === "active") {
          const t = new Target(r.labels, r.discovered, job, this.cfg.params);
          if (!active.has(t.key)) active.set(t.key, t);
          continue;
        }
        if (r.error) this.logger.warn("Creating target failed", { err: r.error });
        if (keepDropped === 0 || dropped.length < keepDropped) dropped.push({ discoveredLabels: r.discovered, scrapePool: job });
      }
    }
    this.dropped = dropped;
    const limit = this.cfg.target_limit;
    m.poolTargetLimit.get([job]).set(limit);
    if (limit > 0 && active.size > limit) {
      m.exceededTargetLimit.inc();
      const err = `target_limit exceeded (number of targets: ${active.size}, limit: ${limit})`;
      this.logger.error("Scrape pool target limit exceeded", { err });
      for (const [key, loop] of this.loops) {
        void loop.stop("retire");
        this.loops.delete(key);
      }
      this.limitedTargets = [...active.values()];
      for (const t of this.limitedTargets) {
        t.health = "down";
        t.lastError = err;
      }
    } else {
      this.limitedTargets = [];
      for (const [key, loop] of this.loops) {
        if (!active.has(key)) {
          void loop.stop("retire");
          this.loops.delete(key);
        }
      }
      for (const [key, t] of active) {
        if (this.loops.has(key)) continue;
        const loop = new ScrapeLoop(t, this.cfg, this.deps);
        this.loops.set(key, loop);
        loop.start();
      }
    }
    m.poolTargets.get([job]).set(this.loops.size);
    m.poolSyncs.get([job]).inc();
    m.syncLength.get([job]).observe((performance.now() - started) / 1000);
  }

  /** Stops every loop; "retire" writes end-of-run staleness markers, "shutdown" does not. */
  async stop(mode: StopMode): Promise<void> {
    const loops = [...this.loops.values()];
    this.loops.clear();
    await Promise.all(loops.map((l) => l.stop(mode)));
    const job = this.cfg.job_name;
    this.deps.metrics.poolTargets.remove([job]);
    this.deps.metrics.poolTargetLimit.remove([job]);
  }

  /** Snapshots of the scraped targets (and of targets held back by target_limit). */
  activeTargets(): ActiveTarget[] {
    const out: ActiveTarget[] = [];
    for (const loop of this.loops.values()) out.push(loop.target.info());
    for (const t of this.limitedTargets) out.push(t.info());
    return out;
  }

  /** Each scraped target with the metric metadata of its recent scrapes (targets held back by target_limit have none). */
  targetsMetadata(): TargetMetadata[] {
    const out: TargetMetadata[] = [];
    for (const loop of this.loops.values()) out.push({ target: loop.target.info(), metadata: loop.series.metadata() });
    for (const t of this.limitedTargets) out.push({ target: t.info(), metadata: [] });
    return out;
  }

  /** Targets dropped by relabeling or invalid, up to keep_dropped_targets. */
  droppedTargets(): DroppedTarget[] {
    return [...this.dropped];
  }

  /** The running loops, for tests. */
  runningLoops(): ScrapeLoop[] {
    return [...this.loops.values()];
  }
}
