/**
 * Concurrent dashboard benchmark: the same OpenMetrics dataset (2h at 15s)
 * is backfilled into promts and into real Prometheus 2.42; each server is
 * started alone (never both at once) scraping itself every second, and a
 * Grafana-like dashboard of 16 range queries is sent all at once, several
 * rounds. Reports per server: total wall time of a round (median), p99 of
 * single query latencies, the largest gap between the server's own scrapes
 * and the /-/healthy p99 while the queries run (probed from a separate
 * process, bench/healthy_probe.ts).
 *
 *   npx bun bench/query_concurrency.bench.ts              # default scale 60 (~2,000 series)
 *   npx bun bench/query_concurrency.bench.ts --scale=180  # ~10k series
 *   npx bun bench/query_concurrency.bench.ts --rounds=5
 *
 * Prints a markdown table and writes bench/results/query_concurrency.json.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBlocksFromOpenMetrics } from "../src/tsdb/index.ts";
import { generateOpenMetrics } from "../test/interop/fixtures/promql/dataset.ts";
import { findPrometheus, promtoolBackfill } from "../test/interop/fixtures/promql/prometheus.ts";
import { freePort } from "../test/support/processes.ts";
import { largestGap, quantile, scrapeTimes } from "../test/e2e/query_load.ts";
import { machineInfo, median } from "./machine.ts";

function arg(name: string, dflt: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
}

const START = 1_700_000_000;
const SECONDS = 7200;
const SCALE = arg("scale", 60);
const ROUNDS = arg("rounds", 3);

/** A 16-panel dashboard over the dataset, as Grafana sends it: each panel a range query over the 2h. */
const DASHBOARD: { query: string; step: number }[] = [
  { query: "sum by (job) (rate(http_requests_total[5m]))", step: 15 },
  { query: "sum by (job, method) (rate(http_requests_total[5m]))", step: 15 },
  { query: "topk(5, rate(http_requests_total[5m]))", step: 15 },
  { query: "histogram_quantile(0.99, sum by (le) (rate(request_duration_seconds_bucket[5m])))", step: 15 },
  { query: "histogram_quantile(0.5, sum by (le, job) (rate(request_duration_seconds_bucket[5m])))", step: 15 },
  { query: "avg by (zone) (node_temperature_celsius)", step: 15 },
  { query: "max_over_time(node_temperature_celsius[10m])", step: 15 },
  { query: "deriv(node_temperature_celsius[30m])", step: 15 },
  { query: "sum(memory_usage_bytes) by (job)", step: 15 },
  { query: "predict_linear(memory_usage_bytes[1h], 3600)", step: 60 },
  { query: "avg_over_time(error_ratio[15m])", step: 15 },
  { query: "sum(rate(http_requests_total[1m])) / sum(rate(http_requests_total[1m] offset 1h))", step: 15 },
  { query: "quantile_over_time(0.9, memory_usage_bytes[30m])", step: 30 },
  { query: "count by (job) (up)", step: 15 },
  { query: "max_over_time(sum by (job) (rate(http_requests_total[5m]))[30m:1m])", step: 30 },
  { query: "increase(http_requests_total[1h])", step: 60 },
];

interface Server {
  url: string;
  stop(): Promise<void>;
}

async function waitReady(url: string, alive: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && alive()) {
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await Bun.sleep(100);
  }
  throw new Error(`${what} did not become ready`);
}

function selfScrapeConfig(dir: string, port: number): string {
  const file = join(dir, "prometheus.yml");
  writeFileSync(file, `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ["127.0.0.1:${port}"]\n`);
  return file;
}

