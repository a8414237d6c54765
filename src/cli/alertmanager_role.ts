/**
 * `promts alertmanager`: the Alertmanager role, with Alertmanager's flags
 * (--config.file, --storage.path, --data.retention, --web.listen-address,
 * --web.external-url, --web.route-prefix, --cluster.*, --log.*). It serves
 * the API v2, /metrics and the lifecycle endpoints; SIGHUP and
 * `POST /-/reload` reload the config (a bad file is logged and the old
 * config keeps running); SIGTERM/SIGINT stop it cleanly.
 *
 * {@link startAlertmanager} is also what the server uses for its built-in
 * Alertmanager (--alertmanager.config.file).
 *
 * Clustering flags are accepted so existing command lines work; gossip is
 * not wired in yet, so the API reports the cluster as `disabled`.
 */
import { mkdirSync } from "node:fs";
import { hostname as osHostname } from "node:os";
import { join } from "node:path";
import type { Hono } from "hono";
import { Alertmanager, ALERTMANAGER_VERSION } from "../alertmanager/index.ts";
import { alertmanagerAPIv2, alertmanagerWebApp, type VersionInfo } from "../alertmanager/api/index.ts";
import { loadAlertmanagerConfigFile, parseDuration } from "../config/index.ts";
import { newLogger, type Logger } from "../log/index.ts";
import { Registry } from "../model/index.ts";
import { loadWebConfig, registerProcessMetrics, serveTLSOptions, type ServeTLSOptions, type WebConfig } from "../web/index.ts";
import { boolFlag, command, customFlag, enumFlag, intFlag, stringFlag, stringsFlag, type Command, type FlagValues } from "./flags.ts";
import type { MainIO, Role } from "./role.ts";
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
  "cluster.listen-address": stringFlag("Listen address for cluster. Set to empty string to disable HA mode.", "0.0.0.0:9094", { placeholder: "<address>" }),
  "cluster.advertise-address": stringFlag("Explicit address to advertise in cluster.", "", { placeholder: "<address>" }),
  "cluster.peer": stringsFlag("Initial peers.", { placeholder: "<address>" }),
  "cluster.peer-timeout": durationFlag("Time to wait between peers to send notifications.", "15s"),
  "cluster.gossip-interval": durationFlag("Interval between sending gossip messages. By lowering this value (more frequent) gossip messages are propagated across the cluster more quickly at the expense of increased bandwidth.", "200ms"),
  "cluster.pushpull-interval": durationFlag("Interval for gossip state syncs. Setting this interval lower (more frequent) will increase convergence speeds across larger clusters at the expense of increased bandwidth usage.", "1m0s"),
  "cluster.tcp-timeout": durationFlag("Timeout for establishing a stream connection with a remote node for a full state sync, and for stream read and write operations.", "10s"),
  "cluster.probe-timeout": durationFlag("Timeout to wait for an ack from a probed node before assuming it is unhealthy. This should be set to 99-percentile of RTT (round-trip time) on your network.", "500ms"),
  "cluster.probe-interval": durationFlag("Interval between random node probes. Setting this lower (more frequent) will cause the cluster to detect failed nodes more quickly at the expense of increased bandwidth usage.", "1s"),
  "cluster.settle-timeout": durationFlag("Maximum time to wait for cluster connections to settle before evaluating notifications.", "1m0s"),
  "cluster.reconnect-interval": durationFlag("Interval between attempting to reconnect to lost peers.", "10s"),
  "cluster.reconnect-timeout": durationFlag("Length of time to attempt to reconnect to a lost peer.", "6h0m0s"),
  "cluster.tls-config": stringFlag("[EXPERIMENTAL] Path to config yaml file that can enable mutual TLS within the gossip protocol."),
  "cluster.allow-insecure-public-advertise-address-discovery": boolFlag("[EXPERIMENTAL] Allow alertmanager to discover and listen on a public IP address."),
  "cluster.label": stringFlag("The cluster label is an optional string to include on each packet and stream. It uniquely identifies the cluster and prevents cross-communication issues when sending gossip messages."),
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

