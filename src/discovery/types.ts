/**
 * The contracts every service-discovery mechanism implements. The manager
 * runs one `Discoverer` per configured mechanism instance and forwards the
 * groups it reports to the scrape manager.
 */
import type { Labels, Registry } from "../model/index.ts";
import type { Logger } from "../log/index.ts";

/**
 * A group of targets from one source, as Prometheus's targetgroup.Group.
 * A later group with the same `source` replaces an earlier one; an empty
 * `targets` removes the group. Structurally identical to src/scrape's
 * `TargetGroup`, so groups pass between the rooms unchanged.
 *
 * @example
 * const g: TargetGroup = { source: "/etc/sd/a.json:0", targets: [labelsFromRecord({ __address__: "h:9100" })], labels: labelsFromRecord({ env: "prod" }) };
 */
export interface TargetGroup { source: string; targets: Labels[]; labels: Labels }

/** One running discovery mechanism instance. It calls `update` with changed groups (full set on first run). */
export interface Discoverer {
  /** Starts discovery; resolves when stopped. Must never throw: errors are logged and retried (keeping the last targets). */
  run(update: (groups: TargetGroup[]) => void, signal: AbortSignal): Promise<void>;
}

/** What every discoverer constructor receives besides its own config. */
export interface DiscovererOptions {
  logger: Logger;
  /** Where mechanism metrics (e.g. prometheus_sd_http_failures_total) are registered; none when absent. */
  registry?: Registry;
  /** for tests: replaces global fetch */
  fetch?: typeof fetch;
}
