/**
 * The server room's door: the runtime every long-running role runs on
 * (listening with the web config, signals, serialized reloads, ordered
 * start and stop of named components, readiness), and the roles declared
 * on it: the Prometheus server and the Alertmanager. docs/architecture.md
 * says how to add a role or a component.
 */
export {
  guardedFetch,
  limitInFlight,
  listen,
  Reloads,
  runRole,
  type Component,
  type Listener,
  type ListenSpec,
  type LoadedRoleConfig,
  type RoleSpec,
  type RuntimeControl,
} from "./runtime.ts";
export {
  apiV1Routes,
  hookComponent,
  runServer,
  type CloseHook,
  type OpenStorage,
  type ReloadHook,
  type ServerComponent,
  type ServerContext,
  type ServerOptions,
} from "./prometheus.ts";
export {
  serverFlags,
  effectiveRetention,
  externalURL,
  parseListenAddress,
  routePrefix,
  DEFAULT_RETENTION_MS,
  KNOWN_FEATURES,
  type ListenAddress,
  type ServerFlags,
} from "./server_flags.ts";
export {
  alertmanagerCommand,
  alertmanagerComponent,
  alertmanagerExternalURL,
  alertmanagerFlags,
  alertmanagerRole,
  alertmanagerVersionInfo,
  builtinAlertmanagerComponent,
  runAlertmanager,
  BUILTIN_STORAGE_DIR,
  type AlertmanagerComponent,
  type AlertmanagerFlags,
  type AlertmanagerRunOptions,
  type AlertmanagerSettings,
} from "./alertmanager.ts";
export { alertmanagerWebApp, type AlertmanagerWebOptions } from "./alertmanager_app.ts";
export { ReloadStatus } from "./reloader.ts";
export { lockDataDir, LOCK_FILE } from "./lockfile.ts";
export { serverAPIContext, retentionText, type ServerAPISources } from "./server_api.ts";
export { ScrapeService, globalURLOptions } from "./scrape_component.ts";
export { RulesService, builtinAlertmanagerConfig, clusterAlertmanagerURLs } from "./rules_component.ts";
export { announcedWebURL, listenerOf, minorityHoldFlag, type JoinableCluster } from "./cluster_component.ts";
export { buildInfo, versionText, type BuildInfo } from "./version.ts";
export {
  pushgatewayCommand,
  pushgatewayComponent,
  pushgatewayFlags,
  pushgatewayRole,
  registerPushgatewayBuildInfo,
  runPushgateway,
  PUSHGATEWAY_VERSION,
  type PushgatewayComponent,
  type PushgatewayFlags,
  type PushgatewaySettings,
} from "./pushgateway.ts";
