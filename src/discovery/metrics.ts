/**
 * Discovery metrics under Prometheus's names. A `Registry` refuses a second
 * registration of a name, while many discoverers (and a scrape and a notify
 * manager) share one registry, so each metric set is registered once per
 * registry and handed out to every later caller.
 */
import { Registry, type Counter, type Histogram } from "../model/index.ts";

const shared = new WeakMap<Registry, Map<string, unknown>>();

/**
 * Registers the metrics `make` creates once per registry and `key`, and
 * returns the same instance on every later call. Without a registry a fresh,
 * private one is used (nothing is exported).
 *
 * @example
 * const m = sharedMetrics(reg, "consul", (r) => ({ rpcFailures: r.counter("prometheus_sd_consul_rpc_failures_total", "…") }));
 */
export function sharedMetrics<T>(registry: Registry | undefined, key: string, make: (r: Registry) => T): T {
  const reg = registry ?? new Registry();
  let byKey = shared.get(reg);
  if (!byKey) {
    byKey = new Map();
    shared.set(reg, byKey);
  }
  if (!byKey.has(key)) byKey.set(key, make(reg));
  return byKey.get(key) as T;
}

/** Metrics of the discovery manager; children are labeled by manager name ("scrape", "notify"). */
export interface ManagerMetrics {
  /** prometheus_sd_discovered_targets{config,name}: current targets per job. */
  discoveredTargets: ReturnType<Registry["gaugeVec"]>;
  /** prometheus_sd_received_updates_total{name}: updates received from discoverers. */
  receivedUpdates: ReturnType<Registry["counterVec"]>;
  /** prometheus_sd_updates_total{name}: batched updates sent to the consumer. */
  updates: ReturnType<Registry["counterVec"]>;
  /** prometheus_sd_failed_configs{name}: configs that could not be turned into a discoverer. */
  failedConfigs: ReturnType<Registry["gaugeVec"]>;
}

/** The manager metrics of `registry` (registered on first use). */
export function managerMetrics(registry: Registry | undefined): ManagerMetrics {
  return sharedMetrics(registry, "manager", (r) => ({
    discoveredTargets: r.gaugeVec("prometheus_sd_discovered_targets", "Current number of discovered targets.", ["config", "name"]),
    receivedUpdates: r.counterVec("prometheus_sd_received_updates_total", "Total number of update events received from the SD providers.", ["name"]),
    updates: r.counterVec("prometheus_sd_updates_total", "Total number of update events sent to the SD consumers.", ["name"]),
    failedConfigs: r.gaugeVec("prometheus_sd_failed_configs", "Current number of service discovery configurations that failed to load.", ["name"]),
  }));
}

/** Metrics of file_sd. */
export interface FileSDMetrics {
  readErrors: Counter;
  /** A histogram here; Prometheus exports a summary under the same name. */
  scanDuration: Histogram;
  watcherErrors: Counter;
  /** prometheus_sd_file_mtime_seconds{filename}: mtime of each file read, set at read time. */
  mtime: ReturnType<Registry["gaugeVec"]>;
}

/** The file_sd metrics of `registry` (registered on first use). */
export function fileSDMetrics(registry: Registry | undefined): FileSDMetrics {
  return sharedMetrics(registry, "file", (r) => ({
    readErrors: r.counter("prometheus_sd_file_read_errors_total", "The number of File-SD read errors."),
    scanDuration: r.histogram("prometheus_sd_file_scan_duration_seconds", "The duration of the File-SD scan in seconds."),
    watcherErrors: r.counter("prometheus_sd_file_watcher_errors_total", "The number of File-SD errors caused by filesystem watch failures."),
    mtime: r.gaugeVec("prometheus_sd_file_mtime_seconds", "Timestamp (mtime) of files read by FileSD. Timestamp is set at read time.", ["filename"]),
  }));
}

/** Metrics of http_sd. */
export interface HTTPSDMetrics {
  failures: Counter;
}

/** The http_sd metrics of `registry` (registered on first use). */
export function httpSDMetrics(registry: Registry | undefined): HTTPSDMetrics {
  return sharedMetrics(registry, "http", (r) => ({
    failures: r.counter("prometheus_sd_http_failures_total", "Number of HTTP service discovery refresh failures."),
  }));
}

/** Metrics of dns_sd. */
export interface DNSSDMetrics {
  lookups: Counter;
  lookupFailures: Counter;
}

/** The dns_sd metrics of `registry` (registered on first use). */
export function dnsSDMetrics(registry: Registry | undefined): DNSSDMetrics {
  return sharedMetrics(registry, "dns", (r) => ({
    lookups: r.counter("prometheus_sd_dns_lookups_total", "The number of DNS-SD lookups."),
    lookupFailures: r.counter("prometheus_sd_dns_lookup_failures_total", "The number of DNS-SD lookup failures."),
  }));
}

/** Metrics every refresh-based mechanism shares, labeled by mechanism. */
export interface RefreshMetrics {
  /** prometheus_sd_refresh_failures_total{mechanism} */
  failures: Counter;
  /** prometheus_sd_refresh_duration_seconds{mechanism}: a histogram here; Prometheus exports a summary under the same name. */
  duration: Histogram;
}

/**
 * The refresh metrics of `mechanism` ("http", "dns", "ec2", …) in `registry`.
 * Registered under the shared key "refresh" so every mechanism's children
 * live in the same two families.
 */
export function refreshMetrics(registry: Registry | undefined, mechanism: string): RefreshMetrics {
  const vecs = sharedMetrics(registry, "refresh", (r) => ({
    failures: r.counterVec("prometheus_sd_refresh_failures_total", "Number of refresh failures for the given SD mechanism.", ["mechanism"]),
    duration: r.histogramVec("prometheus_sd_refresh_duration_seconds", "The duration of a refresh in seconds for the given SD mechanism.", ["mechanism"]),
  }));
  return { failures: vecs.failures.get([mechanism]), duration: vecs.duration.get([mechanism]) };
}
