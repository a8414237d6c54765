/**
 * The process lifecycle every long-running role shares (the Prometheus
 * server, `alertmanager`, `webhook-logger`, next the Pushgateway):
 *
 * 1. read the web config (TLS, basic auth, headers) and the role's config
 *    file; an error in either ends startup with exit 1 before anything runs;
 * 2. build the role's HTTP app and listen (basic auth and headers wrap every
 *    route, TLS as the web config says); /-/healthy answers from here on;
 * 3. start the role's components, one after the other in declared order,
 *    each with the loaded config; the process turns ready when all have;
 * 4. reload on SIGHUP or the role's reload endpoint: reloads run one at a
 *    time (and wait for startup); every component's `reload` gets the new
 *    config; if loading or any component fails, the reload fails and the
 *    old config stays the one in effect;
 * 5. stop on SIGTERM/SIGINT, the role's quit endpoint or an abort signal:
 *    the listener drains, then the started components stop in reverse order.
 *
 * A role is a list of {@link Component}s plus an app; nothing here knows
 * about storage, scraping or alerts.
 */
import type { Logger } from "../log/index.ts";
import { basicAuth, loadWebConfig, responseHeaders, serveTLSOptions, type ServeTLSOptions, type WebConfig } from "../web/index.ts";
import { Hono } from "hono";

/**
 * One named part of a role, started in declared order and stopped in reverse.
 * Every method is optional; a throw from `start` fails startup, a throw from
 * `reload` fails the reload (the component keeps what it had).
 *
 * @example
 * const storage: Component<PrometheusConfig> = {
 *   name: "storage",
 *   start: async () => { db = await openDB(opts); },
 *   stop: () => db.close(),
 * };
 */
export interface Component<C> {
  readonly name: string;
  /** Starts with the configuration loaded at startup. */
  start?(config: C): void | Promise<void>;
  /** Applies a newly loaded configuration. */
  reload?(config: C): void | Promise<void>;
  /** Releases what `start` acquired; called only when `start` succeeded. */
  stop?(): void | Promise<void>;
}

/** A configuration file as a role loads it. */
export interface LoadedRoleConfig<C> {
  config: C;
  /** Logged as `Config warning` at every load. */
  warnings: string[];
}

/** What the role's HTTP app can ask of the runtime. */
export interface RuntimeControl {
  /** Whether every component has started. */
  isReady(): boolean;
  /** A serialized reload; rejects with the reason it failed (the old config stays). */
  reload(): Promise<void>;
  /** Starts an orderly shutdown, logging `msg`. */
  quit(msg: string): void;
}

/** Where and how a role listens. */
export interface ListenSpec {
  hostname: string;
  port: number;
  /** --web.config.file; "" for none. */
  webConfigFile: string;
  /** Seconds an idle connection stays open (Bun caps it at 255). */
  idleTimeoutS: number;
  /**
   * --web.max-connections: most requests handled at once (0 or absent: no
   * limit). Bun's server does not expose connections, so requests in flight
   * are limited instead; the others wait for a slot in arrival order, as
   * connections wait in the accept queue of Prometheus's LimitListener.
   */
  maxConnections?: number;
}

/** A role as the runtime runs it. */
export interface RoleSpec<C> {
  logger: Logger;
  listen: ListenSpec;
  /** The role's configuration file; a role without one gets `undefined` as its config. */
  config?: { file: string; load(file: string): LoadedRoleConfig<C> };
  /**
   * Builds the role's HTTP app once, before listening (routes cannot be
   * added to a running app): every route the role serves, the lifecycle
   * endpoints included.
   */
  app(control: RuntimeControl): { fetch(req: Request, server?: unknown): Response | Promise<Response> };
  /** In start order. */
  components: readonly Component<C>[];
  /** Called with the base URL once listening, before any component starts. */
  onListening?(url: string): void;
  /**
   * Told about every load of the config file (startup and reloads), e.g.
   * for *_config_last_reload_successful; `config` is the one now in effect
   * when `ok`.
   */
  onConfigLoaded?(ok: boolean, config?: C): void;
  /** Messages logged around a reload, by role ("Loading configuration file", …). */
  reloadLog?: { loading: string; loaded: string; failed: string };
  /** Whether to handle SIGTERM, SIGINT and SIGHUP (default true). */
  handleSignals?: boolean;
  /** Aborting it stops the role as SIGTERM does. */
  stop?: AbortSignal;
}

/** How long in-flight HTTP requests get to finish at shutdown. */
const HTTP_DRAIN_TIMEOUT_MS = 5000;

