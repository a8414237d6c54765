/** The web room's door: the HTTP application and self-metrics. */
export { newWebApp, normalizeRoutePrefix, TEXT_FORMAT_CONTENT_TYPE, DEFAULT_PAGE_TITLE, type WebOptions } from "./app.ts";
export { lifecycleRoutes, readyOnly, type LifecycleHooks } from "./lifecycle.ts";
export { instrumentRequests, HTTP_DURATION_BUCKETS } from "./instrument.ts";
export { cors } from "./cors.ts";
export {
  registerProcessMetrics,
  registerBuildInfo,
  parseProcStat,
  parseMaxOpenFiles,
  parseResidentBytes,
  type ProcStat,
  type BuildLabels,
} from "./self_metrics.ts";
export {
  loadWebConfig,
  parseWebConfig,
  basicAuth,
  responseHeaders,
  serveTLSOptions,
  type ServeTLSOptions,
  type WebConfig,
  type WebTLSConfig,
  type ClientAuthType,
} from "./web_config.ts";
export {
  targetsAPI,
  globalURL,
  metricMetadataByName,
  rfc3339Nano,
  type GlobalURLOptions,
  type TargetMetricMetadata,
  type TargetsAPIOptions,
  type TargetsSource,
  type TargetWithMetadata,
} from "./targets.ts";
export { rulesAPI, parseRulesFilter, type RulesSource } from "./rules.ts";
export { federate, acceptsProtoDelimited, FEDERATE_PROTO_CONTENT_TYPE, FEDERATE_TEXT_CONTENT_TYPE, type FederateOptions } from "./federate.ts";
export { adminAPI, snapshotName, type AdminOptions } from "./admin.ts";
