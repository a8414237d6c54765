/**
 * `promts pushgateway`: the Pushgateway role, with Pushgateway 1.x's flags
 * and defaults (--web.listen-address :9091, --web.telemetry-path /metrics,
 * --persistence.file, --persistence.interval 5m,
 * --push.disable-consistency-check, …) plus --push.group-ttl (groups not
 * pushed to for longer are dropped; 0, the default, keeps them forever).
 * SIGTERM/SIGINT and /-/quit stop it after a final persistence write.
 *
 * It runs on the shared runtime as one component ("pushgateway": the store,
 * its persistence and expiry); {@link pushgatewayComponent} is also what the
 * server mounts with --pushgateway.enable.
 */
import { clusterComponent, clusterFlags } from "./cluster_component.ts";
import { clusterOptionsFromFlags } from "../cluster/index.ts";
import { uiRoutes } from "../ui/index.ts";
import { Hono } from "hono";
import { parseDuration } from "../base/index.ts";
import { boolFlag, command, customFlag, enumFlag, stringFlag, type Command, type FlagValues, type MainIO, type Role } from "../flags/index.ts";
import { newLogger, type Logger } from "../log/index.ts";
import { Registry } from "../model/index.ts";
import { Persistence, PushStore, pushgatewayApp, replicatePushStore } from "../pushgateway/index.ts";
import { join } from "node:path";
import { registerProcessMetrics } from "../web/index.ts";
import { runRole, type Component } from "./runtime.ts";
import { dataDir, parseListenAddress, type ServerFlags } from "./server_flags.ts";
import { buildInfo } from "./version.ts";

/** The Pushgateway release whose behaviour the role follows. */
export const PUSHGATEWAY_VERSION = "1.5.1";

function durationFlag(help: string, defaultText: string) {
  return customFlag(help, defaultText, parseDuration, { placeholder: "<duration>" });
}

function checkURL(text: string): string {
  if (text !== "" && !URL.canParse(text)) throw new Error("not an absolute URL");
  return text;
}

/** The role's flags, with the Pushgateway's names, defaults and help texts. */
export const pushgatewayFlags = {
  "web.listen-address": customFlag("Address to listen on for the web interface, API, and telemetry.", ":9091", parseListenAddress, { placeholder: "<address>" }),
  "web.config.file": stringFlag("[EXPERIMENTAL] Path to configuration file that can enable TLS or authentication."),
  "web.telemetry-path": stringFlag("Path under which to expose metrics.", "/metrics"),
  "web.external-url": customFlag("The URL under which the Pushgateway is externally reachable.", "", checkURL, { placeholder: "<URL>" }),
  "web.route-prefix": stringFlag("Prefix for the internal routes of web endpoints. Defaults to the path of --web.external-url.", ""),
  "web.enable-lifecycle": boolFlag("Enable shutdown via HTTP request."),
  "web.enable-admin-api": boolFlag("Enable API endpoints for admin control actions."),
  "persistence.file": stringFlag("File to persist metrics. If empty, metrics are only kept in memory.", ""),
  "persistence.interval": durationFlag("The minimum interval at which to write out the persistence file.", "5m"),
  "push.disable-consistency-check": boolFlag("Do not check consistency of pushed metrics. DANGEROUS."),
  "push.group-ttl": durationFlag("Drop a group not pushed to for longer than this (promts addition). 0 keeps groups forever.", "0s"),
  "log.level": enumFlag("Only log messages with the given severity or above. One of: [debug, info, warn, error]", ["debug", "info", "warn", "error"], "info"),
  "log.format": enumFlag("Output format of log messages. One of: [logfmt, json]", ["logfmt", "json"], "logfmt"),
  // promts addition: the groups replicate over the gossip cluster (off unless --cluster.listen-address is set).
  ...clusterFlags(""),
};

export type PushgatewayFlags = FlagValues<typeof pushgatewayFlags>;

export const pushgatewayCommand: Command = command("pushgateway", "Run the Pushgateway (the Prometheus Pushgateway's job).", pushgatewayFlags);


