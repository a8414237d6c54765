/**
 * The server role (`promts` with no subcommand), declared for the runtime
 * (src/server/runtime.ts) as one ordered list of components:
 *
 *   alertmanager   the built-in Alertmanager, with --alertmanager.config.file
 *                  (its API v2 under /api/v2 on the same listener; reloads
 *                  re-read its own file)
 *   pushgateway    with --pushgateway.enable, the Pushgateway on the same port
 *   storage        locks the data directory, opens the TSDB (WAL replay)
 *   scrape         scrape + discovery managers (src/server/scrape_component.ts)
 *   remote storage remote_write queues and remote_read endpoints
 *                  (src/server/remote_component.ts); queries and rules read
 *                  local storage and every remote_read endpoint merged
 *   rules          rule manager + notifier (src/server/rules_component.ts)
 *   …              then the components given by {@link ServerOptions}
 *
 * HTTP answers at once (so /-/healthy answers, and /-/ready and /api/v1
 * say 503 until every component started). Every /api/v1 route is
 * registered in {@link apiV1Routes}.
 *
 * Components given as {@link ServerComponent}s (the older shape: a function
 * of the {@link ServerContext} that registers reload and close hooks) run as
 * components of their own, after storage.
 */
import { join } from "node:path";
import { Hono } from "hono";
import { loadConfigFile, type PrometheusConfig } from "../config/index.ts";
import { newLogger, type Logger } from "../log/index.ts";
import { Registry } from "../model/index.ts";
import { Engine } from "../promql/index.ts";
import { AGENT_MAX_WAL_TIME, AGENT_MIN_WAL_TIME, agentTruncationTime, fanoutQueryable, openAgentDB, openDB, type DB, type Queryable } from "../tsdb/index.ts";
import { newWebApp, registerBuildInfo, registerProcessMetrics, rulesAPI, targetsAPI } from "../web/index.ts";
import { apiV1 } from "../web/api/index.ts";
import { DashboardStore, replicateDashboards, uiRoutes } from "../ui/index.ts";
import { replicatePushStore } from "../pushgateway/index.ts";
import { builtinAlertmanagerComponent, builtinClusterOptions, type AlertmanagerSettings } from "./alertmanager.ts";
import { builtinPushgateway } from "./pushgateway.ts";
import { clusterComponent } from "./cluster_component.ts";
import { HAService } from "./ha_component.ts";
import { lockDataDir } from "./lockfile.ts";
import { ReloadStatus } from "./reloader.ts";
import { RemoteService } from "./remote_component.ts";
import { RulesService } from "./rules_component.ts";
import { runRole, type Component } from "./runtime.ts";
import { globalURLOptions, ScrapeService } from "./scrape_component.ts";
import { serverAPIContext, type ServerAPISources } from "./server_api.ts";
import { agentMode, dataDir, effectiveRetention, externalURL, KNOWN_FEATURES, modeFlagConflict, routePrefix, type ServerFlags } from "./server_flags.ts";
import { agentRefusals } from "./agent.ts";
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
  /**
   * What queries and rules read: local storage merged with every
   * remote_read endpoint (federation and /api/v1/read read `db` alone).
   */
  readonly queryable: Queryable;
  /** The PromQL engine the API uses; rules evaluate with it too. */
  readonly engine: Engine;
  readonly registry: Registry;
  readonly logger: Logger;
  /** This component's reload hooks, called in order with the initial configuration and on every reload. */
  readonly reloadHooks: ReloadHook[];
  /** This component's close hooks, run in reverse order when it stops. */
  readonly closeHooks: CloseHook[];
}

/**
 * A component in the older shape: started once storage is open, it
 * registers reload and close hooks on the context it is given. Run as a
 * {@link Component} by {@link hookComponent}.
 */
export type ServerComponent = (ctx: ServerContext) => void | Promise<void>;

/** How the server opens storage: the tsdb room's openDB, or a test's fake. */
export type OpenStorage = typeof openDB;

/** Knobs for embedding and testing the server. */
export interface ServerOptions {
  /** Components run after the built-in ones, in order. */
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
  /** The flags given on the command line (ParsedCommandLine.given): flags of the other mode (server/agent) are refused. */
  givenFlags?: readonly string[];
  /** Where a refused command line is reported (default: process.stderr). */
  stderr?: (text: string) => void;
  /** Aborting it stops the server as SIGTERM does. */
  stop?: AbortSignal;
  /** Creates the built-in Alertmanager's cluster peer (src/cluster's by default; tests pass an in-process one). */
  createCluster?: AlertmanagerSettings["createCluster"];
}

