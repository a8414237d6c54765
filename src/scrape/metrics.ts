/**
 * The scrape subsystem's own metrics, with Prometheus's names. Prometheus
 * exports `prometheus_target_interval_length_seconds` and
 * `prometheus_target_sync_length_seconds` as summaries; the registry has no
 * summaries, so they are histograms here (same names, `_bucket` series).
 */
import type { Counter, Gauge, Histogram, Registry } from "../model/index.ts";

type VecOf<T> = { get(values: readonly string[]): T; remove(values: readonly string[]): void };

const INTERVAL_BUCKETS = [0.01, 0.1, 0.5, 1, 5, 10, 15, 30, 60, 120, 300];
const SYNC_BUCKETS = [0.0001, 0.001, 0.01, 0.1, 1, 10];

/** Every counter, gauge and histogram the scrape manager, pools and loops update. */
export interface ScrapeMetrics {
  intervalLength: VecOf<Histogram>;
  poolTargets: VecOf<Gauge>;
  poolTargetLimit: VecOf<Gauge>;
  poolSyncs: VecOf<Counter>;
  syncLength: VecOf<Histogram>;
  poolsTotal: Counter;
  poolsFailed: Counter;
  poolReloads: Counter;
  poolReloadsFailed: Counter;
  exceededTargetLimit: Counter;
  exceededSampleLimit: Counter;
  exceededBodySizeLimit: Counter;
  exceededLabelLimits: Counter;
  sampleOutOfOrder: Counter;
  sampleDuplicate: Counter;
  sampleOutOfBounds: Counter;
}

/** Registers the scrape metrics in `reg` (once per registry). */
export function registerScrapeMetrics(reg: Registry): ScrapeMetrics {
  return {
    intervalLength: reg.histogramVec("prometheus_target_interval_length_seconds", "Actual intervals between scrapes.", ["interval"], INTERVAL_BUCKETS),
    poolTargets: reg.gaugeVec("prometheus_target_scrape_pool_targets", "Current number of targets in this scrape pool.", ["scrape_job"]),
    poolTargetLimit: reg.gaugeVec("prometheus_target_scrape_pool_target_limit", "Maximum number of targets allowed in this scrape pool.", ["scrape_job"]),
    poolSyncs: reg.counterVec("prometheus_target_scrape_pool_sync_total", "Total number of syncs that were executed on a scrape pool.", ["scrape_job"]),
    syncLength: reg.histogramVec("prometheus_target_sync_length_seconds", "Actual interval to sync the scrape pool.", ["scrape_job"], SYNC_BUCKETS),
    poolsTotal: reg.counter("prometheus_target_scrape_pools_total", "Total number of scrape pool creation attempts."),
    poolsFailed: reg.counter("prometheus_target_scrape_pools_failed_total", "Total number of scrape pool creations that failed."),
    poolReloads: reg.counter("prometheus_target_scrape_pool_reloads_total", "Total number of scrape pool reloads."),
    poolReloadsFailed: reg.counter("prometheus_target_scrape_pool_reloads_failed_total", "Total number of failed scrape pool reloads."),
    exceededTargetLimit: reg.counter("prometheus_target_scrape_pool_exceeded_target_limit_total", "Total number of times scrape pools hit the target limit, during sync or config reload."),
    exceededSampleLimit: reg.counter("prometheus_target_scrapes_exceeded_sample_limit_total", "Total number of scrapes that hit the sample limit and were rejected."),
    exceededBodySizeLimit: reg.counter("prometheus_target_scrapes_exceeded_body_size_limit_total", "Total number of scrapes that hit the body size limit"),
    exceededLabelLimits: reg.counter("prometheus_target_scrape_pool_exceeded_label_limits_total", "Total number of times scrape pools hit the label limits, during sync or config reload."),
    sampleOutOfOrder: reg.counter("prometheus_target_scrapes_sample_out_of_order_total", "Total number of samples rejected due to not being out of the expected order."),
    sampleDuplicate: reg.counter("prometheus_target_scrapes_sample_duplicate_timestamp_total", "Total number of samples rejected due to duplicate timestamps but different values."),
    sampleOutOfBounds: reg.counter("prometheus_target_scrapes_sample_out_of_bounds_total", "Total number of samples rejected due to timestamp falling out of the time bounds."),
  };
}
