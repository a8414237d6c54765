/**
 * Serves the web UI: one single-page application for every role, embedded
 * in the binary at build time (build.ts bundles src/ui/browser/ into
 * assets.generated.ts). Every page path answers the same small HTML page
 * carrying the role's configuration; the bundle routes in the browser.
 *
 * Pages (Prometheus 3's paths): /query (and /graph, which redirects there
 * keeping `g0.expr=…`), /alerts, /rules, /targets, /service-discovery,
 * /config, /flags, /status, /tsdb-status, /dashboards[/name]; Alertmanager
 * pages under /alertmanager/… (alerts, silences, status). Adding a role's
 * pages means a new entry in {@link ROLE_PAGES} and a page module in the
 * browser bundle.
 */
import { Hono } from "hono";
import { appCSS, appJS, appCSSGzip, appJSGzip, assetHash } from "./assets.generated.ts";
import { dashboardsAPI, type DashboardStore } from "./dashboards.ts";
import { relabelStepsAPI, type ScrapePoolRelabeling } from "./relabel_steps.ts";

/** The roles whose pages a UI shows. */
export type UIRole = "prometheus" | "alertmanager" | "pushgateway";

/** Page paths per role (under the route prefix); `:x` is one path segment. */
export const ROLE_PAGES: Readonly<Record<UIRole, readonly string[]>> = {
  prometheus: [
    "/query", "/alerts", "/rules", "/targets", "/service-discovery", "/config", "/flags", "/status", "/tsdb-status",
    "/dashboards", "/dashboards/:name",
  ],
  alertmanager: ["/alertmanager", "/alertmanager/alerts", "/alertmanager/silences", "/alertmanager/silences/:id", "/alertmanager/status"],
  pushgateway: ["/pushgateway"],
};

/** Each role's home page, where "/" redirects when the role comes first. */
const HOME: Readonly<Record<UIRole, string>> = { prometheus: "/query", alertmanager: "/alertmanager/alerts", pushgateway: "/pushgateway" };

/** What the UI needs from the role serving it. */
export interface UIOptions {
  /** The roles this process runs, in nav order; the first one's home is "/". */
  roles: readonly UIRole[];
  /** The normalized route prefix: "/" or "/a/b". */
  routePrefix: string;
  /** Shown in the title bar (--web.page-title). */
  title: string;
  version: string;
  /** Where dashboards are kept; no dashboards API or pages without it. */
  dashboards?: DashboardStore;
  /** The scrape pools' relabel rules in effect, for /api/v1/targets/relabel_steps (the targets page's relabel view). */
  scrapePools?: () => readonly ScrapePoolRelabeling[];
  /** With the pushgateway role: where its API is mounted under the prefix ("" standalone, "/pushgateway" on the server). */
  pushgatewayAPI?: string;
}

function escapeHTML(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** The one HTML page; its config is JSON in a script element the bundle reads. */
export function indexHTML(opts: UIOptions): string {
  const base = opts.routePrefix === "/" ? "" : opts.routePrefix;
  const config = {
    prefix: base,
    roles: opts.roles,
    title: opts.title,
    version: opts.version,
    dashboards: opts.dashboards !== undefined,
    ...(opts.roles.includes("pushgateway") ? { pushgateway: opts.pushgatewayAPI ?? "" } : {}),
  };
  // "<" escaped so no value can close the script element.
  const json = JSON.stringify(config).replace(/</g, "\\u003c");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeHTML(opts.title)}</title>` +
    `<link rel="icon" href="data:,">` +
    `<link rel="stylesheet" href="${escapeHTML(base)}/assets/app.css?v=${assetHash}">` +
    `<script id="promts-config" type="application/json">${json}</script>` +
    `<script type="module" src="${escapeHTML(base)}/assets/app.js?v=${assetHash}"></script>` +
    `</head><body><div id="app"></div></body></html>\n`;
}

function asset(body: string, gzip: Uint8Array, type: string, acceptEncoding: string | undefined): Response {
  const headers: Record<string, string> = {
    "Content-Type": type,
    "Cache-Control": "public, max-age=31536000, immutable",
    Vary: "Accept-Encoding",
  };
  if (acceptEncoding && /\bgzip\b/.test(acceptEncoding)) {
    headers["Content-Encoding"] = "gzip";
    return new Response(gzip as Uint8Array<ArrayBuffer>, { headers });
  }
  return new Response(body, { headers });
}

/**
 * The UI's routes, to mount at the route prefix of the role's app (one
 * `app.route(prefix, uiRoutes(…))` call). Includes /api/v1/dashboards when
 * a store is given, and /api/v1/targets/relabel_steps when the scrape pools are.
 */
export function uiRoutes(opts: UIOptions): Hono {
  const base = opts.routePrefix === "/" ? "" : opts.routePrefix;
  const page = indexHTML(opts);
  const app = new Hono();
  const home = HOME[opts.roles[0] ?? "prometheus"];
  app.get("/", (c) => c.redirect(`${base}${home}`, 302));
  app.get("/assets/app.js", (c) => asset(appJS, appJSGzip, "text/javascript; charset=utf-8", c.req.header("Accept-Encoding")));
  app.get("/assets/app.css", (c) => asset(appCSS, appCSSGzip, "text/css; charset=utf-8", c.req.header("Accept-Encoding")));
  const html = () => new Response(page, { headers: { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache" } });
  for (const role of opts.roles) {
    for (const path of ROLE_PAGES[role]) {
      if (path.startsWith("/dashboards") && !opts.dashboards) continue;
      app.get(path, html);
    }
  }
  if (opts.roles.includes("prometheus")) {
    // Prometheus 2's graph page; links from alerts (generatorURL) point here.
    app.get("/graph", (c) => {
      const search = new URL(c.req.url).search;
      return c.redirect(`${base}/query${search}`, 302);
    });
  }
  if (opts.dashboards) app.route("/api/v1/dashboards", dashboardsAPI(opts.dashboards));
  if (opts.scrapePools) app.route("/api/v1/targets/relabel_steps", relabelStepsAPI(opts.scrapePools));
  return app;
}
