/**
 * `promts alertmanager`: the Alertmanager role, with Alertmanager's flags
 * (--config.file, --storage.path, --data.retention, --web.listen-address,
 * --web.external-url, --web.route-prefix, --cluster.*, --log.*), run by the
 * runtime (src/server/runtime.ts) with one component, the Alertmanager. It
 * serves the API v2, /metrics and the lifecycle endpoints; SIGHUP and
 * `POST /-/reload` reload the config (a bad file is logged and the old
 * config keeps running); SIGTERM/SIGINT stop it cleanly.
 *
 * The same component, {@link alertmanagerComponent}, is the server's
 * built-in Alertmanager (--alertmanager.config.file): there it reads its own
 * file at start and at every reload of the server.
 *
 * With a cluster (--cluster.listen-address non-empty on this role; on the
 * server, any of --cluster.listen-address / --cluster.peer), the component
 * creates the cluster peer before the Alertmanager, hands it over
 * (`cluster`, `peerPosition`), joins once the Alertmanager is built and
 * leaves the cluster when it stops (docs/cluster.md). Before joining it
 * announces this node's HTTP base URL as member metadata `web`, which the
 * servers' notifiers send alerts to (docs/ha.md).
 */
import { mkdirSync } from "node:fs";
import { hostname as osHostname } from "node:os";
import { join } from "node:path";
import type { Hono } from "hono";
import { Alertmanager, ALERTMANAGER_VERSION, DEFAULT_MINORITY_HOLD } from "../alertmanager/index.ts";
import { alertmanagerAPIv2, type VersionInfo } from "../alertmanager/api/index.ts";
import { clusterOptionsFromFlags, createClusterPeer, type ClusterOptions, type ClusterPeer } from "../cluster/index.ts";
import { loadAlertmanagerConfigFile, parseDuration, type LoadedAlertmanagerConfig } from "../config/index.ts";
import { command, customFlag, enumFlag, intFlag, stringFlag, type Command, type FlagValues, type MainIO, type Role } from "../flags/index.ts";
import { newLogger, type Logger } from "../log/index.ts";
import { Registry } from "../model/index.ts";
import { normalizeRoutePrefix, registerProcessMetrics } from "../web/index.ts";
import { uiRoutes } from "../ui/index.ts";
import { alertmanagerWebApp } from "./alertmanager_app.ts";
import { announcedWebURL, clusterFlags, listenerOf, minorityHoldFlag, type JoinableCluster } from "./cluster_component.ts";
import { runRole, type Component } from "./runtime.ts";
import { externalURL, parseListenAddress, routePrefix, type ServerFlags } from "./server_flags.ts";
import { buildInfo } from "./version.ts";

function durationFlag(help: string, defaultText: string, opts: { hidden?: boolean } = {}) {
  return customFlag(help, defaultText, parseDuration, { placeholder: "<duration>", ...opts });
}

function checkURL(text: string): string {
  if (text !== "" && !URL.canParse(text)) throw new Error("not an absolute URL");
  return text;
}

/** The role's flags, with Alertmanager's names, defaults and help texts. */
export const alertmanagerFlags = {
  "config.file": stringFlag("Alertmanager configuration file name.", "alertmanager.yml"),
  "storage.path": stringFlag("Base path for data storage.", "data/"),
  "data.retention": durationFlag("How long to keep data for.", "120h"),
  "data.maintenance-interval": durationFlag("Interval between garbage collection and snapshotting to disk of the silences and the notification logs.", "15m"),
  "alerts.gc-interval": durationFlag("Interval between alert GC.", "30m"),
  "web.listen-address": customFlag("Address to listen on for the web interface and API.", ":9093", parseListenAddress, { placeholder: "<address>" }),
  "web.config.file": stringFlag("[EXPERIMENTAL] Path to configuration file that can enable TLS or authentication."),
  "web.external-url": customFlag("The URL under which Alertmanager is externally reachable (for example, if Alertmanager is served via a reverse proxy). Used for generating relative and absolute links back to Alertmanager itself. If the URL has a path portion, it will be used to prefix all HTTP endpoints served by Alertmanager. If omitted, relevant URL components will be derived automatically.", "", checkURL, { placeholder: "<URL>" }),
  "web.route-prefix": stringFlag("Prefix for the internal routes of web endpoints. Defaults to path of --web.external-url.", "", { placeholder: "<path>" }),
  "web.get-concurrency": intFlag("Maximum number of GET requests processed concurrently. If negative or zero, the limit is GOMAXPROC or 8, whichever is larger.", 0),
  "web.timeout": durationFlag("Timeout for HTTP requests. If negative or zero, no timeout is set.", "0"),
  ...clusterFlags("0.0.0.0:9094"),
  "cluster.minority-hold": minorityHoldFlag(),
  "log.level": enumFlag("Only log messages with the given severity or above. One of: [debug, info, warn, error]", ["debug", "info", "warn", "error"], "info"),
  "log.format": enumFlag("Output format of log messages. One of: [logfmt, json]", ["logfmt", "json"], "logfmt"),
};