/** The state the server's components share once storage is open. */
interface SharedState {
  base?: Omit<ServerContext, "reloadHooks" | "closeHooks">;
}

/**
 * Runs the server until it is asked to stop; resolves with the process exit
 * code: 0 after an orderly shutdown, 1 when startup or shutdown failed.
 */
export async function runServer(flags: ServerFlags, opts: ServerOptions = {}): Promise<number> {
  const agent = agentMode(flags);
  const conflict = modeFlagConflict(flags, opts.givenFlags ?? []);
  if (conflict) {
    // As Prometheus: the message alone on stderr, exit code 3.
    (opts.stderr ?? ((t) => process.stderr.write(t)))(`${conflict}\n`);
    return 3;
  }
  const startTime = new Date();
  const logger = opts.logger ?? newLogger({ level: flags["log.level"], format: flags["log.format"] });
  const info = buildInfo();
  logStartup(logger, info, flags);

  const registry = newServerRegistry(info);
  const status = new ReloadStatus(registry);
  const engine = new Engine({
    lookbackDelta: flags["query.lookback-delta"],
    timeout: flags["query.timeout"],
    maxSamples: flags["query.max-samples"],
    maxConcurrency: flags["query.max-concurrency"],
    registry,
  });
  const state: SharedState = {};
  const current = (): ServerContext => {
    if (!state.base) throw new Error("server is not ready");
    return state.base as ServerContext;
  };
  const scraping = new ScrapeService();
  const rules = new RulesService();
  // One cluster peer for the whole server (off unless a cluster flag is given; not in agent mode):
  // the built-in Alertmanager, the Pushgateway, dashboards and the HA pair all replicate through it.
  const cluster = clusterComponent(agent ? undefined : builtinClusterOptions(flags), logger, registry, opts.createCluster);
  // HA pair (src/server/ha_component.ts): gap-free queries and one remote writer per endpoint.
  const ha = new HAService(flags, logger, registry);
  cluster.onPeer((peer) => ha.attach(peer));
  let remote: RemoteService;
  try {
    remote = new RemoteService(flags, logger, (cfg, name) => ha.writeGate(cfg, name), () => scraping.metricMetadata());
  } catch (err) {
    logger.error("Invalid remote write receiver flags", { err });
    return 1;
  }
  let listenURL: string | undefined;
  const builtinAM = agent ? undefined : builtinAlertmanagerComponent(flags, registry, logger, { createCluster: cluster.lend, listenURL: () => listenURL });
  // With a clustered built-in Alertmanager, alerts also go to every other member's Alertmanager.
  if (builtinAM) rules.sendToClusterAlertmanagers(builtinAM.cluster);
  const builtinPG = builtinPushgateway(flags, logger);
  if (builtinPG) cluster.onPeer((peer) => replicatePushStore(builtinPG.store, peer));
  const dashboards = new DashboardStore(join(dataDir(flags), "dashboards"));
  cluster.onPeer((peer) => replicateDashboards(dashboards, peer));

  // An agent scrapes and forwards: WAL-only storage, no rules, no queries.
  const components: Component<PrometheusConfig>[] = agent
    ? [
      ...(builtinPG ? [builtinPG.component] : []),
      agentStorageComponent(flags, engine, registry, logger, state, () => remote.lowestSentTimestamp()),
      hookComponent("scrape", scraping.component, state),
      hookComponent("remote storage", remote.component, state),
      ...(opts.components ?? []).map((c, i) => hookComponent(`component ${i + 1}`, c, state)),
    ]
    : [
      cluster.component,
      ...(builtinAM ? [builtinAM.component] : []),
      ...(builtinPG ? [builtinPG.component] : []),
      storageComponent(flags, engine, registry, logger, opts, state, () => [...remote.readQueryables(), ...ha.readQueryables()]),
      hookComponent("ha", ha.component, state),
      cluster.joinComponent,
      hookComponent("scrape", scraping.component, state),
      hookComponent("remote storage", remote.component, state),
      hookComponent("rules", rules.component, state),
      ...(opts.components ?? []).map((c, i) => hookComponent(`component ${i + 1}`, c, state)),
    ];

  return runRole<PrometheusConfig>({
    logger,
    listen: {
      ...flags["web.listen-address"],
      webConfigFile: flags["web.config.file"],
      idleTimeoutS: flags["web.read-timeout"] / 1000,
      maxConnections: flags["web.max-connections"],
    },
    config: { file: flags["config.file"], load: (file) => loadConfigFile(file, { agent }) },
    components,
    app: (control) => {
      const app = newWebApp({
        registry,
        enableLifecycle: flags["web.enable-lifecycle"],
        serverName: agent ? "Prometheus Agent" : "Prometheus Server",
        isReady: control.isReady,
        quit: () => control.quit("Received termination request via web service, exiting gracefully..."),
        reload: control.reload,
        routePrefix: routePrefix(flags),
        pageTitle: flags["web.page-title"],
        version: info.version,
        apiV1: apiV1Routes({
          engine, flags, flagText: opts.flagText ?? {}, info, reloader: status, startTime, current,
          metadata: () => scraping.metricMetadata(),
        }, scraping, rules, remote, agent),
        extraRoutes: remote.rootRoutes(),
        corsOrigin: flags["web.cors.origin"],
        logger: logger.with({ component: "web" }),
        ui: uiRoutes({
          roles: ["prometheus", ...(builtinAM ? ["alertmanager" as const] : []), ...(builtinPG ? ["pushgateway" as const] : [])],
          pushgatewayAPI: "/pushgateway",
          routePrefix: routePrefix(flags),
          title: flags["web.page-title"],
          version: info.version,
          dashboards,
          scrapePools: () => state.base?.config.scrape_configs ?? [],
        }),
      });
      builtinAM?.mount(app);
      builtinPG?.mount(app, routePrefix(flags));
      return app;
    },
    onListening: (url) => {
      listenURL = url;
      ha.setListenURL(url);
      if (builtinAM) rules.sendToBuiltinAlertmanager(new URL(url), routePrefix(flags), url.startsWith("https:"));
      opts.onListening?.(url);
    },
    onConfigLoaded: (ok, config) => {
      status.record(ok);
      if (ok && config && state.base) state.base.config = config;
    },
    reloadLog: {
      loading: "Loading configuration file",
      loaded: "Completed loading of configuration file",
      failed: `Error reloading config (--config.file=${flags["config.file"]})`,
    },
    handleSignals: opts.handleSignals,
    stop: opts.stop,
  });
}

