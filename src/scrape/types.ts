/**
 * The parts of `prometheus.yml` the scrape room reads, and the shapes it
 * reports. The config types are structural subsets of the config room's
 * `ScrapeConfig` / `PrometheusConfig` (same snake_case names, durations in
 * ms, sizes in bytes), so a loaded config is passed in as it is.
 */
import type { Labels, RelabelRule } from "../model/index.ts";
import type { ScrapedMetricMetadata } from "./series.ts";

/** Basic auth credentials; a `*_file` is read on every scrape, as Prometheus does. */
export interface ScrapeBasicAuth {
  username?: string;
  username_file?: string;
  password?: string;
  password_file?: string;
}

/** The `Authorization` header (`type` defaults to "Bearer"). */
export interface ScrapeAuthorization {
  type?: string;
  credentials?: string;
  credentials_file?: string;
}

/** Client TLS settings for https targets. */
export interface ScrapeTLSConfig {
  /** Inline PEM alternatives to the `*_file` fields. */
  ca?: string;
  cert?: string;
  key?: string;
  ca_file?: string;
  cert_file?: string;
  key_file?: string;
  server_name?: string;
  insecure_skip_verify?: boolean;
}

/** One `static_configs` entry. */
export interface ScrapeStaticConfig {
  readonly targets: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
}

/** One scrape job, after the config room applied defaults. */
export interface ScrapeJobConfig {
  job_name: string;
  honor_labels: boolean;
  honor_timestamps: boolean;
  /** Track staleness of samples with explicit timestamps too (Prometheus's `track_timestamps_staleness`). */
  track_timestamps_staleness?: boolean;
  scrape_interval: number;
  scrape_timeout: number;
  metrics_path: string;
  scheme: string;
  params?: Readonly<Record<string, readonly string[]>>;
  /** Bytes; 0 = no limit. */
  body_size_limit: number;
  sample_limit: number;
  target_limit: number;
  label_limit: number;
  label_name_length_limit: number;
  label_value_length_limit: number;
  /** How many dropped targets to remember for the API; 0 = all. */
  keep_dropped_targets?: number;
  scrape_protocols?: readonly string[];
  metric_name_validation_scheme?: "utf8" | "legacy";
  relabel_configs: readonly RelabelRule[];
  metric_relabel_configs: readonly RelabelRule[];
  static_configs: readonly ScrapeStaticConfig[];
  basic_auth?: ScrapeBasicAuth;
  authorization?: ScrapeAuthorization;
  tls_config?: ScrapeTLSConfig;
  follow_redirects?: boolean;
  /** false sends `Accept-Encoding: identity` (Prometheus's `enable_compression`). */
  enable_compression?: boolean;
  proxy_url?: string;
}

/** What `ScrapeManager.applyConfig` needs from a `PrometheusConfig`. */
export interface ScrapeManagerConfig {
  scrape_configs: readonly ScrapeJobConfig[];
}

/**
 * A group of targets from one discovery source. `source` identifies the group
 * within its job: a later group with the same source replaces it, and one
 * with no targets removes it. Each target holds at least `__address__`.
 */
export interface TargetGroup {
  source: string;
  targets: Labels[];
  labels: Labels;
}

/** Health of a target as the targets API reports it. */
export type TargetHealth = "up" | "down" | "unknown";

/** A target being scraped, for `/api/v1/targets` (`activeTargets`). */
export interface ActiveTarget {
  /** Labels before relabeling (discovered labels plus the job defaults). */
  discoveredLabels: Labels;
  /** Labels after relabeling, without `__`-prefixed ones: what every scraped series gets. */
  labels: Labels;
  scrapePool: string;
  scrapeUrl: string;
  globalUrl: string;
  /** "" when the last scrape succeeded. */
  lastError: string;
  /** Start of the last scrape, ms since the epoch; 0 before the first one. */
  lastScrape: number;
  /** Seconds the last scrape took. */
  lastScrapeDuration: number;
  health: TargetHealth;
  /** Scrape interval and timeout in ms. */
  scrapeInterval: number;
  scrapeTimeout: number;
}

/** A target that relabeling dropped (or that was invalid), for `droppedTargets`. */
export interface DroppedTarget {
  discoveredLabels: Labels;
  scrapePool: string;
}

/** An active target with the metadata of the metric families it exposed recently, for `/api/v1/targets/metadata`. */
export interface TargetMetadata {
  target: ActiveTarget;
  metadata: ScrapedMetricMetadata[];
}