/** The parsed flags of `promts alertmanager`. */
export type AlertmanagerFlags = FlagValues<typeof alertmanagerFlags>;

/** The `alertmanager` command. */
export const alertmanagerCommand: Command = command("alertmanager", "Run the Alertmanager (the Prometheus Alertmanager's job).", alertmanagerFlags);

/** `versionInfo` of `GET /api/v2/status`: Alertmanager's version promts implements, and this build's facts. */
export function alertmanagerVersionInfo(): VersionInfo {
  const info = buildInfo();
  return {
    branch: info.branch, buildDate: info.buildDate, buildUser: info.buildUser,
    goVersion: info.runtimeVersion, revision: info.revision, version: ALERTMANAGER_VERSION,
  };
}

/** Settings of {@link alertmanagerComponent}. */
export interface AlertmanagerSettings {
  /** Directory for the `silences` and `nflog` snapshots; created if missing. */
  storagePath: string;
  retention: number;
  externalURL: string;
  peerTimeout: number;
  logger: Logger;
  registry: Registry;
  /** The gossip cluster to create and join at start; none runs the Alertmanager alone. */
  cluster?: ClusterOptions;
  /** Creates the peer from `cluster` (bound, not joined); src/cluster's by default, tests pass an in-process one. */
  createCluster?: (options: ClusterOptions, logger: Logger, registry: Registry) => Promise<JoinableCluster>;
  /** `--cluster.minority-hold` (default 30s). */
  minorityHold?: number;
  /**
   * The base URL peers reach this node's HTTP API under, given its
   * advertised cluster address (host:port); announced as member metadata
   * `web` before joining. No announcement when absent.
   */
  announceURL?: (clusterAddress: string) => string;
}

/** How long a stopping Alertmanager waits for its leave to be gossiped. */
const CLUSTER_LEAVE_TIMEOUT_MS = 5_000;

/** The Alertmanager component and the running Alertmanager it holds. */
export interface AlertmanagerComponent<C> {
  readonly component: Component<C>;
  /** The running Alertmanager; undefined before start and after stop. */
  alertmanager(): Alertmanager | undefined;
  /** The cluster peer while running clustered. */
  cluster(): ClusterPeer | undefined;
}

/**
 * The Alertmanager as a component of a role. `configOf` turns the role's
 * configuration into the alertmanager.yml to apply (the standalone role's
 * config is that file; the server's built-in one re-reads its own file);
 * throwing there fails the start or the reload, and on a reload the
 * Alertmanager keeps its config and reports the failure
 * (alertmanager_config_last_reload_successful 0).
 *
 * @example
 * const am = alertmanagerComponent(settings, (loaded: LoadedAlertmanagerConfig) => loaded);
 * runRole({ ..., components: [am.component] });
 */
