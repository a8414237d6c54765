/**
 * What the query API needs from the server, passed in by whoever mounts it:
 * the engine, storage, configuration and status sources. Everything is a
 * value or a function so the API always shows the current state.
 */
import type { Engine } from "../../promql/index.ts";
import type { Querier } from "../../tsdb/index.ts";

/** Build facts shown by /status/buildinfo, in Prometheus's field names. */
export interface BuildInfo {
  version: string;
  revision: string;
  branch: string;
  buildUser: string;
  buildDate: string;
  goVersion: string;
}

/** One metric's metadata as served by /metadata. */
export interface MetricMetadata {
  type: string;
  help: string;
  unit: string;
}

/** A `{name, value}` row of the /status/tsdb statistics. */
export interface TSDBStat {
  name: string;
  value: number;
}

/** Head statistics of /status/tsdb; times in milliseconds. */
export interface HeadStats {
  numSeries: number;
  numLabelPairs: number;
  chunkCount: number;
  minTime: number;
  maxTime: number;
}

/** The /status/tsdb payload, in Prometheus's shape. */
export interface TSDBStatus {
  headStats: HeadStats;
  seriesCountByMetricName: TSDBStat[];
  labelValueCountByLabelName: TSDBStat[];
  memoryInBytesByLabelName: TSDBStat[];
  seriesCountByLabelValuePair: TSDBStat[];
}

/**
 * The server state the API reads.
 *
 * @example
 * const api = apiV1({ engine, queryable: (mint, maxt) => db.querier(mint, maxt), config: () => ({ yaml }),
 *   flags: () => flags, buildInfo, runtimeInfo: () => ({}) });
 */
export interface ApiContext {
  engine: Engine;
  /** Opens a querier over [mint, maxt] (ms), e.g. `db.querier`. */
  queryable: (mint: number, maxt: number) => Querier;
  /** The current configuration as YAML (configToYAML). */
  config: () => { yaml: string };
  /** Command-line flags by name, without dashes, for /status/flags. */
  flags: () => Record<string, string>;
  buildInfo: BuildInfo;
  /** startTime, CWD, reloadConfigSuccess, lastConfigTime, corruptionCount, goroutineCount, GOMAXPROCS, GOGC, GODEBUG, storageRetention. */
  runtimeInfo: () => Record<string, unknown>;
  /** Head statistics with the top `limit` entries per list; computed from the querier when absent. */
  tsdbStatus?: (limit: number) => TSDBStatus;
  /** Metadata of scraped metrics by metric name; empty when absent. */
  metadata?: () => Map<string, MetricMetadata[]>;
  /** The clock used for a query's default `time` (ms); Date.now when absent. */
  now?: () => number;
}