/**
 * Every /api/v1 route of the server, registered here and nowhere else: the
 * rules API (`/rules`, `/alerts`, `/alertmanagers`), the targets API
 * (`/targets`, `/targets/metadata`, `/scrape_pools`), remote write/read and
 * the admin API (`/write`, `/read`, `/admin/tsdb/*`), and the query and
 * status API of the web room.
 */
export function apiV1Routes(sources: ServerAPISources, scraping: ScrapeService, rules: RulesService, remote?: RemoteService, agent = false): Hono {
  const v1 = new Hono();
  if (agent) v1.route("/", agentRefusals());
  if (remote) v1.route("/", remote.apiRoutes());
  v1.route("/", rulesAPI(rules));
  v1.route("/", targetsAPI(scraping, { globalURL: globalURLOptions(sources.flags) }));
  v1.route("/", apiV1(serverAPIContext(sources)));
  return v1;
}

function logStartup(logger: Logger, info: BuildInfo, flags: ServerFlags): void {
  logger.info("Starting promts", { version: `(version=${info.version}, branch=${info.branch}, revision=${info.revision})` });
  logger.info("Build context", { build_context: `(bun=${info.runtimeVersion}, platform=${info.platform}, user=${info.buildUser}, date=${info.buildDate})` });
  for (const feature of flags["enable-feature"]) {
    if (!KNOWN_FEATURES.has(feature)) logger.warn("Unknown option for --enable-feature", { option: feature });
  }
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

/**
 * Locks the data directory and opens storage (WAL replay); at stop, closes
 * storage and then unlocks. Once open, the components after it share the
 * {@link ServerContext} built here.
 */
function storageComponent(
  flags: ServerFlags,
  engine: Engine,
  registry: Registry,
  logger: Logger,
  opts: ServerOptions,
  state: SharedState,
  remoteRead: () => readonly Queryable[],
): Component<PrometheusConfig> {
  let releaseLock: (() => void) | undefined;
  let db: DB | undefined;
  return {
    name: "storage",
    start: async (config) => {
      const dir = flags["storage.tsdb.path"];
      const retention = effectiveRetention(flags);
      logger.info("Starting TSDB ...", { path: dir });
      if (!flags["storage.tsdb.no-lockfile"]) releaseLock = lockDataDir(dir);
      try {
        db = await (opts.openStorage ?? openDB)({
          dir,
          retentionTime: retention.timeMs,
          retentionSize: retention.sizeBytes,
          blockDuration: flags["storage.tsdb.min-block-duration"],
          logger: logger.with({ component: "tsdb" }),
          registry,
        });
      } catch (err) {
        releaseLock?.();
        throw err;
      }
      logger.info("TSDB started");
      const local = db;
      const queryable: Queryable = { querier: (mint, maxt) => fanoutQueryable(local, remoteRead()).querier(mint, maxt) };
      state.base = { flags, externalURL: externalURL(flags), config, db, queryable, engine, registry, logger };
    },
    stop: async () => {
      try {
        await db?.close();
      } catch (err) {
        logger.error("Error closing storage", { err });
        throw err;
      } finally {
        releaseLock?.();
      }
    },
  };
}

/**
 * Agent mode's storage: locks --storage.agent.path (unless
 * --storage.agent.no-lockfile) and opens the WAL-only store, truncated
 * every --storage.agent.wal-truncate-frequency up to what every
 * remote_write queue has sent (bounded by the agent retention flags).
 */
function agentStorageComponent(
  flags: ServerFlags,
  engine: Engine,
  registry: Registry,
  logger: Logger,
  state: SharedState,
  lowestSent: () => number,
): Component<PrometheusConfig> {
  let releaseLock: (() => void) | undefined;
  let db: DB | undefined;
  return {
    name: "storage",
    start: async (config) => {
      const dir = flags["storage.agent.path"];
      logger.info("Starting WAL storage ...", { path: dir });
      if (!flags["storage.agent.no-lockfile"]) releaseLock = lockDataDir(dir);
      try {
        db = await openAgentDB({
          dir,
          logger: logger.with({ component: "agent" }),
          registry,
          walSegmentSize: flags["storage.agent.wal-segment-size"],
          truncateFrequencyMs: flags["storage.agent.wal-truncate-frequency"],
          truncateBefore: () => agentTruncationTime(lowestSent(), Date.now(),
            flags["storage.agent.retention.min-time"] ?? AGENT_MIN_WAL_TIME, flags["storage.agent.retention.max-time"] ?? AGENT_MAX_WAL_TIME),
        });
      } catch (err) {
        releaseLock?.();
        throw err;
      }
      logger.info("Agent WAL storage started");
      state.base = { flags, externalURL: externalURL(flags), config, db, queryable: db, engine, registry, logger };
    },
    stop: async () => {
      try {
        await db?.close();
      } finally {
        releaseLock?.();
      }
    },
  };
}

/**
 * Runs a {@link ServerComponent} as a component: it gets a context of its
 * own (shared state, its own hook lists), its reload hooks get the startup
 * configuration right after it starts and every reloaded one later, and its
 * close hooks run (newest first) when it stops.
 */
export function hookComponent(name: string, fn: ServerComponent, state: SharedState): Component<PrometheusConfig> {
  const reloadHooks: ReloadHook[] = [];
  const closeHooks: CloseHook[] = [];
  const context = (): ServerContext => {
    if (!state.base) throw new Error(`${name} needs storage, which is not open`);
    const ctx = Object.create(state.base) as ServerContext;
    Object.defineProperty(ctx, "reloadHooks", { value: reloadHooks });
    Object.defineProperty(ctx, "closeHooks", { value: closeHooks });
    return ctx;
  };
  return {
    name,
    start: async (config) => {
      await fn(context());
      for (const hook of reloadHooks) await hook(config);
    },
    reload: async (config) => {
      for (const hook of reloadHooks) await hook(config);
    },
    stop: async () => {
      let first: unknown;
      for (const close of [...closeHooks].reverse()) {
        try {
          await close();
        } catch (err) {
          first ??= err;
        }
      }
      if (first !== undefined) throw first;
    },
  };
}