function flagStatus(flags: PushgatewayFlags): Record<string, string> {
  const fmt = (ms: number): string => {
    if (ms === 0) return "0s";
    const h = Math.floor(ms / 3_600_000), m = Math.floor((ms % 3_600_000) / 60_000), s = (ms % 60_000) / 1000;
    return `${h ? `${h}h` : ""}${h || m ? `${m}m` : ""}${s}s`;
  };
  const la = flags["web.listen-address"];
  return {
    "log.format": flags["log.format"],
    "log.level": flags["log.level"],
    "persistence.file": flags["persistence.file"],
    "persistence.interval": fmt(flags["persistence.interval"]),
    "push.disable-consistency-check": String(flags["push.disable-consistency-check"]),
    "push.group-ttl": fmt(flags["push.group-ttl"]),
    "web.config.file": flags["web.config.file"],
    "web.enable-admin-api": String(flags["web.enable-admin-api"]),
    "web.enable-lifecycle": String(flags["web.enable-lifecycle"]),
    "web.external-url": flags["web.external-url"],
    "web.listen-address": `${la.hostname === "0.0.0.0" ? "" : la.hostname}:${la.port}`,
    "web.route-prefix": flags["web.route-prefix"],
    "web.telemetry-path": flags["web.telemetry-path"],
  };
}


/** Knobs for embedding and testing the role. */
export interface PushgatewayRunOptions {
  logger?: Logger;
  handleSignals?: boolean;
  onListening?: (url: string) => void;
  stop?: AbortSignal;
}

/** Settings of {@link pushgatewayComponent}. */
export interface PushgatewaySettings {
  persistenceFile: string;
  persistenceInterval: number;
  groupTTL: number;
  disableConsistencyCheck: boolean;
  logger: Logger;
}

/** The store with its persistence and expiry, as a component of a role. */
export interface PushgatewayComponent<C> {
  readonly store: PushStore;
  readonly component: Component<C>;
}

/**
 * The Pushgateway's store as a component: start loads the persistence file
 * (a file that cannot be read fails the start, naming it) and starts the
 * periodic write and the expiry sweep; stop writes the file a last time.
 */
export function pushgatewayComponent<C>(settings: PushgatewaySettings): PushgatewayComponent<C> {
  const store = new PushStore({ disableConsistencyCheck: settings.disableConsistencyCheck, groupTTL: settings.groupTTL });
  let persistence: Persistence | undefined;
  let ttlTimer: ReturnType<typeof setInterval> | undefined;
  return {
    store,
    component: {
      name: "pushgateway",
      start: () => {
        if (settings.persistenceFile !== "") {
          persistence = new Persistence(store, settings.persistenceFile, settings.persistenceInterval, settings.logger.with({ component: "persistence" }));
          const n = persistence.load();
          settings.logger.info("loaded persisted metrics", { file: settings.persistenceFile, groups: n });
          persistence.start();
        }
        if (settings.groupTTL > 0) {
          ttlTimer = setInterval(() => store.expire(Date.now()), Math.max(100, Math.min(settings.groupTTL / 4, 10_000)));
        }
      },
      stop: () => {
        if (ttlTimer) clearInterval(ttlTimer);
        ttlTimer = undefined;
        persistence?.stop();
        persistence = undefined;
      },
    },
  };
}

/** pushgateway_build_info, with the Pushgateway release promts follows. */
export function registerPushgatewayBuildInfo(registry: Registry): void {
  const info = buildInfo();
  registry.gaugeVec(
    "pushgateway_build_info",
    "A metric with a constant '1' value labeled by version, revision, branch, goversion from which pushgateway was built, and the goos and goarch for the build.",
    ["branch", "goarch", "goos", "goversion", "revision", "version"],
  ).get([info.branch, process.arch === "x64" ? "amd64" : process.arch, process.platform, info.runtimeVersion, info.revision, PUSHGATEWAY_VERSION]).set(1);
}

