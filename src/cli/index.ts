/**
 * The cli room's door: the executable's entry (`main`), the server role and
 * the hooks later components plug into, and the flag parser other roles
 * declare their flags with. The compiled binary starts at src/cli/main.ts.
 */
export { main, PROGRAM, ROLES, rootCommand } from "./main.ts";
export type { MainIO, Role, RunRequest } from "./role.ts";
export {
  runServer,
  type CloseHook,
  type OpenStorage,
  type ReloadHook,
  type ServerComponent,
  type ServerContext,
  type ServerOptions,
} from "./server.ts";
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
  boolFlag,
  command,
  customFlag,
  enumFlag,
  intFlag,
  parseCommandLine,
  renderUsage,
  stringFlag,
  stringsFlag,
  UsageError,
  type ArgSpec,
  type Command,
  type Flag,
  type FlagOptions,
  type FlagSpecs,
  type FlagValues,
  type ParsedCommandLine,
} from "./flags.ts";
export { checkConfigFiles } from "./check_config.ts";
export { checkAlertmanagerConfigFiles } from "./check_alertmanager.ts";
export { ConfigReloader } from "./config_reloader.ts";
export { lockDataDir, LOCK_FILE } from "./lockfile.ts";
export { serverAPIContext, retentionText, type ServerAPISources } from "./server_api.ts";
export { ScrapeService, globalURLOptions } from "./scrape_component.ts";
export { toolCommand, toolRole, runTool, DEFAULT_BLOCKS_DIR, type ToolOutput } from "./tool.ts";
export { buildInfo, versionText, type BuildInfo } from "./version.ts";
