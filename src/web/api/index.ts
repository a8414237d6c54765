/**
 * The query API room's door: Prometheus's /api/v1 query, metadata and status
 * endpoints as a Hono sub-app, plus the JSON and parameter helpers other
 * rooms may reuse (federation, rules API) to answer the same way.
 *
 * @example
 * app.route("/api/v1", apiV1({ engine, queryable: db.querier, config, flags, buildInfo, runtimeInfo }));
 */
export { apiV1, handleForm, type FormHandler } from "./app.ts";
export type { ApiContext, BuildInfo, HeadStats, MetricMetadata, TSDBStat, TSDBStatus } from "./context.ts";
export { formatGoFloatE, formatGoFloatF, formatSampleValue, formatTimestamp, goJSON, jsonString, labelsJSON, queryDataJSON } from "./json.ts";
export {
  matchersParam,
  MAX_FORM_BYTES,
  MAX_TIME_FORMATTED,
  MIN_TIME_FORMATTED,
  parseDurationParam,
  parseMetricSelector,
  parseTime,
  readForm,
  RequestForm,
  timeParam,
} from "./params.ts";
export { ApiError, errorResponse, invalidParam, successResponse, successValue, type Annotations, type ApiErrorType } from "./respond.ts";
export { astToJSON, type AstJSON } from "./ast_json.ts";
export { MAX_POINTS_PER_SERIES, queryError } from "./query.ts";
export { tsdbStatusFromQuerier } from "./status.ts";
