/**
 * The lifecycle endpoints, answering like Prometheus's:
 *
 * - `GET /-/healthy` → 200 "Prometheus Server is Healthy."
 * - `GET /-/ready` → 200 "Prometheus Server is Ready." once storage is open,
 *   503 "Service Unavailable" before (e.g. during WAL replay).
 * - `POST|PUT /-/reload` and `POST|PUT /-/quit` → only with
 *   --web.enable-lifecycle, else 403 "Lifecycle API is not enabled.";
 *   GET on them → 405.
 */
import { Hono, type MiddlewareHandler } from "hono";

/** What the lifecycle endpoints need from the server. */
export interface LifecycleHooks {
  /** --web.enable-lifecycle: whether /-/quit and /-/reload act. */
  enableLifecycle: boolean;
  /** "Prometheus Server" (default) or, in agent mode, "Prometheus Agent": what /-/healthy and /-/ready name. */
  serverName?: string;
  isReady(): boolean;
  /** Starts an orderly shutdown; called after the response is built. */
  quit(): void;
  /** Reloads the configuration; rejects with the reason it failed. */
  reload(): Promise<void>;
}

const NOT_ENABLED = "Lifecycle API is not enabled.";
const ONLY_POST_PUT = "Only POST or PUT requests allowed";

/**
 * Returns 503 "Service Unavailable" until the server is ready; for endpoints
 * (the APIs) that need open storage.
 */
export function readyOnly(isReady: () => boolean): MiddlewareHandler {
  return async (c, next) => {
    if (!isReady()) return c.text("Service Unavailable", 503);
    await next();
  };
}

/** The /-/* routes, to mount under the route prefix. */
export function lifecycleRoutes(hooks: LifecycleHooks): Hono {
  const app = new Hono();
  const name = hooks.serverName ?? "Prometheus Server";
  app.get("/-/healthy", (c) => c.text(`${name} is Healthy.\n`));
  app.get("/-/ready", (c) =>
    hooks.isReady() ? c.text(`${name} is Ready.\n`) : c.text("Service Unavailable", 503));

  app.on(["POST", "PUT"], "/-/quit", (c) => {
    if (!hooks.enableLifecycle) return c.text(NOT_ENABLED, 403);
    setTimeout(hooks.quit, 0);
    return c.text("Requesting termination... Goodbye!");
  });
  app.get("/-/quit", (c) => c.text(ONLY_POST_PUT, 405));

  app.on(["POST", "PUT"], "/-/reload", async (c) => {
    if (!hooks.enableLifecycle) return c.text(NOT_ENABLED, 403);
    try {
      await hooks.reload();
    } catch (err) {
      return c.text(`failed to reload config: ${err instanceof Error ? err.message : String(err)}\n`, 500);
    }
    return c.body(null, 200);
  });
  app.get("/-/reload", (c) => c.text(ONLY_POST_PUT, 405));
  return app;
}