/** Settings of {@link startAlertmanager}. */
export interface StartAlertmanagerOptions {
  configFile: string;
  /** Directory for the `silences` and `nflog` snapshots; created if missing. */
  storagePath: string;
  retention: number;
  externalURL: string;
  peerTimeout: number;
  logger: Logger;
  registry: Registry;
}

/** A running Alertmanager plus its config file's reload. */
export interface RunningAlertmanager {
  readonly alertmanager: Alertmanager;
  /**
   * Re-reads the config file and applies it; reloads run one at a time. On
   * error the old config keeps running and the promise rejects with the reason.
   */
  reload(): Promise<void>;
  /** Stops the Alertmanager (timers, running notifications). */
  stop(): Promise<void>;
}

/**
 * Loads the config file and starts an Alertmanager with it. Throws (with
 * the config error, `FILE:LINE:COL: …`) when the file is unusable.
 *
 * @example
 * const running = startAlertmanager({ configFile: "alertmanager.yml", storagePath: "data", ... });
 * process.on("SIGHUP", () => running.reload().catch(() => {}));
 */
export function startAlertmanager(opts: StartAlertmanagerOptions): RunningAlertmanager {
  const logger = opts.logger;
  logger.info("Loading configuration file", { file: opts.configFile });
  const loaded = loadAlertmanagerConfigFile(opts.configFile);
  for (const warning of loaded.warnings) logger.warn("Config warning", { file: opts.configFile, warning });
  mkdirSync(opts.storagePath, { recursive: true });
  const alertmanager = new Alertmanager({
    config: loaded.config, configText: loaded.text, storagePath: opts.storagePath, retention: opts.retention,
    logger, registry: opts.registry, externalURL: opts.externalURL, peerTimeout: opts.peerTimeout,
  });
  logger.info("Completed loading of configuration file", { file: opts.configFile });
  let chain: Promise<void> = Promise.resolve();
  const reloadOnce = async () => {
    logger.info("Loading configuration file", { file: opts.configFile });
    try {
      const next = loadAlertmanagerConfigFile(opts.configFile);
      for (const warning of next.warnings) logger.warn("Config warning", { file: opts.configFile, warning });
      alertmanager.applyConfig(next.config, next.text);
    } catch (err) {
      logger.error("Loading configuration file failed", { file: opts.configFile, err });
      alertmanager.reloadFailed();
      throw err;
    }
    logger.info("Completed loading of configuration file", { file: opts.configFile });
  };
  return {
    alertmanager,
    reload: () => {
      const run = chain.then(reloadOnce);
      chain = run.catch(() => undefined);
      return run;
    },
    stop: () => alertmanager.stop(),
  };
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
}

function readWebConfig(path: string, logger: Logger): { web?: WebConfig; tls?: ServeTLSOptions } | undefined {
  if (path === "") return {};
  try {
    const web = loadWebConfig(path);
    return { web, tls: web.tls && serveTLSOptions(web.tls) };
  } catch (err) {
    logger.error("Unable to load web configuration file", { file: path, err });
    return undefined;
  }
}

