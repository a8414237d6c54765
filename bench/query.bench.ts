/**
 * Query benchmark: the same OpenMetrics dataset (10k series × 2h at 15s) is
 * backfilled into promts and into real Prometheus 2.42, then a fixed set of
 * dashboard queries runs as range queries over the 2h through each one's
 * HTTP API, alternating between the two, several runs each. Reports the
 * median latency per query and the promts/Prometheus ratio.
 *
 *   npx bun bench/query.bench.ts              # full run (10k series)
 *   npx bun bench/query.bench.ts --scale=10   # smaller dataset (~560 series)
 *   npx bun bench/query.bench.ts --runs=9
 *
 * Prints a markdown table and writes bench/results/query.json.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine } from "../src/promql/index.ts";
import { createBlocksFromOpenMetrics, openDB } from "../src/tsdb/index.ts";
import { apiV1 } from "../src/web/api/index.ts";
import { generateOpenMetrics } from "../test/interop/fixtures/promql/dataset.ts";
import { findPrometheus, promtoolBackfill, startPrometheus } from "../test/interop/fixtures/promql/prometheus.ts";
import { machineInfo, median } from "./machine.ts";

function arg(name: string, dflt: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
}

const START = 1_700_000_000;
const SECONDS = 7200;
const SCALE = arg("scale", 180);
const RUNS = arg("runs", 5);
const STEP = arg("step", 30);

const QUERIES = [
  "rate(http_requests_total[5m])",
  "sum by (job) (rate(http_requests_total[5m]))",
  "histogram_quantile(0.9, sum by (le) (rate(request_duration_seconds_bucket[5m])))",
  "topk(5, rate(http_requests_total[5m]))",
  "avg by (zone) (node_temperature_celsius)",
  "max_over_time(rate(http_requests_total[5m])[30m:1m])",
  // The shapes where promts trailed on the compliance set (issue 8 §5).
  "absent(nonexistent_metric_name)",
  "42",
  "time()",
  "deriv(node_temperature_celsius[1h])",
  "predict_linear(node_temperature_celsius[1h], 600)",
  "histogram_quantile(0.9, node_temperature_celsius)",
];

interface Timed<T> {
  ms: number;
  value: T;
}

async function timed<T>(fn: () => Promise<T>): Promise<Timed<T>> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** Runs a range query over HTTP; returns the number of series and bytes, failing loudly on an error answer. */
async function rangeQuery(baseURL: string, query: string): Promise<{ series: number; bytes: number }> {
  const params = new URLSearchParams({ query, start: String(START + 300), end: String(START + SECONDS), step: String(STEP) });
  const res = await fetch(`${baseURL}/api/v1/query_range?${params}`);
  const text = await res.text();
  const body = JSON.parse(text) as { status: string; error?: string; data?: { result: unknown[] } };
  if (body.status !== "success") throw new Error(`${baseURL}: ${query}: ${body.error}`);
  return { series: body.data!.result.length, bytes: text.length };
}

const peers = findPrometheus();
if (!peers) {
  console.log("SKIPPED: prometheus not installed");
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), "promts-bench-query-"));
let stopPrometheus: (() => Promise<void>) | undefined;
let closeDB: (() => Promise<void>) | undefined;
let server: ReturnType<typeof Bun.serve> | undefined;
try {
  const dataFile = join(dir, "data.om");
  const gen = await timed(async () => generateOpenMetrics({ start: START, seconds: SECONDS, interval: 15, scale: SCALE }));
  writeFileSync(dataFile, gen.value);
  const fileBytes = statSync(dataFile).size;

  const promDir = join(dir, "prometheus");
  mkdirSync(promDir);
  const promBackfill = await timed(async () => promtoolBackfill(peers.promtool, dataFile, promDir));
  const promtsBackfill = await timed(() => createBlocksFromOpenMetrics(dataFile, join(dir, "promts")));
  rmSync(dataFile);
  const prometheus = await startPrometheus(peers.prometheus, promDir, dir, 300_000);
  stopPrometheus = prometheus.stop;

  const db = await openDB({ dir: join(dir, "promts"), retentionTime: 0, compactionIntervalMs: 0 });
  closeDB = () => db.close();
  const app = apiV1({
    engine: new Engine(),
    queryable: (mint, maxt) => db.querier(mint, maxt),
    config: () => ({ yaml: "" }),
    flags: () => ({}),
    buildInfo: { version: "", revision: "", branch: "", buildUser: "", buildDate: "", goVersion: "" },
    runtimeInfo: () => ({}),
  });
  const root = new (await import("hono")).Hono();
  root.route("/api/v1", app);
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: root.fetch });
  const promtsURL = `http://127.0.0.1:${server.port}`;

  const rows: { query: string; series: number; promtsMs: number; prometheusMs: number; ratio: number; promtsBytes: number; prometheusBytes: number }[] = [];
  for (const query of QUERIES) {
    const ours = await rangeQuery(promtsURL, query);
    const theirs = await rangeQuery(prometheus.url, query);
    // topk keeps an arbitrary member of a tie, so its series counts may differ by a few.
    if (ours.series !== theirs.series) console.warn(`note: ${query}: promts returned ${ours.series} series, Prometheus ${theirs.series}`);
    const promtsTimes: number[] = [], prometheusTimes: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      promtsTimes.push((await timed(() => rangeQuery(promtsURL, query))).ms);
      prometheusTimes.push((await timed(() => rangeQuery(prometheus.url, query))).ms);
    }
    const promtsMs = median(promtsTimes), prometheusMs = median(prometheusTimes);
    rows.push({ query, series: ours.series, promtsMs, prometheusMs, ratio: promtsMs / prometheusMs, promtsBytes: ours.bytes, prometheusBytes: theirs.bytes });
  }

  const dataset = {
    series: promtsBackfill.value.series,
    samples: promtsBackfill.value.samples,
    openMetricsBytes: fileBytes,
    rangeSeconds: SECONDS - 300,
    stepSeconds: STEP,
    runs: RUNS,
  };
  const out = [
    `### Range queries over 2h (step ${STEP}s), median of ${RUNS} runs, both over HTTP`,
    "",
    machineInfo(),
    `- dataset: ${dataset.series} series, ${dataset.samples} samples (${(fileBytes / 2 ** 20).toFixed(0)} MiB OpenMetrics)`,
    `- backfill: promts ${(promtsBackfill.ms / 1000).toFixed(1)} s, promtool ${(promBackfill.ms / 1000).toFixed(1)} s`,
    "",
    "| query | series (promts) | promts ms | Prometheus 2.42 ms | ratio |",
    "|---|---:|---:|---:|---:|",
    ...rows.map((r) => `| \`${r.query}\` | ${r.series} | ${r.promtsMs.toFixed(1)} | ${r.prometheusMs.toFixed(1)} | ${r.ratio.toFixed(2)}× |`),
    "",
    `median ratio ${median(rows.map((r) => r.ratio)).toFixed(2)}×`,
  ].join("\n");
  console.log(out);
  mkdirSync(join(import.meta.dir, "results"), { recursive: true });
  writeFileSync(
    join(import.meta.dir, "results", "query.json"),
    JSON.stringify({
      date: new Date().toISOString(),
      machine: machineInfo(),
      dataset,
      backfillSeconds: { promts: promtsBackfill.ms / 1000, promtool: promBackfill.ms / 1000 },
      queries: rows,
    }, null, 2) + "\n",
  );
} finally {
  server?.stop(true);
  await stopPrometheus?.();
  await closeDB?.();
  rmSync(dir, { recursive: true, force: true });
}
