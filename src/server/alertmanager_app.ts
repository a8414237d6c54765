/**
 * The HTTP application of the standalone Alertmanager role (`promts
 * alertmanager`), answering like Alertmanager's own web server, all under
 * --web.route-prefix. Basic auth and the web config's headers are the
 * runtime's (src/server/runtime.ts), around every route.
 *
 * - `GET /-/healthy` → 200 "OK"; `GET /-/ready` → 200 "OK" once the
 *   Alertmanager runs, 503 before;
 * - `POST /-/reload` → 200, or 500 `failed to reload config: …` (and
 *   alertmanager_config_last_reload_successful drops to 0);
 * - `GET /metrics` → the registry in the text format;
 * - `/api/v2/…` → {@link alertmanagerAPIv2};
 * - `/api/v1/…` → 410 Gone, as Alertmanager 0.27 answers for the removed v1 API.
 *
 * @example
 * const app = alertmanagerWebApp({ alertmanager: () => am, versionInfo, registry, reload });
 * await app.request("/-/ready");
 */
import { Hono } from "hono";
import { alertmanagerAPIv2, goJSON, type AlertmanagerAPIOptions } from "../alertmanager/api/index.ts";
import type { Registry } from "../model/index.ts";
import { normalizeRoutePrefix, TEXT_FORMAT_CONTENT_TYPE } from "../web/index.ts";

/** What the standalone web app needs besides the API's options. */
export interface AlertmanagerWebOptions extends AlertmanagerAPIOptions {
  registry: Registry;
  /** "/" (default) or e.g. "/alertmanager". */
  routePrefix?: string;
  /** Re-reads the config file; rejects with the reason it failed (the old config stays). */
  reload(): Promise<void>;
  /** Whether the Alertmanager runs (default: whenever `alertmanager()` gives one). */
  isReady?: () => boolean;
  /** The web UI's routes (src/ui uiRoutes), mounted at the prefix in place of the one-line text at "/". */
  ui?: Hono;
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
  const isReady = opts.isReady ?? (() => opts.alertmanager() !== undefined);
  routes.get("/-/ready", (c) => (isReady() ? c.text("OK") : c.text("Service Unavailable", 503)));
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
  if (opts.ui) routes.route("/", opts.ui);
  else routes.get("/", (c) => c.text(`promts Alertmanager ${opts.versionInfo.version}: API under ${prefix === "/" ? "" : prefix}/api/v2\n`));

  const app = new Hono();
  app.onError((err, c) => {
    opts.logger?.error("HTTP handler failed", { path: c.req.path, err });
    return c.text("Internal Server Error", 500);
  });
  if (prefix !== "/") app.get("/", (c) => c.redirect(prefix, 302));
  app.route(prefix, routes);
  return app;
}