async function startServer(kind: "promts" | "prometheus", binary: string[], dataDir: string, workDir: string): Promise<Server> {
  const port = freePort();
  const config = selfScrapeConfig(workDir, port);
  const log = join(workDir, `${kind}.log`);
  const proc = Bun.spawn(
    [...binary, `--config.file=${config}`, `--storage.tsdb.path=${dataDir}`, "--storage.tsdb.retention.time=100y", `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"],
    { stdout: "ignore", stderr: Bun.file(log) },
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    proc.kill();
    await proc.exited;
  };
  try {
    await waitReady(url, () => proc.exitCode === null, kind);
  } catch (err) {
    await stop();
    throw new Error(`${String(err)}: ${existsSync(log) ? readFileSync(log, "utf8").slice(-2000) : ""}`);
  }
  return { url, stop };
}

async function rangeQuery(url: string, query: string, step: number): Promise<number> {
  const params = new URLSearchParams({ query, start: String(START + 300), end: String(START + SECONDS), step: String(step) });
  const t0 = performance.now();
  const res = await fetch(`${url}/api/v1/query_range`, { method: "POST", body: params });
  const text = await res.text();
  const ms = performance.now() - t0;
  // Checked without parsing the whole body: parsing 16 large answers would stall this process's timing.
  if (!text.startsWith('{"status":"success"')) throw new Error(`${url}: ${query}: ${text.slice(0, 300)}`);
  return ms;
}

/** /-/healthy latencies measured from a separate process while `work` runs. */
async function healthyDuring(url: string, work: () => Promise<void>): Promise<number[]> {
  const probe = Bun.spawn([process.execPath, join(import.meta.dir, "healthy_probe.ts"), url], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  await Bun.sleep(200);
  try {
    await work();
  } finally {
    probe.stdin.end();
  }
  const out = await new Response(probe.stdout).text();
  await probe.exited;
  return (JSON.parse(out) as (number | null)[]).map((x) => x ?? Infinity);
}

interface Measured {
  roundMs: number[];
  latencies: number[];
  scrapeGapMs: number;
  healthyP99Ms: number;
  healthyMaxMs: number;
}

async function measure(server: Server): Promise<Measured> {
  // A few self-scrapes first, and one warm-up round.
  const t0 = Date.now();
  while ((await scrapeTimes(server.url, t0 - 60_000, Date.now())).length < 3) await Bun.sleep(200);
  await Promise.all(DASHBOARD.map((p) => rangeQuery(server.url, p.query, p.step)));
  const roundMs: number[] = [], latencies: number[] = [];
  let from = 0, to = 0;
  const health = await healthyDuring(server.url, async () => {
    from = Date.now();
    for (let r = 0; r < ROUNDS; r++) {
      const start = performance.now();
      latencies.push(...(await Promise.all(DASHBOARD.map((p) => rangeQuery(server.url, p.query, p.step)))));
      roundMs.push(performance.now() - start);
    }
    to = Date.now();
  });
  // Wait for the scrape after the window, so the last gap is complete.
  let times: number[] = [];
  for (let i = 0; i < 50; i++) {
    times = await scrapeTimes(server.url, from, Date.now());
    if (times.length > 0 && times[times.length - 1]! >= to) break;
    await Bun.sleep(200);
  }
  return {
    roundMs,
    latencies,
    scrapeGapMs: largestGap(times.filter((t) => t <= to), from, to),
    healthyP99Ms: quantile(health, 0.99),
    healthyMaxMs: Math.max(...health),
  };
}

const peers = findPrometheus();
if (!peers) {
  console.log("SKIPPED: prometheus not installed");
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), "promts-bench-concurrency-"));
try {
  const dataFile = join(dir, "data.om");
  writeFileSync(dataFile, generateOpenMetrics({ start: START, seconds: SECONDS, interval: 15, scale: SCALE }));
  const promDir = join(dir, "prometheus"), promtsDir = join(dir, "promts");
  mkdirSync(promDir);
  promtoolBackfill(peers.promtool, dataFile, promDir);
  const backfill = await createBlocksFromOpenMetrics(dataFile, promtsDir);
  rmSync(dataFile);

  const results: Record<string, Measured> = {};
  const promtsWork = mkdtempSync(join(dir, "w-promts-"));
  // The server as shipped, from source (the bench builds only the WebAssembly module).
  const promts = await startServer("promts", [process.execPath, join(import.meta.dir, "../src/cli/main.ts")], promtsDir, promtsWork);
  try {
    results.promts = await measure(promts);
  } finally {
    await promts.stop();
  }
  const promWork = mkdtempSync(join(dir, "w-prom-"));
  const prometheus = await startServer("prometheus", [peers.prometheus], promDir, promWork);
  try {
    results.prometheus = await measure(prometheus);
  } finally {
    await prometheus.stop();
  }

  const row = (name: string, m: Measured): string =>
    `| ${name} | ${median(m.roundMs).toFixed(0)} | ${quantile(m.latencies, 0.99).toFixed(0)} | ${median(m.latencies).toFixed(0)} | ${m.scrapeGapMs} | ${m.healthyP99Ms.toFixed(1)} | ${m.healthyMaxMs.toFixed(0)} |`;
  const p = results.promts!, q = results.prometheus!;
  const out = [
    `### 16 concurrent dashboard range queries over 2h, ${ROUNDS} rounds, each server scraping itself every 1s`,
    "",
    machineInfo(),
    `- dataset: ${backfill.series} series, ${backfill.samples} samples; promts and Prometheus 2.42 run one after the other, never together`,
    "",
    "| server | round wall ms (median) | query p99 ms | query median ms | largest scrape gap ms | /-/healthy p99 ms | /-/healthy max ms |",
    "|---|---:|---:|---:|---:|---:|---:|",
    row("promts", p),
    row("Prometheus 2.42", q),
    "",
    `ratio promts/Prometheus: round wall ${(median(p.roundMs) / median(q.roundMs)).toFixed(2)}×, query p99 ${(quantile(p.latencies, 0.99) / quantile(q.latencies, 0.99)).toFixed(2)}×`,
  ].join("\n");
  console.log(out);
  mkdirSync(join(import.meta.dir, "results"), { recursive: true });
  writeFileSync(
    join(import.meta.dir, "results", "query_concurrency.json"),
    JSON.stringify({ date: new Date().toISOString(), machine: machineInfo(), scale: SCALE, rounds: ROUNDS, series: backfill.series, samples: backfill.samples, results }, null, 2) + "\n",
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
