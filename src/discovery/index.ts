/**
 * The discovery room's door: the manager that runs service-discovery
 * mechanisms and feeds their target groups to the scrape manager, and the
 * mechanisms themselves (file, http, dns; consul and ec2).
 *
 * @example
 * const dm = new DiscoveryManager({ logger, registry, onUpdate: (job, groups) => scrapeManager.setTargetGroups(job, groups) });
 * dm.applyConfig(config.scrape_configs.map((sc) => ({ name: sc.job_name, configs: sdConfigsOf(sc) })));
 * await dm.stop();
 */
export type { Discoverer, DiscovererOptions, TargetGroup } from "./types.ts";
export {
  DiscoveryManager, newDiscoverer, sdConfigsOf, unsupportedSDConfigs,
  type DiscovererKind, type DiscoveryJob, type DiscoveryManagerOptions, type SDConfigs,
} from "./manager.ts";
export { DEFAULT_FILE_SD_REFRESH_MS, FileDiscoverer, parseTargetGroupFile, type FileSDOptions } from "./file.ts";
export { DEFAULT_HTTP_SD_REFRESH_MS, HTTP_SD_BODY_LIMIT_BYTES, HTTPDiscoverer, type HTTPSDOptions } from "./http.ts";
export { DEFAULT_DNS_SD_REFRESH_MS, DNSDiscoverer, type DNSDiscovererOptions, type DNSRecordType, type DNSResolver, type DNSSDOptions } from "./dns.ts";
export { decodeTargetGroups } from "./targetgroup.ts";
export { runRefreshLoop, sleepUnlessAborted, type RefreshLoopOptions } from "./refresh.ts";
export { authorizationHeader, checkHTTPClientConfig, readBodyLimited, sdRequestInit, type SDHTTPClientConfig, type SDRequestInit } from "./httpclient.ts";
export { refreshMetrics, sharedMetrics, type RefreshMetrics } from "./metrics.ts";
export * from "./consul.ts";
export * from "./ec2.ts";
