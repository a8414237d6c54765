/**
 * The HTTP application of the standalone Alertmanager role (`promts
 * alertmanager`), answering like Alertmanager's own web server, all under
 * --web.route-prefix:
 *
 * - `GET /-/healthy`, `GET /-/ready` → 200 "OK";
 * - `POST /-/reload` → 200, or 500 `failed to reload config: …` (and
 *   alertmanager_config_last_reload_successful drops to 0);
 * - `GET /metrics` → the registry in the text format;
 * - `/api/v2/…` → {@link alertmanagerAPIv2};
 * - `/api/v1/…` → 410 Gone, as Alertmanager 0.27 answers for the removed v1 API.
 *
 * @example
 * Bun.serve({ port: 9093, fetch: alertmanagerWebApp({ alertmanager: () => am, versionInfo, registry, reload }).fetch });
 */
import { Hono } from "hono";
import type { Registry } from "../../model/index.ts";
import { basicAuth, normalizeRoutePrefix, responseHeaders, TEXT_FORMAT_CONTENT_TYPE } from "../../web/index.ts";
import { alertmanagerAPIv2, type AlertmanagerAPIOptions } from "./app.ts";
import { goJSON } from "./json.ts";

/** What the standalone web app needs besides the API's options. */
export interface AlertmanagerWebOptions extends AlertmanagerAPIOptions {
  registry: Registry;
  /** "/" (default) or e.g. "/alertmanager". */
  routePrefix?: string;
  /** Re-reads the config file; rejects with the reason it failed (the old config stays). */
  reload(): Promise<void>;
  /** Basic-auth users (name → bcrypt hash) from --web.config.file; every route requires one when set. */
  basicAuthUsers?: ReadonlyMap<string, string>;
  /** Headers added to every response (--web.config.file). */
  headers?: Readonly<Record<string, string>>;
}

const V1_GONE = {
  status: "deprecated",
  error: "The Alertmanager v1 API was deprecated in version 0.16.0 and is removed as of version 0.27.0 - please use the equivalent route in the v2 API",
};

/** Builds the app; see the module comment. */
export function alertmanagerWebApp(opts: AlertmanagerWebOptions): Hono {
  const prefix = normalizeRoutePrefix(opts.routePrefix ?? "/");
  const routes = new Hono();
  routes.get("/-/healthy", (c) => c.text("OK"));
  routes.get("/-/ready", (c) => c.text("OK"));
  routes.post("/-/reload", async (c) => {
    try {
      await opts.reload();
      return c.body(null, 200);
    } catch (e) {
      // A file that did not read or parse never reached applyConfig; the gauge must still drop.
      opts.alertmanager()?.reloadFailed();
      return c.text(`failed to reload config: ${e instanceof Error ? e.message : String(e)}\n`, 500);
    }
  });
  routes.get("/metrics", (c) => c.body(opts.registry.render(), 200, { "Content-Type": TEXT_FORMAT_CONTENT_TYPE }));
  routes.route("/api/v2", alertmanagerAPIv2(opts));
  routes.all("/api/v1/*", () => new Response(goJSON(V1_GONE), { status: 410, headers: { "Content-Type": "application/json" } }));
  routes.get("/", (c) => c.text(`promts Alertmanager ${opts.versionInfo.version}: API under ${prefix === "/" ? "" : prefix}/api/v2\n`));

  const app = new Hono();
  app.onError((err, c) => {
    opts.logger?.error("HTTP handler failed", { path: c.req.path, err });
    return c.text("Internal Server Error", 500);
  });
  if (opts.headers && Object.keys(opts.headers).length > 0) app.use("*", responseHeaders(opts.headers));
  if (opts.basicAuthUsers && opts.basicAuthUsers.size > 0) app.use("*", basicAuth(opts.basicAuthUsers));
  if (prefix !== "/") app.get("/", (c) => c.redirect(prefix, 302));
  app.route(prefix, routes);
  return app;
}
