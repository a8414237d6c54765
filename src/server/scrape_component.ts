/**
 * Scraping inside the server: a {@link ServerComponent} that runs the scrape
 * manager (samples into the DB's head) and the discovery manager feeding it
 * target groups, applies every (re)loaded configuration to both, and stops
 * them at shutdown before storage closes.
 *
 * The targets API is built before storage opens (the HTTP server answers at
 * once), so {@link ScrapeService} is also the API's view of scraping: empty
 * until the component has started.
 */
import type { PrometheusConfig } from "../config/index.ts";
import { DiscoveryManager, sdConfigsOf, unsupportedSDConfigs } from "../discovery/index.ts";
import { ScrapeManager, type ActiveTarget, type DroppedTarget, type TargetMetadata } from "../scrape/index.ts";
import { metricMetadataByName, type GlobalURLOptions, type TargetsSource } from "../web/index.ts";
import type { MetricMetadata } from "../web/api/index.ts";
import type { ServerComponent, ServerContext } from "./prometheus.ts";
import { externalURL, type ServerFlags } from "./server_flags.ts";

/**
 * Owns the scrape and discovery managers of a running server. Discovery
 * hands changed target groups over every 5s, as in Prometheus.
 *
 * @example
 * const scraping = new ScrapeService();                 // runServer does this
 * targetsAPI(scraping, opts);                           // apiV1Routes mounts it under /api/v1
 * components.push(scraping.component);                  // started once storage is open
 * scraping.activeTargets();                             // what /api/v1/targets shows
 */
export class ScrapeService implements TargetsSource {
  private scrapeManager: ScrapeManager | undefined;
  private discoveryManager: DiscoveryManager | undefined;
  private poolNames: string[] = [];

  /** The server component: starts both managers and registers the reload and close hooks. */
  readonly component: ServerComponent = (ctx: ServerContext) => {
    if (this.scrapeManager) throw new Error("scrape component started twice");
    const scrapeManager = new ScrapeManager({ appender: () => ctx.db.appender(), logger: ctx.logger, registry: ctx.registry });
    const discoveryManager = new DiscoveryManager({
      logger: ctx.logger,
      registry: ctx.registry,
      onUpdate: (job, groups) => scrapeManager.setTargetGroups(job, groups),
    });
    this.scrapeManager = scrapeManager;
    this.discoveryManager = discoveryManager;
    ctx.reloadHooks.push((config) => this.apply(config, ctx));
    ctx.closeHooks.push(async () => {
      ctx.logger.info("Stopping scrape discovery manager...");
      await discoveryManager.stop();
      ctx.logger.info("Stopping scrape manager...");
      await scrapeManager.stop();
      ctx.logger.info("Scrape manager stopped");
    });
  };

  private apply(config: PrometheusConfig, ctx: ServerContext): void {
    const scrapeManager = this.scrapeManager!;
    const discoveryManager = this.discoveryManager!;
    for (const sc of config.scrape_configs) {
      for (const mechanism of unsupportedSDConfigs(sc)) {
        ctx.logger.warn("Service discovery mechanism not supported; its targets are not scraped", { job: sc.job_name, mechanism });
      }
    }
    scrapeManager.applyConfig(config);
    discoveryManager.applyConfig(config.scrape_configs.map((sc) => ({ name: sc.job_name, configs: sdConfigsOf(sc) })));
    this.poolNames = config.scrape_configs.map((sc) => sc.job_name);
  }

  /** Targets being scraped; none before the component started. */
  activeTargets(): ActiveTarget[] {
    return this.scrapeManager?.activeTargets() ?? [];
  }

  /** Targets dropped by relabeling. */
  droppedTargets(): DroppedTarget[] {
    return this.scrapeManager?.droppedTargets() ?? [];
  }

  /** The jobs of the configuration in effect, in config order. */
  scrapePools(): string[] {
    return [...this.poolNames];
  }

  /** Each scraped target with the metadata of its metrics, for `/targets/metadata` and `/metadata`; none before the component started. */
  targetsMetadata(): TargetMetadata[] {
    return this.scrapeManager?.targetsMetadata() ?? [];
  }

  /** Metadata of the scraped metrics by name, for the query API's `/metadata`. */
  metricMetadata(): Map<string, MetricMetadata[]> {
    return metricMetadataByName(this);
  }

}

/** Prometheus's GlobalURLOptions from the server flags. */
export function globalURLOptions(flags: ServerFlags): GlobalURLOptions {
  const external = new URL(externalURL(flags));
  return { listenPort: String(flags["web.listen-address"].port), host: external.host, scheme: external.protocol.replace(/:$/, "") };
}