/** Bun's idle timeout cannot exceed 255 seconds. */
const MAX_IDLE_TIMEOUT_S = 255;

const DEFAULT_RELOAD_LOG = {
  loading: "Loading configuration file",
  loaded: "Completed loading of configuration file",
  failed: "Loading configuration file failed",
};

/** The listener, as far as the runtime uses it. */
export interface Listener {
  /** Base URL, e.g. "http://127.0.0.1:9090" (the real port when 0 was asked for). */
  url: string;
  /** Stops accepting; in-flight requests get HTTP_DRAIN_TIMEOUT_MS to finish. */
  stop(): Promise<void>;
}

/** The web config's basic auth and headers around every route of `fetch`. */
export function guardedFetch(
  fetch: (req: Request, server?: unknown) => Response | Promise<Response>,
  web: WebConfig | undefined,
): (req: Request, server?: unknown) => Response | Promise<Response> {
  const hasHeaders = web !== undefined && Object.keys(web.headers).length > 0;
  const hasUsers = web !== undefined && web.basicAuthUsers.size > 0;
  if (!hasHeaders && !hasUsers) return fetch;
  const outer = new Hono();
  if (hasHeaders) outer.use("*", responseHeaders(web.headers));
  if (hasUsers) outer.use("*", basicAuth(web.basicAuthUsers));
  outer.all("*", (c) => fetch(c.req.raw, c.env));
  return (req, server) => outer.fetch(req, server);
}

type FetchFn = (req: Request, server?: unknown) => Response | Promise<Response>;

/**
 * At most `max` calls of `fetch` run at once; later requests wait in arrival
 * order for a slot (one whose client went away while waiting gives its turn
 * up). A slot is freed when the handler returns its response.
 */
export function limitInFlight(fetch: FetchFn, max: number): FetchFn & { inFlight(): number; waiting(): number } {
  let running = 0;
  const queue: (() => void)[] = [];
  const release = () => {
    const next = queue.shift();
    if (next) next();
    else running--;
  };
  const limited = async (req: Request, server?: unknown): Promise<Response> => {
    if (running < max) running++;
    else {
      const admitted = await new Promise<boolean>((resolve) => {
        const turn = () => {
          req.signal.removeEventListener("abort", gone);
          resolve(true);
        };
        const gone = () => {
          const i = queue.indexOf(turn);
          if (i >= 0) queue.splice(i, 1);
          resolve(false);
        };
        if (req.signal.aborted) return resolve(false);
        req.signal.addEventListener("abort", gone, { once: true });
        queue.push(turn);
      });
      if (!admitted) return new Response(null, { status: 499 });
    }
    try {
      return await fetch(req, server);
    } finally {
      release();
    }
  };
  return Object.assign(limited, { inFlight: () => running, waiting: () => queue.length });
}

/**
 * Listens with Bun.serve; undefined (after logging why) when the address
 * cannot be bound.
 */
