/**
 * The Hono sub-app serving Prometheus's query API; routes are relative to
 * /api/v1, so the server mounts it with `app.route("/api/v1", apiV1(ctx))`.
 * Handlers are plain functions of (context, form); this file only routes and
 * turns thrown ApiErrors into the error envelope.
 */
import { Hono, type Context } from "hono";
import type { ApiContext } from "./context.ts";
import { readForm, type RequestForm } from "./params.ts";
import { formatQuery, instantQuery, parseQuery, queryError, queryExemplars, rangeQuery } from "./query.ts";
import { errorResponse } from "./respond.ts";
import { labelNameFromPath, labelNames, labelValues, metadata, series } from "./series.ts";
import { buildInfo, config, flags, runtimeInfo, tsdbStatus } from "./status.ts";

type Handler = (form: RequestForm, c: Context) => Response | Promise<Response>;

function handle(fn: Handler): (c: Context) => Promise<Response> {
  return async (c) => {
    try {
      return await fn(await readForm(c.req.raw), c);
    } catch (e) {
      return errorResponse(queryError(e));
    }
  };
}

const LABEL_VALUES_PATH = /\/label\/([^/]*)\/values\/?$/;

/**
 * Builds the /api/v1 routes over `ctx`.
 *
 * @example
 * const app = new Hono();
 * app.route("/api/v1", apiV1(ctx));
 * await app.request("/api/v1/query?query=up&time=1700000000");
 */
export function apiV1(ctx: ApiContext): Hono {
  const app = new Hono();
  const both = ["GET", "POST"];
  app.on(both, "/query", handle((form) => instantQuery(ctx, form)));
  app.on(both, "/query_range", handle((form) => rangeQuery(ctx, form)));
  app.on(both, "/query_exemplars", handle((form) => queryExemplars(form)));
  app.on(both, "/format_query", handle((form) => formatQuery(form)));
  app.on(both, "/parse_query", handle((form) => parseQuery(form)));
  app.on(both, "/series", handle((form) => series(ctx, form)));
  app.on(both, "/labels", handle((form) => labelNames(ctx, form)));
  app.get("/label/:name/values", handle((form, c) => {
    const raw = LABEL_VALUES_PATH.exec(new URL(c.req.url).pathname)?.[1] ?? "";
    return labelValues(ctx, form, labelNameFromPath(raw));
  }));
  app.get("/metadata", handle((form) => metadata(ctx, form)));
  app.get("/status/buildinfo", handle(() => buildInfo(ctx)));
  app.get("/status/runtimeinfo", handle(() => runtimeInfo(ctx)));
  app.get("/status/flags", handle(() => flags(ctx)));
  app.get("/status/config", handle(() => config(ctx)));
  app.get("/status/tsdb", handle((form) => tsdbStatus(ctx, form)));
  return app;
}
