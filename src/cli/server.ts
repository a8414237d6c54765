/**
 * The server role (`promts` with no subcommand): loads the configuration,
 * serves HTTP at once (so /-/healthy answers, and /-/ready and /api/v1 say
 * 503 during WAL replay), opens storage, starts the components, then turns
 * ready. Handles SIGTERM/SIGINT (orderly shutdown), SIGHUP (reload) and the
 * lifecycle endpoints.
 *
 * Scraping (scrape + discovery managers, src/cli/scrape_component.ts) is
 * always the first component; its target routes sit beside the query API.
 * Rules and the notifier (src/cli/rules_component.ts) come second, with
 * /api/v1/rules, /alerts and /alertmanagers.
 *
 * With --alertmanager.config.file the built-in Alertmanager runs too, its
 * API v2 under /api/v2 on the same listener (src/cli/alertmanager_role.ts);
 * reloads and shutdown cover it.
 *
 * Later roles plug in as {@link ServerComponent}s: started once storage is
 * open, they register reload hooks (given every new configuration) and close
 * hooks (run in reverse order at shutdown, before storage closes).
 */
import { loadConfigFile, type PrometheusConfig } from "../config/index.ts";
import { newLogger, type Logger } from "../log/index.ts";
import { Registry } from "../model/index.ts";
import { Engine } from "../promql/index.ts";
import { openDB, type DB } from "../tsdb/index.ts";
import {
  loadWebConfig,
  newWebApp,
  registerBuildInfo,
  registerProcessMetrics,
  serveTLSOptions,
  type ServeTLSOptions,
  type WebConfig,
} from "../web/index.ts";
import { apiV1 } from "../web/api/index.ts";
import { attachBuiltinAlertmanager, reloadWithAlertmanager, type RunningAlertmanager } from "./alertmanager_role.ts";
import { ConfigReloader } from "./config_reloader.ts";
import { lockDataDir } from "./lockfile.ts";
import { RulesService } from "./rules_component.ts";
import { ScrapeService } from "./scrape_component.ts";
import { serverAPIContext } from "./server_api.ts";
import { effectiveRetention, externalURL, KNOWN_FEATURES, routePrefix, type ServerFlags } from "./server_flags.ts";
import { buildInfo, type BuildInfo } from "./version.ts";

/** Applies a new configuration; throwing fails the reload (the old config stays in effect). */
export type ReloadHook = (config: PrometheusConfig) => void | Promise<void>;

/** Releases what a component holds; run at shutdown in reverse registration order. */
export type CloseHook = () => void | Promise<void>;

/** What components share: the configuration in effect, storage, metrics, logging. */
export interface ServerContext {
  readonly flags: ServerFlags;
  /** See {@link externalURL}: e.g. "http://host:9090" or "https://example.com/prometheus". */
  readonly externalURL: string;
  /** The configuration in effect; replaced after every successful reload. */
  config: PrometheusConfig;
  readonly db: DB;
  /** The PromQL engine the API uses; rules evaluate with it too. */
  readonly engine: Engine;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Called in order with the initial configuration and on every reload. */
  readonly reloadHooks: ReloadHook[];
  readonly closeHooks: CloseHook[];
}

/** Something the server runs (scrape manager, rule manager, …), started once storage is open. */
export type ServerComponent = (ctx: ServerContext) => void | Promise<void>;

/** How the server opens storage: the tsdb room's openDB, or a test's fake. */
export type OpenStorage = typeof openDB;

/** Knobs for embedding and testing the server. */
export interface ServerOptions {
  components?: readonly ServerComponent[];
  /** Opens storage; tests pass a fake. Defaults to the tsdb room's openDB. */
  openStorage?: OpenStorage;
  /** Replaces the logger built from --log.level/--log.format. */
  logger?: Logger;
  /** Whether to handle SIGTERM, SIGINT and SIGHUP (default true). */
  handleSignals?: boolean;
  /** Called with the base URL once the HTTP server listens (port 0 picks a free one). */
  onListening?: (url: string) => void;
  /** Flag values as text, shown by /api/v1/status/flags (ParsedCommandLine.flagText). */
  flagText?: Readonly<Record<string, string>>;
}

/** How long in-flight HTTP requests get to finish at shutdown. */
const HTTP_DRAIN_TIMEOUT_MS = 5000;

/** Bun's idle timeout cannot exceed 255 seconds. */
const MAX_IDLE_TIMEOUT_S = 255;

/** Why the server stops: the log message and its fields. */
interface StopReason {
  msg: string;
  fields?: Record<string, unknown>;
}

/** The files read before anything starts; any error in them ends startup with exit 1. */
interface StartupFiles {
  config: PrometheusConfig;
  webConfig?: WebConfig;
  tls?: ServeTLSOptions;
}

/** What startup acquired and shutdown must release, in reverse order. */
interface Acquired {
  releaseLock?: () => void;
  db?: DB;
  closeHooks: CloseHook[];
}

/**
 * Runs the server until it is asked to stop; resolves with the process exit
 * code: 0 after an orderly shutdown, 1 when startup or shutdown failed.
 */
