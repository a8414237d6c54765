/**
 * The /status endpoints: buildinfo, runtimeinfo, flags, config and tsdb.
 * /status/tsdb uses the server's head statistics when given, otherwise it
 * counts the series a querier sees over all time.
 */
import { METRIC_NAME, newMatcher } from "../../model/index.ts";
import { MAX_TIME, MIN_TIME, type Querier } from "../../tsdb/index.ts";
import type { ApiContext, TSDBStat, TSDBStatus } from "./context.ts";
import type { RequestForm } from "./params.ts";
import { ApiError, successValue } from "./respond.ts";

function topN(counts: Map<string, number>, limit: number): TSDBStat[] {
  return [...counts]
    .map(([name, value]) => ({ name, value }))
    .sort((a, b) => b.value - a.value || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .slice(0, limit);
}

function increment(m: Map<string, number>, key: string, by = 1): void {
  m.set(key, (m.get(key) ?? 0) + by);
}

/**
 * Computes /status/tsdb statistics from every series a querier holds: series
 * counts by metric name and by label pair, distinct values and their UTF-8
 * bytes per label name, and chunk counts and time bounds. Lists keep the
 * `limit` largest entries.
 *
 * @example
 * (await tsdbStatusFromQuerier(db.querier(MIN_TIME, MAX_TIME), 10)).headStats.numSeries;
 */
export async function tsdbStatusFromQuerier(q: Querier, limit: number): Promise<TSDBStatus> {
  const all = await q.select([newMatcher("=~", METRIC_NAME, ".+")], MIN_TIME, MAX_TIME);
  const byMetric = new Map<string, number>();
  const byPair = new Map<string, number>();
  const valuesByName = new Map<string, Set<string>>();
  let chunkCount = 0;
  let minTime = Infinity, maxTime = -Infinity;
  for (const s of all) {
    for (const l of s.labels) {
      if (l.name === METRIC_NAME) increment(byMetric, l.value);
      increment(byPair, `${l.name}=${l.value}`);
      let values = valuesByName.get(l.name);
      if (!values) valuesByName.set(l.name, (values = new Set()));
      values.add(l.value);
    }
    for (const c of s.chunks()) {
      chunkCount++;
      minTime = Math.min(minTime, c.mint);
      maxTime = Math.max(maxTime, c.maxt);
    }
  }
  const valueCounts = new Map<string, number>();
  const valueBytes = new Map<string, number>();
  const encoder = new TextEncoder();
  let numLabelPairs = 0;
  for (const [name, values] of valuesByName) {
    valueCounts.set(name, values.size);
    numLabelPairs += values.size;
    let bytes = 0;
    for (const v of values) bytes += encoder.encode(v).length;
    valueBytes.set(name, bytes);
  }
  return {
    headStats: {
      numSeries: all.length,
      numLabelPairs,
      chunkCount,
      minTime: chunkCount > 0 ? minTime : 0,
      maxTime: chunkCount > 0 ? maxTime : 0,
    },
    seriesCountByMetricName: topN(byMetric, limit),
    labelValueCountByLabelName: topN(valueCounts, limit),
    memoryInBytesByLabelName: topN(valueBytes, limit),
    seriesCountByLabelValuePair: topN(byPair, limit),
  };
}

/** GET /status/tsdb: `limit` (default 10) entries per list. */
export async function tsdbStatus(ctx: ApiContext, form: RequestForm): Promise<Response> {
  let limit = 10;
  const s = form.get("limit");
  if (s !== "") {
    limit = /^[+-]?\d+$/.test(s) ? Number(s) : 0;
    if (!(limit >= 1) || !Number.isSafeInteger(limit)) throw new ApiError("bad_data", "limit must be a positive number");
  }
  if (ctx.tsdbStatus) return successValue(ctx.tsdbStatus(limit));
  const q = ctx.queryable(MIN_TIME, MAX_TIME);
  try {
    return successValue(await tsdbStatusFromQuerier(q, limit));
  } finally {
    q.close();
  }
}

/** GET /status/buildinfo. */
export function buildInfo(ctx: ApiContext): Response {
  return successValue(ctx.buildInfo);
}

/** GET /status/runtimeinfo. */
export function runtimeInfo(ctx: ApiContext): Response {
  return successValue(ctx.runtimeInfo());
}

/** GET /status/flags. */
export function flags(ctx: ApiContext): Response {
  return successValue(ctx.flags());
}

/** GET /status/config: `{"yaml": "…"}`. */
export function config(ctx: ApiContext): Response {
  return successValue({ yaml: ctx.config().yaml });
}
