/**
 * The server's HTTP application: lifecycle endpoints, /metrics and a minimal
 * landing page, all under --web.route-prefix, with request instrumentation.
 * Holds no server logic: readiness, quit and reload are hooks.
 */
import { Hono } from "hono";
import type { Logger } from "../log/index.ts";
import type { Registry } from "../model/index.ts";
import { instrumentRequests } from "./instrument.ts";
import { cors } from "./cors.ts";
import { lifecycleRoutes, readyOnly, type LifecycleHooks } from "./lifecycle.ts";
import { basicAuth, responseHeaders } from "./web_config.ts";

/** The content type of the Prometheus text exposition format 0.0.4. */
export const TEXT_FORMAT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Prometheus's default --web.page-title. */
export const DEFAULT_PAGE_TITLE = "Prometheus Time Series Collection and Processing Server";

/** Everything the web application needs from the server. */
export interface WebOptions extends LifecycleHooks {
  registry: Registry;
  /** Path all routes live under; "/" (default) or e.g. "/prometheus". */
  routePrefix?: string;
  pageTitle?: string;
  /** Version shown on the landing page. */
  version?: string;
  /** Basic-auth users (name → bcrypt hash) from --web.config.file; every route requires one when set. */
  basicAuthUsers?: ReadonlyMap<string, string>;
  /** Headers added to every response (--web.config.file http_server_config.headers). */
  headers?: Readonly<Record<string, string>>;
  /**
   * The HTTP API, served under /api/v1 once the server is ready (503
   * "Service Unavailable" before), with CORS for `corsOrigin`.
   */
  apiV1?: Hono;
  /**
   * More routes under the route prefix (e.g. /federate), served once the
   * server is ready (503 before).
   */
  extraRoutes?: Hono;
  /** --web.cors.origin, fully anchored; default allows every origin. */
  corsOrigin?: RegExp;
  /** Where handler failures are logged (they answer 500). */
  logger?: Logger;
  /** The web UI's routes (src/ui uiRoutes), mounted at the prefix in place of the minimal landing page. */
  ui?: Hono;
}

/**
 * Normalizes a route prefix to "/" or "/a/b" (leading slash, no trailing one).
 *
 * @example normalizeRoutePrefix("prom/") // "/prom"
 */
export function normalizeRoutePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, "");
  return trimmed === "" ? "/" : `/${trimmed}`;
}

function escapeHTML(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function landingPage(title: string, prefix: string, version: string): string {
  const base = prefix === "/" ? "" : prefix;
  const links = ["metrics", "-/healthy", "-/ready"]
    .map((p) => `<li><a href="${escapeHTML(`${base}/${p}`)}">/${escapeHTML(p)}</a></li>`)
    .join("");
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHTML(title)}</title></head>` +
    `<body><h1>${escapeHTML(title)}</h1><p>promts ${escapeHTML(version)}</p><ul>${links}</ul></body></html>\n`;
}

/**
 * Builds the Hono app; serve it with `Bun.serve({ fetch: app.fetch })` or test
 * it with `app.request("/-/ready")`. Registers prometheus_ready and the HTTP
 * request metrics into `opts.registry`.
 */
export function newWebApp(opts: WebOptions): Hono {
  const prefix = normalizeRoutePrefix(opts.routePrefix ?? "/");
  const title = opts.pageTitle ?? DEFAULT_PAGE_TITLE;
  opts.registry.gaugeFunc("prometheus_ready", "Whether Prometheus startup was fully completed and the server is ready for normal operation.",
    () => (opts.isReady() ? 1 : 0));

  const routes = new Hono();
  routes.route("/", lifecycleRoutes(opts));
  routes.get("/metrics", (c) => c.body(opts.registry.render(), 200, { "Content-Type": TEXT_FORMAT_CONTENT_TYPE }));
  if (opts.extraRoutes) {
    routes.use("/federate", readyOnly(opts.isReady));
    routes.route("/", opts.extraRoutes);
  }
  if (opts.apiV1) {
    routes.use("/api/v1/*", cors(opts.corsOrigin ?? /^(?:.*)$/), readyOnly(opts.isReady));
    routes.route("/api/v1", opts.apiV1);
  }
  if (opts.ui) routes.route("/", opts.ui);
  else routes.get("/", (c) => c.html(landingPage(title, prefix, opts.version ?? "")));

  const app = new Hono();
  app.onError((err, c) => {
    opts.logger?.error("HTTP handler failed", { path: c.req.path, err });
    return c.text("Internal Server Error", 500);
  });
  if (opts.headers && Object.keys(opts.headers).length > 0) app.use("*", responseHeaders(opts.headers));
  if (opts.basicAuthUsers && opts.basicAuthUsers.size > 0) app.use("*", basicAuth(opts.basicAuthUsers));
  app.use("*", instrumentRequests(opts.registry, prefix));
  if (prefix !== "/") app.get("/", (c) => c.redirect(prefix, 302));
  app.route(prefix, routes);
  return app;
}