/** Runs the role until stopped; resolves with the exit code (1 when startup failed). */
export async function runAlertmanager(flags: AlertmanagerFlags, opts: AlertmanagerRunOptions = {}): Promise<number> {
  const logger = opts.logger ?? newLogger({ level: flags["log.level"], format: flags["log.format"] });
  const info = buildInfo();
  logger.info("Starting Alertmanager", { version: `(version=${ALERTMANAGER_VERSION}, promts=${info.version}, revision=${info.revision})` });
  if (flags["cluster.peer"].length > 0) logger.warn("Clustering is not available yet; running alone", { peers: flags["cluster.peer"].join(",") });
  const webFiles = readWebConfig(flags["web.config.file"], logger);
  if (!webFiles) return 1;

  const registry = new Registry();
  registerProcessMetrics(registry);
  const externalURL = alertmanagerExternalURL(flags);
  let running: RunningAlertmanager;
  try {
    running = startAlertmanager({
      configFile: flags["config.file"], storagePath: flags["storage.path"], retention: flags["data.retention"],
      externalURL, peerTimeout: flags["cluster.peer-timeout"], logger, registry,
    });
  } catch (err) {
    logger.error("Loading configuration file failed", { file: flags["config.file"], err });
    return 1;
  }

  const prefix = flags["web.route-prefix"] !== "" ? flags["web.route-prefix"] : new URL(externalURL).pathname;
  const app = alertmanagerWebApp({
    alertmanager: () => running.alertmanager, versionInfo: alertmanagerVersionInfo(), registry, routePrefix: prefix,
    reload: () => running.reload(), logger: logger.with({ component: "api" }),
    basicAuthUsers: webFiles.web?.basicAuthUsers, headers: webFiles.web?.headers,
  });
  const { hostname, port } = flags["web.listen-address"];
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({ hostname, port, fetch: app.fetch, tls: webFiles.tls, idleTimeout: 120 });
  } catch (err) {
    logger.error("Unable to start web listener", { address: `${hostname}:${port}`, err });
    await running.stop();
    return 1;
  }
  const address = `${hostname.includes(":") ? `[${hostname}]` : hostname}:${server.port}`;
  logger.info("Listening", { address, component: "web" });
  opts.onListening?.(`${webFiles.tls ? "https" : "http"}://${address}`);

  let requestStop!: (reason: string) => void;
  const stopped = new Promise<string>((resolve) => { requestStop = resolve; });
  const handlers: [NodeJS.Signals, () => void][] = [
    ["SIGTERM", () => requestStop("SIGTERM")],
    ["SIGINT", () => requestStop("SIGINT")],
    ["SIGHUP", () => { void running.reload().catch(() => undefined); }],
  ];
  const handleSignals = opts.handleSignals ?? true;
  if (handleSignals) for (const [signal, handler] of handlers) process.on(signal, handler);
  opts.stop?.addEventListener("abort", () => requestStop("stop requested"), { once: true });
  const reason = await stopped;
  logger.info("Received shutdown signal, exiting gracefully...", { reason });
  if (handleSignals) for (const [signal, handler] of handlers) process.off(signal, handler);
  await server.stop();
  await running.stop();
  logger.info("See you next time!");
  return 0;
}

/** `promts alertmanager` as a role of the executable. */
export const alertmanagerRole: Role = {
  command: alertmanagerCommand,
  run: (parsed, _io: MainIO) => runAlertmanager(parsed.flags as AlertmanagerFlags),
};

/** Where the server's built-in Alertmanager keeps silences and the notification log, inside the TSDB directory. */
export const BUILTIN_STORAGE_DIR = "alertmanager";

/** The built-in Alertmanager's retention of expired silences and nflog entries (Alertmanager's default). */
const BUILTIN_RETENTION_MS = 120 * 3_600_000;

/**
 * Starts the server's built-in Alertmanager when --alertmanager.config.file
 * is set, and mounts its API v2 on the server's app under
 * `<route prefix>/api/v2`; undefined when the flag is empty. Silences and
 * the nflog live in `<storage.tsdb.path>/alertmanager`. Throws when the
 * config file is unusable.
 */
export function attachBuiltinAlertmanager(app: Hono, flags: ServerFlags, registry: Registry, logger: Logger): RunningAlertmanager | undefined {
  const configFile = flags["alertmanager.config.file"];
  if (configFile === "") return undefined;
  const amLogger = logger.with({ component: "alertmanager" });
  const running = startAlertmanager({
    configFile, storagePath: join(flags["storage.tsdb.path"], BUILTIN_STORAGE_DIR), retention: BUILTIN_RETENTION_MS,
    externalURL: externalURL(flags), peerTimeout: flags["cluster.peer-timeout"], logger: amLogger, registry,
  });
  const prefix = routePrefix(flags);
  app.route(`${prefix === "/" ? "" : prefix}/api/v2`, alertmanagerAPIv2({
    alertmanager: () => running.alertmanager, versionInfo: alertmanagerVersionInfo(), logger: amLogger,
  }));
  return running;
}

/**
 * The server's reload with a built-in Alertmanager: reloads both configs
 * (each keeps its old config on error) and rejects with the first failure.
 */
export async function reloadWithAlertmanager(reloadServer: () => Promise<void>, builtin: RunningAlertmanager | undefined): Promise<void> {
  const results = await Promise.allSettled([reloadServer(), builtin?.reload()]);
  for (const r of results) if (r.status === "rejected") throw r.reason;
}
