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

/** An API handler: the request's form (query string and urlencoded body) in, a Response out. */
export type FormHandler = (form: RequestForm, c: Context) => Response | Promise<Response>;

/**
 * Wraps a handler for Hono: reads the form, and turns whatever it throws
 * (ApiError, PromQL errors, timeouts) into Prometheus's error envelope.
 *
 * @example app.get("/rules", handleForm((form) => successValue(rules(form))));
 */
export function handleForm(fn: FormHandler): (c: Context) => Promise<Response> {
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
  app.on(both, "/query", handleForm((form, c) => instantQuery(ctx, form, c.req.raw.signal)));
  app.on(both, "/query_range", handleForm((form, c) => rangeQuery(ctx, form, c.req.raw.signal)));
  app.on(both, "/query_exemplars", handleForm((form) => queryExemplars(form)));
  app.on(both, "/format_query", handleForm((form) => formatQuery(form)));
  app.on(both, "/parse_query", handleForm((form) => parseQuery(form)));
  app.on(both, "/series", handleForm((form, c) => series(ctx, form, c.req.raw.signal)));
  app.on(both, "/labels", handleForm((form) => labelNames(ctx, form)));
  app.get("/label/:name/values", handleForm((form, c) => {
    const raw = LABEL_VALUES_PATH.exec(new URL(c.req.url).pathname)?.[1] ?? "";
    return labelValues(ctx, form, labelNameFromPath(raw));
  }));
  app.get("/metadata", handleForm((form) => metadata(ctx, form)));
  app.get("/status/buildinfo", handleForm(() => buildInfo(ctx)));
  app.get("/status/runtimeinfo", handleForm(() => runtimeInfo(ctx)));
  app.get("/status/flags", handleForm(() => flags(ctx)));
  app.get("/status/config", handleForm(() => config(ctx)));
  app.get("/status/tsdb", handleForm((form) => tsdbStatus(ctx, form)));
  return app;
}
