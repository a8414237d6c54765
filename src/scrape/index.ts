/**
 * The scrape room's door: scrape pools and loops for the targets of each
 * job, target health for the targets API, staleness markers, and the pure
 * pieces they are built from (target label population, per-target series
 * cache and batch append).
 *
 * @example
 * const sm = new ScrapeManager({ appender: () => head.appender(), registry, logger });
 * sm.applyConfig(config);
 * sm.setTargetGroups("node", [{ source: "file_sd/0", targets: [labelsFromRecord({ __address__: "h:9100" })], labels: [] }]);
 * sm.activeTargets(); // [{ scrapeUrl: "http://h:9100/metrics", health: "unknown", … }]
 * await sm.stop();
 */
export { ScrapeManager, staticTargetGroups, type ScrapeManagerOptions } from "./manager.ts";
export { acceptHeader } from "./loop.ts";
export { populateTargetLabels, targetURL, type PopulatedTarget } from "./target.ts";
export {
  mergeTargetLabels, REPORT_SERIES, TargetSeries, type AppendSettings, type BodyAppendResult, type ScrapedMetricMetadata, type ScrapeReport,
} from "./series.ts";
export type {
  ActiveTarget, DroppedTarget, ScrapeAuthorization, ScrapeBasicAuth, ScrapeJobConfig, ScrapeManagerConfig,
  ScrapeStaticConfig, ScrapeTLSConfig, TargetGroup, TargetHealth, TargetMetadata,
} from "./types.ts";