export function listen(
  fetch: (req: Request, server?: unknown) => Response | Promise<Response>,
  spec: ListenSpec,
  tls: ServeTLSOptions | undefined,
  logger: Logger,
): Listener | undefined {
  const { hostname, port } = spec;
  if (spec.maxConnections !== undefined && spec.maxConnections > 0) fetch = limitInFlight(fetch, spec.maxConnections);
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      hostname,
      port,
      fetch: (req, srv) => fetch(req, srv),
      tls,
      idleTimeout: Math.max(1, Math.min(MAX_IDLE_TIMEOUT_S, Math.ceil(spec.idleTimeoutS))),
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

/** Reads --web.config.file and its certificate files; undefined (after logging) on error. */
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

/**
 * Serializes reloads of one role: each waits for startup and for the one
 * before it. The config in effect changes only when every component took
 * the new one.
 */
export class Reloads<C> {
  private chain: Promise<unknown>;
  private open!: () => void;
  /** The configuration in effect. */
  current: C;

  constructor(
    initial: C,
    private readonly reloadOnce: (current: C) => Promise<C>,
  ) {
    this.current = initial;
    this.chain = new Promise<void>((resolve) => { this.open = resolve; });
  }

  /** Lets queued and later reloads run (once startup is complete). */
  start(): void {
    this.open();
  }

  reload(): Promise<void> {
    const run = this.chain.then(async () => { this.current = await this.reloadOnce(this.current); });
    this.chain = run.catch(() => undefined);
    return run;
  }
}

/**
 * Runs a role until it is asked to stop; resolves with the process exit
 * code: 0 after an orderly shutdown, 1 when startup or shutdown failed.
 */
export async function runRole<C>(spec: RoleSpec<C>): Promise<number> {
  const { logger } = spec;
  const reloadLog = spec.reloadLog ?? DEFAULT_RELOAD_LOG;
  const files = readWebConfig(spec.listen.webConfigFile, logger);
  if (!files) return 1;

  let initial: C;
  try {
    initial = spec.config ? loadLogged(spec.config, logger) : (undefined as C);
  } catch (err) {
    logger.error(`Error loading config (--config.file=${spec.config!.file})`, { file: spec.config!.file, err });
    return 1;
  }

  let requestStop!: (reason: { msg: string; fields?: Record<string, unknown> }) => void;
  const stopRequested = new Promise<{ msg: string; fields?: Record<string, unknown> }>((resolve) => { requestStop = resolve; });
  let ready = false;
  const reloads = new Reloads<C>(initial, async (current) => {
    if (!spec.config) return current;
    const start = performance.now();
    logger.info(reloadLog.loading, { filename: spec.config.file });
    let next: C;
    try {
      next = loadLogged(spec.config, logger);
      await applyAll(spec.components, next, logger);
    } catch (err) {
      spec.onConfigLoaded?.(false);
      logger.error(reloadLog.failed, { file: spec.config.file, err });
      throw err;
    }
    spec.onConfigLoaded?.(true, next);
    logger.info(reloadLog.loaded, { filename: spec.config.file, totalDuration: `${(performance.now() - start).toFixed(3)}ms` });
    return next;
  });
  const control: RuntimeControl = {
    isReady: () => ready,
    reload: () => reloads.reload(),
    quit: (msg) => requestStop({ msg }),
  };

  const fetch = guardedFetch(spec.app(control).fetch, files.web);
  const listener = listen(fetch, spec.listen, files.tls, logger);
  if (!listener) return 1;
  spec.onListening?.(listener.url);

  const signals: [NodeJS.Signals, () => void][] = [
    ["SIGTERM", () => requestStop({ msg: "Received shutdown signal, exiting gracefully...", fields: { signal: "SIGTERM" } })],
    ["SIGINT", () => requestStop({ msg: "Received shutdown signal, exiting gracefully...", fields: { signal: "SIGINT" } })],
    ["SIGHUP", () => { void reloads.reload().catch(() => undefined); }],
  ];
  const handleSignals = spec.handleSignals ?? true;
  if (handleSignals) for (const [signal, handler] of signals) process.on(signal, handler);
  const onAbort = () => requestStop({ msg: "Received shutdown signal, exiting gracefully...", fields: { reason: "stop requested" } });
  if (spec.stop?.aborted) onAbort();
  spec.stop?.addEventListener("abort", onAbort, { once: true });

  const started: Component<C>[] = [];
  let exitCode = 0;
  try {
    for (const component of spec.components) {
      logger.debug("Starting component", { component: component.name });
      await component.start?.(initial);
      started.push(component);
    }
    if (spec.config) spec.onConfigLoaded?.(true, initial);
    reloads.start();
    ready = true;
    logger.info("Server is ready to receive web requests.");
  } catch (err) {
    logger.error("Startup failed", { err });
    exitCode = 1;
    requestStop({ msg: "Shutting down after failed startup" });
  }

  const reason = await stopRequested;
  logger.info(reason.msg, reason.fields);
  if (handleSignals) for (const [signal, handler] of signals) process.off(signal, handler);
  spec.stop?.removeEventListener("abort", onAbort);
  await listener.stop();
  for (const component of started.reverse()) {
    try {
      await component.stop?.();
    } catch (err) {
      logger.error("Error stopping component", { component: component.name, err });
      exitCode = 1;
    }
  }
  if (exitCode === 0) logger.info("See you next time!");
  return exitCode;
}

function loadLogged<C>(config: NonNullable<RoleSpec<C>["config"]>, logger: Logger): C {
  const loaded = config.load(config.file);
  for (const warning of loaded.warnings) logger.warn("Config warning", { file: config.file, warning });
  return loaded.config;
}

/**
 * Hands `config` to every component's reload in order. A failing component
 * does not keep the later ones from the new config (as Prometheus runs all
 * its reloaders); the first failure is rethrown.
 */
async function applyAll<C>(components: readonly Component<C>[], config: C, logger: Logger): Promise<void> {
  let first: unknown;
  let failed = false;
  for (const component of components) {
    if (!component.reload) continue;
    try {
      await component.reload(config);
    } catch (err) {
      logger.error("Component failed to apply the configuration", { component: component.name, err });
      if (!failed) first = err;
      failed = true;
    }
  }
  if (failed) throw first;
}
