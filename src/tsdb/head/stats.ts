/**
 * Cardinality statistics of the head, in the shape of Prometheus's
 * `/api/v1/status/tsdb`: top-N lists of series per metric name, values per
 * label name, estimated label memory per label name and series per label
 * pair, computed from the head's postings index.
 */
import type { MemPostings } from "./postings.ts";

/** One row of a top-N list: a metric name, label name or `name=value` pair and its count. */
export interface CardinalityStat {
  name: string;
  value: number;
}

/** Totals of the head; minTime/maxTime are MAX_TIME/MIN_TIME for an empty head (as Prometheus's int64 extremes). */
export interface TSDBHeadStats {
  numSeries: number;
  /** Distinct label pairs (name=value) carried by live series. */
  numLabelPairs: number;
  chunkCount: number;
  minTime: number;
  maxTime: number;
}

/**
 * What `Head.stats()` returns; the JSON body of Prometheus's
 * /api/v1/status/tsdb `data`. Each list holds at most `limit` rows, largest
 * value first (ties by name).
 */
export interface TSDBStats {
  headStats: TSDBHeadStats;
  seriesCountByMetricName: CardinalityStat[];
  labelValueCountByLabelName: CardinalityStat[];
  /** Prometheus's estimate: per pair, (varint length + bytes) of name and value, times the series carrying it. */
  memoryInBytesByLabelName: CardinalityStat[];
  seriesCountByLabelValuePair: CardinalityStat[];
}

/** Keeps the `limit` largest rows seen, largest first, ties broken by name. */
class TopN {
  readonly rows: CardinalityStat[] = [];
  constructor(private readonly limit: number) {}

  private static before(a: CardinalityStat, b: CardinalityStat): boolean {
    return a.value > b.value || (a.value === b.value && a.name < b.name);
  }

  push(name: string, value: number): void {
    const rows = this.rows;
    const row = { name, value };
    if (rows.length === this.limit && !TopN.before(row, rows[rows.length - 1]!)) return;
    let i = rows.length;
    while (i > 0 && TopN.before(row, rows[i - 1]!)) i--;
    rows.splice(i, 0, row);
    if (rows.length > this.limit) rows.pop();
  }
}

const utf8 = new TextEncoder();

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function labelBytes(s: string): number {
  const n = utf8.encode(s).length;
  return varintSize(n) + n;
}

/**
 * The per-label lists of {@link TSDBStats} from a postings index; entries
 * without live series are left out. `metricLabel` names the label whose
 * values count as metric names (`__name__`).
 *
 * @example
 * postingsStats(postings, "__name__", 10).seriesCountByMetricName; // [{ name: "up", value: 3 }, …]
 */
export function postingsStats(
  postings: MemPostings,
  metricLabel: string,
  limit: number,
): Omit<TSDBStats, "headStats"> & { numLabelPairs: number } {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`head stats: limit must be a positive integer, got ${limit}`);
  const byMetric = new TopN(limit), valueCounts = new TopN(limit), memory = new TopN(limit), byPair = new TopN(limit);
  let numLabelPairs = 0;
  for (const name of postings.names()) {
    let values = 0, bytes = 0;
    const nameBytes = labelBytes(name);
    for (const [value, entry] of postings.values(name) ?? []) {
      const series = entry.refs.length;
      if (series === 0) continue;
      values++;
      bytes += (nameBytes + labelBytes(value)) * series;
      if (name === metricLabel) byMetric.push(value, series);
      byPair.push(`${name}=${value}`, series);
    }
    if (values === 0) continue;
    numLabelPairs += values;
    valueCounts.push(name, values);
    memory.push(name, bytes);
  }
  return {
    numLabelPairs,
    seriesCountByMetricName: byMetric.rows,
    labelValueCountByLabelName: valueCounts.rows,
    memoryInBytesByLabelName: memory.rows,
    seriesCountByLabelValuePair: byPair.rows,
  };
}
