/**
 * CORS for the HTTP API, as Prometheus sets it (--web.cors.origin): only
 * requests that carry an Origin get CORS headers; the allowed origin is
 * echoed back when it matches the anchored regex, or "*" for the default
 * match-everything pattern. Preflight OPTIONS requests are answered here.
 */
import type { MiddlewareHandler } from "hono";

const CORS_HEADERS: Readonly<Record<string, string>> = {
  "Access-Control-Allow-Headers": "Accept, Authorization, Content-Type, Origin",
  "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
  "Access-Control-Expose-Headers": "Date",
  Vary: "Origin",
};

/** The source of Prometheus's default, match-everything origin regex. */
const MATCH_ALL_SOURCES = new Set(["^(?:.*)$", ".*"]);

/**
 * A middleware adding CORS headers for origins matching `origin` (a fully
 * anchored regex, e.g. /^(?:https?:\/\/example\.com)$/).
 */
export function cors(origin: RegExp): MiddlewareHandler {
  const matchAll = MATCH_ALL_SOURCES.has(origin.source);
  return async (c, next) => {
    const requestOrigin = c.req.header("origin");
    if (requestOrigin === undefined || requestOrigin === "") return next();
    const headers: Record<string, string> = { ...CORS_HEADERS };
    if (matchAll) headers["Access-Control-Allow-Origin"] = "*";
    else if (origin.test(requestOrigin)) headers["Access-Control-Allow-Origin"] = requestOrigin;
    if (c.req.method === "OPTIONS") return c.body(null, 200, headers);
    await next();
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  };
}