export function alertmanagerComponent<C>(settings: AlertmanagerSettings, configOf: (config: C) => LoadedAlertmanagerConfig): AlertmanagerComponent<C> {
  let running: Alertmanager | undefined;
  let peer: JoinableCluster | undefined;
  return {
    alertmanager: () => running,
    cluster: () => peer,
    component: {
      name: "alertmanager",
      start: async (config) => {
        const loaded = configOf(config);
        mkdirSync(settings.storagePath, { recursive: true });
        const create = settings.createCluster ?? createClusterPeer;
        const cluster = settings.cluster ? await create(settings.cluster, settings.logger, settings.registry) : undefined;
        try {
          const self = cluster?.members().find((m) => m.name === cluster.name);
          if (cluster && self && settings.announceURL) cluster.setMeta("web", settings.announceURL(self.address));
          running = new Alertmanager({
            config: loaded.config, configText: loaded.text, storagePath: settings.storagePath, retention: settings.retention,
            logger: settings.logger, registry: settings.registry, externalURL: settings.externalURL, peerTimeout: settings.peerTimeout,
            cluster, peerPosition: cluster ? () => cluster.position() : undefined,
            minorityHold: settings.minorityHold ?? DEFAULT_MINORITY_HOLD,
          });
        } catch (err) {
          await (cluster?.stop ? cluster.stop() : cluster?.leave(0));
          throw err;
        }
        peer = cluster;
        await cluster?.join();
      },
      reload: (config) => {
        let loaded: LoadedAlertmanagerConfig;
        try {
          loaded = configOf(config);
        } catch (err) {
          running?.reloadFailed();
          throw err;
        }
        running?.applyConfig(loaded.config, loaded.text);
      },
      stop: async () => {
        await running?.stop();
        running = undefined;
        await peer?.leave(CLUSTER_LEAVE_TIMEOUT_MS);
        peer = undefined;
      },
    },
  };
}

/** Reads an alertmanager.yml, logging its warnings. */
function loadAlertmanagerConfigLogged(file: string, logger: Logger): LoadedAlertmanagerConfig {
  const loaded = loadAlertmanagerConfigFile(file);
  for (const warning of loaded.warnings) logger.warn("Config warning", { file, warning });
  return loaded;
}

/**
 * The URL the Alertmanager is reachable under: --web.external-url, else
 * `http://<hostname>:<port>`; never ends in "/".
 */
export function alertmanagerExternalURL(flags: AlertmanagerFlags, hostname: string = osHostname()): string {
  const given = flags["web.external-url"];
  const url = new URL(given !== "" ? given : `http://${hostname}:${flags["web.listen-address"].port}/`);
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
}

/** Knobs for embedding and testing the role. */
export interface AlertmanagerRunOptions {
  logger?: Logger;
  /** Whether to handle SIGTERM, SIGINT and SIGHUP (default true). */
  handleSignals?: boolean;
  /** Called with the base URL once listening. */
  onListening?: (url: string) => void;
  /** Aborting it stops the role as SIGTERM does. */
  stop?: AbortSignal;
  /** Creates the cluster peer (src/cluster's by default; tests pass an in-process one). */
  createCluster?: AlertmanagerSettings["createCluster"];
}

/** Runs the role until stopped; resolves with the exit code (1 when startup failed). */
export async function runAlertmanager(flags: AlertmanagerFlags, opts: AlertmanagerRunOptions = {}): Promise<number> {
  const logger = opts.logger ?? newLogger({ level: flags["log.level"], format: flags["log.format"] });
  const info = buildInfo();
  logger.info("Starting Alertmanager", { version: `(version=${ALERTMANAGER_VERSION}, promts=${info.version}, revision=${info.revision})` });

  const registry = new Registry();
  registerProcessMetrics(registry);
  const external = alertmanagerExternalURL(flags);
  const prefix = flags["web.route-prefix"] !== "" ? flags["web.route-prefix"] : new URL(external).pathname;
  let listenURL = "";
  const am = alertmanagerComponent<LoadedAlertmanagerConfig>({
    storagePath: flags["storage.path"], retention: flags["data.retention"],
    externalURL: external, peerTimeout: flags["cluster.peer-timeout"], logger, registry,
    // As Alertmanager: an empty --cluster.listen-address disables HA mode.
    cluster: flags["cluster.listen-address"] !== "" ? clusterOptionsFromFlags(flags) : undefined,
    createCluster: opts.createCluster, minorityHold: flags["cluster.minority-hold"],
    announceURL: (addr) => announcedWebURL({
      externalURL: flags["web.external-url"], routePrefix: normalizeRoutePrefix(prefix), ...listenerOf(listenURL, flags["web.listen-address"].port),
    }, addr),
  }, (loaded) => loaded);
  return runRole<LoadedAlertmanagerConfig>({
    logger,
    listen: { ...flags["web.listen-address"], webConfigFile: flags["web.config.file"], idleTimeoutS: 120 },
    config: { file: flags["config.file"], load: (file) => { const loaded = loadAlertmanagerConfigFile(file); return { config: loaded, warnings: loaded.warnings }; } },
    components: [am.component],
    app: (control) => alertmanagerWebApp({
      alertmanager: am.alertmanager, versionInfo: alertmanagerVersionInfo(), registry, routePrefix: prefix,
      reload: control.reload, isReady: control.isReady, logger: logger.with({ component: "api" }),
      ui: uiRoutes({ roles: ["alertmanager"], routePrefix: normalizeRoutePrefix(prefix), title: "Alertmanager", version: alertmanagerVersionInfo().version }),
    }),
    onConfigLoaded: (ok) => { if (!ok) am.alertmanager()?.reloadFailed(); },
    onListening: (url) => {
      listenURL = url;
      opts.onListening?.(url);
    },
    handleSignals: opts.handleSignals,
    stop: opts.stop,
  });
}

