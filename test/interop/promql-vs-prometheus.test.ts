/**
 * PromQL interop: the same OpenMetrics dataset (fixtures/promql/dataset.ts)
 * is backfilled into real Prometheus 2.42 with promtool and into promts with
 * createBlocksFromOpenMetrics; every query of fixtures/promql/queries.txt is
 * then run through both HTTP APIs as instant queries at several times and as
 * a range query, and the JSON results are compared: same result type, same
 * series (order ignored except for sort/sort_desc), same timestamps, values
 * equal within Prometheus's test tolerance (relative 1e-6; NaN equals NaN).
 * Without prometheus/promtool the tests pass with a loud SKIPPED message,
 * unless PROMTS_REQUIRE_PEERS=1.
 *
 * promts follows Prometheus 3 where it differs from 2.42. How each difference
 * is kept out of the comparison:
 *
 * | Prometheus 2.42                               | Prometheus 3 / promts                              | handled by                                                  |
 * |-----------------------------------------------|----------------------------------------------------|-------------------------------------------------------------|
 * | range selectors select [t-range, t] (closed)  | (t-range, t] (left-open)                           | every sample has a millisecond jitter, queries use whole seconds, so no sample sits on a boundary |
 * | lookback window [t-5m, t]                     | (t-5m, t]                                          | same jitter                                                 |
 * | subquery steps in [t-range, t] (closed)       | (t-range, t] (left-open)                           | query times and `@` times are never multiples of a subquery step |
 * | holt_winters(v, sf, tf)                       | renamed double_exponential_smoothing (experimental) | the query line "A ||| B" runs A on promts and B on 2.42     |
 * | format_query joins matchers with ","          | joins them with ", "                               | the format_query comparison removes the space after a matcher |
 * | `__name__` kept/dropped per function          | same rules (delayed name removal is off by default) | no difference expected; compared as is                      |
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compareAnswers } from "./fixtures/promql/compare.ts";
import { startDatasetPair, type DatasetPair } from "./fixtures/promql/pair.ts";
import { findPrometheus } from "./fixtures/promql/prometheus.ts";
import { peerAvailable, peersRequired } from "../support/peers.ts";

const START = 1_700_000_000;
const DATA_SECONDS = 7200;
// Not multiples of any subquery step used (30s, 1m, 2m): see the table above.
const INSTANT_TIMES = [START + 1007, START + 3613, START + 5555, START + 7190];
const RANGE = { start: START + 307, end: START + 7200, step: 60 };

interface QueryCase {
  promts: string;
  prometheus: string;
}

function loadQueries(): QueryCase[] {
  const text = readFileSync(join(import.meta.dir, "fixtures/promql/queries.txt"), "utf8");
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const [promts, prometheus] = l.split(" ||| ");
      return { promts: promts!, prometheus: prometheus ?? promts! };
    });
}

const queries = loadQueries();
const peers = findPrometheus();

function available(): boolean {
  return peerAvailable(peers, "prometheus/promtool");
}

if (!peers && !peersRequired()) console.warn("\n*** SKIPPED: prometheus not installed (promql-vs-prometheus interop) ***\n");

let pair: DatasetPair | undefined;

beforeAll(async () => {
  if (!available()) return;
  pair = await startDatasetPair(peers!, "promts-promql-interop-", { start: START, seconds: DATA_SECONDS, interval: 15 });
}, 120_000);

afterAll(async () => {
  await pair?.stop();
});

function params(p: Record<string, string | number>): string {
  return new URLSearchParams(Object.entries(p).map(([k, v]) => [k, String(v)])).toString();
}

/** Queries for which Prometheus returned a non-empty vector or matrix at least once. */
let queriesWithData = 0;