export async function runServer(flags: ServerFlags, opts: ServerOptions = {}): Promise<number> {
  const startTime = new Date();
  const logger = opts.logger ?? newLogger({ level: flags["log.level"], format: flags["log.format"] });
  const info = buildInfo();
  logStartup(logger, info, flags);
  const files = readStartupFiles(flags, logger);
  if (!files) return 1;

  const registry = newServerRegistry(info);
  const reloader = new ConfigReloader(flags["config.file"], logger, registry);
  let requestStop!: (reason: StopReason) => void;
  const stopRequested = new Promise<StopReason>((resolve) => { requestStop = resolve; });
  let ready = false;
  let ctx: ServerContext | undefined;
  const engine = new Engine({
    lookbackDelta: flags["query.lookback-delta"],
    timeout: flags["query.timeout"],
    maxSamples: flags["query.max-samples"],
    maxConcurrency: flags["query.max-concurrency"],
    registry,
  });
  const scraping = new ScrapeService();
  const rules = new RulesService();
  const api = apiV1(serverAPIContext({
    engine, flags, flagText: opts.flagText ?? {}, info, reloader, startTime,
    metadata: () => scraping.metricMetadata(),
    current: () => {
      if (!ctx) throw new Error("server is not ready");
      return ctx;
    },
  }));

  let builtinAlertmanager: RunningAlertmanager | undefined;
  const app = newWebApp({
    registry,
    enableLifecycle: flags["web.enable-lifecycle"],
    isReady: () => ready,
    quit: () => requestStop({ msg: "Received termination request via web service, exiting gracefully..." }),
    reload: () => reloadWithAlertmanager(() => reloader.reload(), builtinAlertmanager),
    routePrefix: routePrefix(flags),
    pageTitle: flags["web.page-title"],
    version: info.version,
    basicAuthUsers: files.webConfig?.basicAuthUsers,
    headers: files.webConfig?.headers,
    apiV1: rules.withRulesAPI(scraping.withTargetsAPI(api, flags)),
    corsOrigin: flags["web.cors.origin"],
    logger: logger.with({ component: "web" }),
  });
  try {
    builtinAlertmanager = attachBuiltinAlertmanager(app, flags, registry, logger);
  } catch (err) {
    logger.error(`Error loading Alertmanager config (--alertmanager.config.file=${flags["alertmanager.config.file"]})`, { err });
    return 1;
  }
  const server = listen(app.fetch, flags, files.tls, logger);
  if (!server) {
    await builtinAlertmanager?.stop();
    return 1;
  }
  opts.onListening?.(server.url);
  if (builtinAlertmanager) rules.sendToBuiltinAlertmanager(new URL(server.url), routePrefix(flags), files.tls !== undefined);

  const removeSignalHandlers = (opts.handleSignals ?? true)
    ? installSignalHandlers(requestStop, () => reloadWithAlertmanager(() => reloader.reload(), builtinAlertmanager).catch(() => undefined))
    : () => {};

  const acquired: Acquired = { closeHooks: [] };
  let exitCode = 0;
  try {
    const components = [scraping.component, rules.component, ...(opts.components ?? [])];
    ctx = await startStorageAndComponents(flags, files.config, engine, registry, logger, { ...opts, components }, acquired);
    reloader.attach(ctx);
    ready = true;
    logger.info("Server is ready to receive web requests.");
  } catch (err) {
    logger.error("Startup failed", { err });
    exitCode = 1;
    requestStop({ msg: "Shutting down after failed startup" });
  }

  const reason = await stopRequested;
  logger.info(reason.msg, reason.fields);
  removeSignalHandlers();
  await server.stop();
  await builtinAlertmanager?.stop();
  if (!(await release(acquired, logger))) exitCode = 1;
  if (exitCode === 0) logger.info("See you next time!");
  return exitCode;
}

function logStartup(logger: Logger, info: BuildInfo, flags: ServerFlags): void {
  logger.info("Starting promts", { version: `(version=${info.version}, branch=${info.branch}, revision=${info.revision})` });
  logger.info("Build context", { build_context: `(bun=${info.runtimeVersion}, platform=${info.platform}, user=${info.buildUser}, date=${info.buildDate})` });
  for (const feature of flags["enable-feature"]) {
    if (!KNOWN_FEATURES.has(feature)) logger.warn("Unknown option for --enable-feature", { option: feature });
  }
}

/** Loads --config.file and --web.config.file, logging what is wrong; undefined on error. */
function readStartupFiles(flags: ServerFlags, logger: Logger): StartupFiles | undefined {
  const configFile = flags["config.file"];
  let files: StartupFiles;
  try {
    const loaded = loadConfigFile(configFile);
    for (const warning of loaded.warnings) logger.warn("Config warning", { file: configFile, warning });
    files = { config: loaded.config };
  } catch (err) {
    logger.error(`Error loading config (--config.file=${configFile})`, { file: configFile, err });
    return undefined;
  }
  const webConfigFile = flags["web.config.file"];
  if (webConfigFile === "") return files;
  try {
    files.webConfig = loadWebConfig(webConfigFile);
    files.tls = files.webConfig.tls && serveTLSOptions(files.webConfig.tls);
  } catch (err) {
    logger.error("Unable to load web configuration file", { file: webConfigFile, err });
    return undefined;
  }
  return files;
}