/** `promts alertmanager` as a role of the executable. */
export const alertmanagerRole: Role = {
  command: alertmanagerCommand,
  run: (parsed, _io: MainIO) => runAlertmanager(parsed.flags as AlertmanagerFlags),
};

/** How the server's built-in Alertmanager clusters, besides its flags. */
export interface BuiltinClustering {
  /** Creates the peer (src/cluster's by default; tests pass an in-process one). */
  createCluster?: AlertmanagerSettings["createCluster"];
  /** The server's listening URL once known: the scheme and port announced to the other members. */
  listenURL?: () => string | undefined;
}

/** Where the server's built-in Alertmanager keeps silences and the notification log, inside the TSDB directory. */
export const BUILTIN_STORAGE_DIR = "alertmanager";

/** The built-in Alertmanager's retention of expired silences and nflog entries (Alertmanager's default). */
const BUILTIN_RETENTION_MS = 120 * 3_600_000;

/**
 * The server's built-in Alertmanager when --alertmanager.config.file is
 * set (undefined when empty): the {@link alertmanagerComponent} reading that
 * file at start and at every reload, and `mount`, which puts its API v2 on
 * the server's app under `<route prefix>/api/v2`. Silences and the nflog
 * live in `<storage.tsdb.path>/alertmanager`.
 */
export function builtinAlertmanagerComponent(
  flags: ServerFlags,
  registry: Registry,
  logger: Logger,
  clustering: BuiltinClustering = {},
): { component: Component<unknown>; mount(app: Hono): void; cluster(): ClusterPeer | undefined } | undefined {
  const configFile = flags["alertmanager.config.file"];
  if (configFile === "") return undefined;
  const amLogger = logger.with({ component: "alertmanager" });
  const am = alertmanagerComponent<unknown>({
    storagePath: join(flags["storage.tsdb.path"], BUILTIN_STORAGE_DIR), retention: BUILTIN_RETENTION_MS,
    externalURL: externalURL(flags), peerTimeout: flags["cluster.peer-timeout"], logger: amLogger, registry,
    cluster: builtinClusterOptions(flags), createCluster: clustering.createCluster, minorityHold: flags["cluster.minority-hold"],
    announceURL: (addr) => announcedWebURL({
      externalURL: flags["web.external-url"], routePrefix: routePrefix(flags),
      ...listenerOf(clustering.listenURL?.(), flags["web.listen-address"].port),
    }, addr),
  }, () => {
    amLogger.info("Loading configuration file", { file: configFile });
    try {
      return loadAlertmanagerConfigLogged(configFile, amLogger);
    } catch (err) {
      amLogger.error(`Error loading Alertmanager config (--alertmanager.config.file=${configFile})`, { file: configFile, err });
      throw err;
    }
  });
  return {
    component: am.component,
    cluster: am.cluster,
    mount: (app) => {
      const prefix = routePrefix(flags);
      app.route(`${prefix === "/" ? "" : prefix}/api/v2`, alertmanagerAPIv2({
        alertmanager: am.alertmanager, versionInfo: alertmanagerVersionInfo(), logger: amLogger,
      }));
    },
  };
}

/**
 * The built-in Alertmanager's cluster: off unless --cluster.listen-address
 * or --cluster.peer is given; with peers only, it listens on Alertmanager's
 * default 0.0.0.0:9094.
 */
export function builtinClusterOptions(flags: ServerFlags): ClusterOptions | undefined {
  if (flags["cluster.listen-address"] === "" && flags["cluster.peer"].length === 0) return undefined;
  const opts = clusterOptionsFromFlags(flags);
  if (opts.listenAddress === "") opts.listenAddress = "0.0.0.0:9094";
  return opts;
}
