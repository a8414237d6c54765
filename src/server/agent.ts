/**
 * What agent mode answers instead of the query, rules and admin APIs, as
 * Prometheus's agent: 422 `{"status":"error","errorType":"execution",
 * "error":"unavailable with Prometheus Agent"}`. Mounted under /api/v1
 * before the real routes.
 */
import { Hono } from "hono";
import { ApiError, errorResponse } from "../web/api/index.ts";

/** The /api/v1 routes Prometheus 2.42 wraps with wrapAgent, by method. */
const REFUSED: readonly [method: "GET" | "POST" | "PUT" | "DELETE", path: string][] = [
  ["GET", "/query"], ["POST", "/query"], ["GET", "/query_range"], ["POST", "/query_range"],
  ["GET", "/query_exemplars"], ["POST", "/query_exemplars"], ["GET", "/format_query"], ["POST", "/format_query"],
  ["GET", "/labels"], ["POST", "/labels"], ["GET", "/label/:name/values"],
  ["GET", "/series"], ["POST", "/series"], ["DELETE", "/series"],
  ["GET", "/alertmanagers"], ["GET", "/status/tsdb"], ["GET", "/alerts"], ["GET", "/rules"],
  ["POST", "/admin/tsdb/delete_series"], ["PUT", "/admin/tsdb/delete_series"],
  ["POST", "/admin/tsdb/clean_tombstones"], ["PUT", "/admin/tsdb/clean_tombstones"],
  ["POST", "/admin/tsdb/snapshot"], ["PUT", "/admin/tsdb/snapshot"],
];

export const AGENT_UNAVAILABLE = "unavailable with Prometheus Agent";

/** The refusals, to mount under /api/v1 ahead of every other route. */
export function agentRefusals(): Hono {
  const app = new Hono();
  for (const [method, path] of REFUSED) app.on(method, path, () => errorResponse(new ApiError("execution", AGENT_UNAVAILABLE)));
  return app;
}