describe("PromQL results agree with Prometheus 2.42", () => {
  test("the query list is large enough", () => {
    expect(queries.length).toBeGreaterThanOrEqual(100);
  });

  for (const q of queries) {
    test(q.promts, async () => {
      if (!available()) return;
      const ordered = /^sort(_desc)?\(/.test(q.promts);
      const problems: string[] = [];
      let hadData = false;
      for (const time of INSTANT_TIMES) {
        const [ours, theirs] = await Promise.all([
          pair!.askPromts(`/query?${params({ query: q.promts, time })}`),
          pair!.askPrometheus(`/query?${params({ query: q.prometheus, time })}`),
        ]);
        if (Array.isArray(theirs.data?.result) && theirs.data.result.length > 0) hadData = true;
        for (const p of compareAnswers(ours, theirs, { order: ordered ? "labels" : "none" })) problems.push(`instant @${time}: ${p}`);
      }
      const [ours, theirs] = await Promise.all([
        pair!.askPromts(`/query_range?${params({ query: q.promts, ...RANGE })}`),
        pair!.askPrometheus(`/query_range?${params({ query: q.prometheus, ...RANGE })}`),
      ]);
      for (const p of compareAnswers(ours, theirs, { order: "none" })) problems.push(`range: ${p}`);
      if (hadData) queriesWithData++;
      expect(problems.slice(0, 10)).toEqual([]);
    });
  }

  test("the comparison is not vacuous: most queries return data", () => {
    if (!available()) return;
    expect(queriesWithData).toBeGreaterThanOrEqual(queries.length - 10);
  });
});

describe("metadata endpoints agree with Prometheus 2.42", () => {
  const paths = [
    `/series?${params({ "match[]": "http_requests_total" })}`,
    `/series?match[]=node_temperature_celsius&match[]=${encodeURIComponent('machine_info{version="v2"}')}&${params({ start: START + 600, end: START + 1200 })}`,
    "/labels",
    `/labels?${params({ "match[]": "request_duration_seconds_bucket" })}`,
    "/label/__name__/values",
    "/label/instance/values",
    `/label/le/values?${params({ "match[]": "request_duration_seconds_bucket", start: START, end: START + 60 })}`,
    `/series?${params({ "match[]": "no_such_metric" })}`,
  ];
  for (const path of paths) {
    test(path, async () => {
      if (!available()) return;
      const [ours, theirs] = await Promise.all([pair!.askPromts(path), pair!.askPrometheus(path)]);
      expect(ours).toEqual(theirs);
    });
  }
});

describe("format_query agrees with Prometheus 2.42", () => {
  test("every query of the list formats the same", async () => {
    if (!available()) return;
    const problems: string[] = [];
    for (const q of queries) {
      if (q.promts !== q.prometheus) continue;
      const path = `/format_query?${params({ query: q.promts })}`;
      const [ours, theirs] = await Promise.all([pair!.askPromts(path), pair!.askPrometheus(path)]);
      // Prometheus 3 separates matchers with ", ", 2.42 with "," (see the table above).
      const normalized = typeof ours.data === "string"
        ? { ...ours, data: (ours.data as string).replace(/\{[^{}]*\}/g, (m) => m.replace(/", /g, '",')) }
        : ours;
      if (JSON.stringify(normalized) !== JSON.stringify(theirs)) problems.push(`${q.promts}: ${JSON.stringify(ours.data)} vs ${JSON.stringify(theirs.data)}`);
    }
    expect(problems).toEqual([]);
  });
});

describe("raw JSON is byte-identical to Prometheus 2.42 for stored samples", () => {
  // Plain selectors do no float arithmetic, so value and timestamp rendering
  // (NaN, ±Inf, large and tiny numbers, millisecond timestamps) must match exactly.
  const cases = [
    `/query?${params({ query: "http_requests_total", time: INSTANT_TIMES[1]! })}`,
    `/query?${params({ query: "odd_values[10m]", time: INSTANT_TIMES[2]! })}`,
    `/query?${params({ query: "error_ratio[2m]", time: INSTANT_TIMES[0]! })}`,
    `/query_range?${params({ query: "memory_usage_bytes", ...RANGE })}`,
    `/query_range?${params({ query: "odd_values", ...RANGE })}`,
    `/query?${params({ query: "1e21", time: "1700000000.5" })}`,
    `/query?${params({ query: "0.0000001", time: "1700000000.05" })}`,
    `/query?${params({ query: '"a<b&c"', time: "1700000000.123" })}`,
    `/query?${params({ query: "vector(1e21) or vector(1e-7) or label_replace(vector(-2.5e-300), \"a\", \"b\", \"\", \"\")", time: "1700000000.5" })}`,
    `/query_range?${params({ query: "vector(123456789.125)", start: "1700000000.05", end: "1700000001", step: "0.25" })}`,
  ];
  for (const path of cases) {
    test(path, async () => {
      if (!available()) return;
      const [ours, theirs] = await Promise.all([
        pair!.requestPromts(path).then((r) => r.text()),
        pair!.requestPrometheus(path).then((r) => r.text()),
      ]);
      expect(ours).toBe(theirs);
    });
  }
});