/** A registry with promts's process and build metrics. */
function newServerRegistry(info: BuildInfo): Registry {
  const registry = new Registry();
  registerProcessMetrics(registry);
  const [goos, goarch] = info.platform.split("/");
  registerBuildInfo(registry, {
    version: info.version, revision: info.revision, branch: info.branch,
    goversion: info.runtimeVersion, goos: goos ?? "", goarch: goarch ?? "", tags: "",
  });
  return registry;
}

/** The HTTP listener, as far as the server uses it. */
interface Listener {
  /** Base URL, e.g. "http://127.0.0.1:9090" (the real port when 0 was asked for). */
  url: string;
  /** Stops accepting; in-flight requests get HTTP_DRAIN_TIMEOUT_MS to finish. */
  stop(): Promise<void>;
}

function listen(fetch: (req: Request) => Response | Promise<Response>, flags: ServerFlags, tls: ServeTLSOptions | undefined, logger: Logger): Listener | undefined {
  const { hostname, port } = flags["web.listen-address"];
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      hostname,
      port,
      fetch,
      tls,
      idleTimeout: Math.min(MAX_IDLE_TIMEOUT_S, Math.ceil(flags["web.read-timeout"] / 1000)),
      error: (err) => {
        logger.error("HTTP handler failed", { err });
        return new Response("Internal Server Error", { status: 500 });
      },
    });
  } catch (err) {
    logger.error("Unable to start web listener", { address: `${hostname}:${port}`, err });
    return undefined;
  }
  const address = `${hostname.includes(":") ? `[${hostname}]` : hostname}:${server.port}`;
  logger.info("Start listening for connections", { component: "web", address });
  logger.info(tls ? "TLS is enabled." : "TLS is disabled.", { component: "web", address });
  return {
    url: `${tls ? "https" : "http"}://${address}`,
    stop: async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), HTTP_DRAIN_TIMEOUT_MS); });
      const forced = await Promise.race([server.stop().then(() => false), timedOut]);
      clearTimeout(timer);
      if (forced) await server.stop(true);
    },
  };
}

/** SIGTERM/SIGINT stop the server, SIGHUP reloads; returns the function removing the handlers. */
function installSignalHandlers(requestStop: (reason: StopReason) => void, reload: () => void): () => void {
  const handlers: [NodeJS.Signals, () => void][] = [
    ["SIGTERM", () => requestStop({ msg: "Received shutdown signal, exiting gracefully...", fields: { signal: "SIGTERM" } })],
    ["SIGINT", () => requestStop({ msg: "Received shutdown signal, exiting gracefully...", fields: { signal: "SIGINT" } })],
    ["SIGHUP", reload],
  ];
  for (const [signal, handler] of handlers) process.on(signal, handler);
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}

/**
 * Locks the data directory, opens storage (WAL replay), starts the
 * components and applies the startup config to their reload hooks. Records
 * everything it acquires in `acquired`, so a failure half-way still releases it.
 */
async function startStorageAndComponents(
  flags: ServerFlags,
  config: PrometheusConfig,
  engine: Engine,
  registry: Registry,
  logger: Logger,
  opts: ServerOptions,
  acquired: Acquired,
): Promise<ServerContext> {
  const dir = flags["storage.tsdb.path"];
  const retention = effectiveRetention(flags);
  logger.info("Starting TSDB ...", { path: dir });
  if (!flags["storage.tsdb.no-lockfile"]) acquired.releaseLock = lockDataDir(dir);
  acquired.db = await (opts.openStorage ?? openDB)({
    dir,
    retentionTime: retention.timeMs,
    retentionSize: retention.sizeBytes,
    blockDuration: flags["storage.tsdb.min-block-duration"],
    logger: logger.with({ component: "tsdb" }),
    registry,
  });
  logger.info("TSDB started");
  const ctx: ServerContext = {
    flags, externalURL: externalURL(flags), config, db: acquired.db, engine, registry, logger, reloadHooks: [], closeHooks: acquired.closeHooks,
  };
  for (const start of opts.components ?? []) await start(ctx);
  for (const hook of ctx.reloadHooks) await hook(config);
  return ctx;
}

/** Runs close hooks (newest first), closes storage, then unlocks; false if any step failed. */
async function release(acquired: Acquired, logger: Logger): Promise<boolean> {
  let ok = true;
  for (const close of [...acquired.closeHooks].reverse()) {
    try {
      await close();
    } catch (err) {
      logger.error("Error stopping component", { err });
      ok = false;
    }
  }
  if (acquired.db) {
    try {
      await acquired.db.close();
    } catch (err) {
      logger.error("Error closing storage", { err });
      ok = false;
    }
  }
  acquired.releaseLock?.();
  return ok;
}
