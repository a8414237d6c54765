/**
 * HTTP self-instrumentation with Prometheus's metric names:
 * prometheus_http_requests_total{code,handler} and
 * prometheus_http_request_duration_seconds{handler}. The handler label is the
 * route pattern (e.g. "/-/ready"), without the --web.route-prefix, so label
 * values stay few and stable; requests that match no route are not counted.
 */
import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { Registry } from "../model/index.ts";

/** Prometheus's buckets for HTTP request latency, in seconds. */
export const HTTP_DURATION_BUCKETS = [0.1, 0.2, 0.4, 1, 3, 8, 20, 60, 120];

/**
 * A middleware recording every routed request. Install it first, with
 * `app.use("*", instrumentRequests(registry, prefix))`, so it times the
 * whole handler chain.
 */
export function instrumentRequests(registry: Registry, routePrefix = "/"): MiddlewareHandler {
  const requests = registry.counterVec("prometheus_http_requests_total", "Counter of HTTP requests.", ["code", "handler"]);
  const durations = registry.histogramVec(
    "prometheus_http_request_duration_seconds",
    "Histogram of latencies for HTTP requests.",
    ["handler"],
    HTTP_DURATION_BUCKETS,
  );
  const prefix = routePrefix === "/" ? "" : routePrefix.replace(/\/+$/, "");
  return async (c, next) => {
    const start = performance.now();
    await next();
    // Middleware (app.use) matches every method; when only middleware matched, no route handled the path.
    const last = matchedRoutes(c).findLast((r) => r.method !== "ALL");
    if (!last) return;
    const handler = prefix !== "" && last.path.startsWith(prefix) ? last.path.slice(prefix.length) || "/" : last.path;
    requests.get([String(c.res.status), handler]).inc();
    durations.get([handler]).observe((performance.now() - start) / 1000);
  };
}