/** Runs the role until stopped; resolves with the exit code (1 when startup failed). */
export async function runPushgateway(flags: PushgatewayFlags, opts: PushgatewayRunOptions = {}): Promise<number> {
  const logger = opts.logger ?? newLogger({ level: flags["log.level"], format: flags["log.format"] });
  const info = buildInfo();
  logger.info("starting pushgateway", { version: `(version=${PUSHGATEWAY_VERSION}, promts=${info.version}, revision=${info.revision})` });
  const registry = new Registry();
  registerProcessMetrics(registry);
  registerPushgatewayBuildInfo(registry);
  const pg = pushgatewayComponent<undefined>({
    persistenceFile: flags["persistence.file"], persistenceInterval: flags["persistence.interval"], groupTTL: flags["push.group-ttl"],
    disableConsistencyCheck: flags["push.disable-consistency-check"], logger,
  });
  const external = flags["web.external-url"];
  const prefix = (flags["web.route-prefix"] !== "" ? flags["web.route-prefix"] : external !== "" ? new URL(external).pathname : "/").replace(/\/+$/, "");
  const startTime = new Date().toISOString();
  const cluster = clusterComponent(flags["cluster.listen-address"] !== "" ? clusterOptionsFromFlags(flags) : undefined, logger, registry);
  cluster.onPeer((peer) => replicatePushStore(pg.store, peer));
  return runRole<undefined>({
    logger,
    listen: { ...flags["web.listen-address"], webConfigFile: flags["web.config.file"], idleTimeoutS: 120 },
    components: [cluster.component, pg.component, cluster.joinComponent],
    app: (control) => {
      const app = pushgatewayApp({
        store: pg.store, registry, telemetryPath: flags["web.telemetry-path"], routePrefix: prefix,
        enableLifecycle: flags["web.enable-lifecycle"], enableAdminAPI: flags["web.enable-admin-api"],
        disableConsistencyCheck: flags["push.disable-consistency-check"],
        isReady: control.isReady,
        quit: () => control.quit("/-/quit requested"),
        status: () => ({
          build_information: {
            branch: info.branch, buildDate: info.buildDate, buildUser: info.buildUser,
            goVersion: info.runtimeVersion, revision: info.revision, version: PUSHGATEWAY_VERSION,
          },
          flags: flagStatus(flags),
          start_time: startTime,
        }),
      });
      app.route("/", uiRoutes({ roles: ["pushgateway"], routePrefix: prefix === "" ? "/" : prefix, title: "Pushgateway", version: PUSHGATEWAY_VERSION, pushgatewayAPI: "" }));
      if (prefix === "") return app;
      const root = new Hono();
      root.route(prefix, app);
      return root;
    },
    onListening: opts.onListening,
    handleSignals: opts.handleSignals,
    stop: opts.stop,
  });
}

/** `promts pushgateway` as a role of the executable. */
export const pushgatewayRole: Role = {
  command: pushgatewayCommand,
  run: (parsed, _io: MainIO) => runPushgateway(parsed.flags as PushgatewayFlags),
};

/**
 * The server's built-in Pushgateway (--pushgateway.enable): the store as a
 * component, and its routes on the server's listener — pushes on
 * `/metrics/job/…` (PUT, POST, DELETE; GET /metrics stays the server's own
 * metrics) and the whole Pushgateway API under `/pushgateway` (its groups on
 * `/pushgateway/metrics`, `/pushgateway/api/v1/metrics`, pushes on
 * `/pushgateway/metrics/job/…`, so a client given `host:9090/pushgateway`
 * as its gateway works too). Undefined when the flag is off.
 */
export function builtinPushgateway(flags: ServerFlags, logger: Logger): { component: Component<unknown>; store: PushStore; mount(app: Hono, prefix: string): void } | undefined {
  if (!flags["pushgateway.enable"]) return undefined;
  const pgLogger = logger.with({ component: "pushgateway" });
  const file = flags["pushgateway.persistence.file"] !== "" ? flags["pushgateway.persistence.file"] : join(dataDir(flags), "pushgateway.json");
  const pg = pushgatewayComponent<unknown>({
    persistenceFile: file, persistenceInterval: flags["pushgateway.persistence.interval"], groupTTL: flags["pushgateway.group-ttl"],
    disableConsistencyCheck: false, logger: pgLogger,
  });
  const registry = new Registry();
  const status = (): Record<string, unknown> => ({ flags: { "pushgateway.persistence.file": file } });
  return {
    component: pg.component,
    store: pg.store,
    mount(app: Hono, prefix: string): void {
      const base = prefix === "/" ? "" : prefix.replace(/\/+$/, "");
      const common = {
        store: pg.store, registry, enableLifecycle: false, enableAdminAPI: flags["web.enable-admin-api"], disableConsistencyCheck: false,
        lifecycle: false, quit: () => {}, status,
      };
      app.route(`${base}/pushgateway`, pushgatewayApp({ ...common, telemetryPath: "/metrics", routePrefix: `${base}/pushgateway` }));
      // A second app on the same store; its request counter lives in a registry of its own.
      // Pushes at the root too; the telemetry path is the server's own /metrics, so the app's GET is put out of the way.
      const root = new Hono();
      root.route(base === "" ? "/" : base, pushgatewayApp({ ...common, registry: new Registry(), telemetryPath: "/pushgateway/metrics", apiPath: "/pushgateway/api/v1", routePrefix: base }));
      app.on(["PUT", "POST", "DELETE"], `${base}/metrics/job/*`, (c) => root.fetch(c.req.raw));
      app.on(["PUT", "POST", "DELETE"], `${base}/metrics/job@base64/*`, (c) => root.fetch(c.req.raw));
    },
  };
}
