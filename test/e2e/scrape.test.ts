/**
 * Scraping end to end through the compiled binary: an in-process exporter
 * listed in a static config is scraped and queryable; removing it from the
 * config and reloading retires the target and marks its series stale; a
 * file_sd target is discovered; and the example config's self-scrape works.
 * Every promts process is killed by PID when its test ends.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apiData, instantQuery, requireBinary, startPromts, waitFor, type PromtsProcess } from "./promts_process.ts";

const EXPORTER_BODY = [
  "# HELP demo_temperature_celsius A temperature.",
  "# TYPE demo_temperature_celsius gauge",
  'demo_temperature_celsius{room="kitchen"} 21.5',
  'demo_temperature_celsius{room="garage"} 9',
  "# TYPE demo_requests_total counter",
  "demo_requests_total 1027",
  "",
].join("\n");

let workDir = "";
let exporter: ReturnType<typeof Bun.serve> | undefined;
let exporterAddress = "";
const running: PromtsProcess[] = [];

beforeAll(() => {
  requireBinary();
  workDir = mkdtempSync(join(tmpdir(), "promts-e2e-scrape-"));
  exporter = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => new Response(EXPORTER_BODY, { headers: { "Content-Type": "text/plain; version=0.0.4" } }),
  });
  exporterAddress = `127.0.0.1:${exporter.port}`;
});

afterEach(async () => {
  for (const p of running.splice(0)) await p.stop();
});

afterAll(() => {
  exporter?.stop(true);
  if (workDir !== "") rmSync(workDir, { recursive: true, force: true });
});

function writeAtomic(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

async function start(configFile: string, extra: string[] = []): Promise<PromtsProcess> {
  const data = mkdtempSync(join(workDir, "data-"));
  const p = await startPromts([`--config.file=${configFile}`, `--storage.tsdb.path=${data}`, ...extra], workDir);
  running.push(p);
  return p;
}

/** Job "demo" with `targets`, and job "steady" that never changes. */
function demoConfig(targets: string[]): string {
  return [
    "global:",
    "  scrape_interval: 500ms",
    "  scrape_timeout: 500ms",
    "scrape_configs:",
    "  - job_name: demo",
    "    static_configs:",
    `      - targets: [${targets.map((t) => JSON.stringify(t)).join(", ")}]`,
    "        labels: {site: lab}",
    "  - job_name: steady",
    "    static_configs:",
    `      - targets: [${JSON.stringify(exporterAddress)}]`,
    "",
  ].join("\n");
}

/** The number of points of each series of a range query. */
async function rangePoints(url: string, query: string, start: number, end: number, step: number): Promise<number[]> {
  const params = new URLSearchParams({ query, start: String(start), end: String(end), step: String(step) });
  const body = (await (await fetch(`${url}/api/v1/query_range?${params}`)).json()) as { data: { result: { values: unknown[] }[] } };
  return body.data.result.map((r) => r.values.length);
}

test("a static target is scraped; removing it and reloading retires it and marks its series stale, other pools scrape on", async () => {
  const configFile = join(workDir, "demo.yml");
  writeAtomic(configFile, demoConfig([exporterAddress]));
  const p = await start(configFile, ["--web.enable-lifecycle"]);

  const up = await waitFor("up{job=demo} = 1", async () => {
    const r = await instantQuery(p.url, 'up{job="demo"}');
    return r.length === 1 && r[0]!.value[1] === "1" ? r : undefined;
  });
  expect(up[0]!.metric).toEqual({ __name__: "up", instance: exporterAddress, job: "demo", site: "lab" });

  const temps = await instantQuery(p.url, 'demo_temperature_celsius{job="demo"}');
  expect(temps.map((s) => [s.metric.room, s.value[1]]).sort()).toEqual([["garage", "9"], ["kitchen", "21.5"]]);
  expect(temps[0]!.metric).toMatchObject({ instance: exporterAddress, job: "demo", site: "lab" });
  expect((await instantQuery(p.url, 'demo_requests_total{job="demo"}'))[0]!.value[1]).toBe("1027");
  expect((await instantQuery(p.url, 'scrape_samples_scraped{job="demo"}'))[0]!.value[1]).toBe("3");

  const targets = await apiData(p.url, "/api/v1/targets");
  expect(targets.activeTargets.map((t: any) => t.scrapePool)).toEqual(["demo", "steady"]);
  expect(targets.activeTargets[0]).toMatchObject({
    scrapePool: "demo",
    scrapeUrl: `http://${exporterAddress}/metrics`,
    health: "up",
    lastError: "",
    labels: { instance: exporterAddress, job: "demo", site: "lab" },
    scrapeInterval: "500ms",
    scrapeTimeout: "500ms",
  });
  expect(Date.parse(targets.activeTargets[0].lastScrape)).toBeGreaterThan(Date.now() - 60_000);
  expect(await apiData(p.url, "/api/v1/scrape_pools")).toEqual({ scrapePools: ["demo", "steady"] });

  await waitFor("up{job=steady} = 1", async () => ((await instantQuery(p.url, 'up{job="steady"}'))[0]?.value[1] === "1" ? true : undefined));
  writeAtomic(configFile, demoConfig([]));
  const reloadedAt = Date.now() / 1000;
  const reload = await fetch(`${p.url}/-/reload`, { method: "POST" });
  expect(reload.status).toBe(200);
  expect((await apiData(p.url, "/api/v1/targets")).activeTargets.map((t: any) => t.scrapePool)).toEqual(["steady"]);
  // The lookback window is 5m, so an empty result within seconds means the staleness markers landed.
  await waitFor("demo series to go stale", async () => ((await instantQuery(p.url, 'demo_temperature_celsius{job="demo"}')).length === 0 ? true : undefined));
  expect(await instantQuery(p.url, 'up{job="demo"}')).toEqual([]);
  expect(await instantQuery(p.url, 'demo_requests_total{job="demo"}')).toEqual([]);

  // The unchanged pool kept its loop: no staleness gap around the reload, no series created anew.
  const until = reloadedAt + 2.5;
  await waitFor("steady scraped 2.5s past the reload", async () => {
    const t = (await apiData(p.url, "/api/v1/targets")).activeTargets[0];
    return Date.parse(t.lastScrape) / 1000 > until ? true : undefined;
  });
  expect(await rangePoints(p.url, 'up{job="steady"}', reloadedAt, until, 0.1)).toEqual([26]);
  const added = await instantQuery(p.url, `max_over_time(scrape_series_added{job="steady"}[${Math.floor(Date.now() - reloadedAt * 1000)}ms])`);
  expect(added.map((s) => s.value[1])).toEqual(["0"]);
}, 30_000);

test("a target in a file_sd file is discovered and scraped", async () => {
  const sdFile = join(workDir, "targets.json");
  writeAtomic(sdFile, JSON.stringify([{ targets: [exporterAddress], labels: { team: "infra" } }]));
  const configFile = join(workDir, "file-sd.yml");
  writeAtomic(configFile, [
    "global:",
    "  scrape_interval: 500ms",
    "  scrape_timeout: 500ms",
    "scrape_configs:",
    "  - job_name: discovered",
    `    file_sd_configs: [{files: [${JSON.stringify(sdFile)}]}]`,
    "",
  ].join("\n"));
  const p = await start(configFile);
  // Discovery hands targets over every 5s, as in Prometheus.
  const series = await waitFor("discovered target scraped", async () => {
    const r = await instantQuery(p.url, 'demo_requests_total{job="discovered"}');
    return r.length === 1 ? r : undefined;
  });
  expect(series[0]!.metric).toEqual({ __name__: "demo_requests_total", instance: exporterAddress, job: "discovered", team: "infra" });
  const target = (await apiData(p.url, "/api/v1/targets?state=active")).activeTargets[0];
  expect(target.discoveredLabels.__meta_filepath).toBe(sdFile);
}, 20_000);

test("the example config scrapes promts itself", async () => {
  const example = readFileSync(join(import.meta.dir, "../../examples/prometheus.yml"), "utf8");
  expect(example).toContain('targets: ["localhost:9090"]');
  // Started below on a free port: point the target there once the port is known, via reload.
  const configFile = join(workDir, "self.yml");
  writeAtomic(configFile, example.replace("scrape_interval: 15s", "scrape_interval: 1s"));
  const p = await start(configFile, ["--web.enable-lifecycle"]);
  const port = new URL(p.url).port;
  writeAtomic(configFile, example.replace("scrape_interval: 15s", "scrape_interval: 1s").replace("localhost:9090", `localhost:${port}`));
  expect((await fetch(`${p.url}/-/reload`, { method: "POST" })).status).toBe(200);

  await waitFor("up{job=promts} = 1", async () => {
    const r = await instantQuery(p.url, 'up{job="promts"}');
    return r.length === 1 && r[0]!.value[1] === "1" ? true : undefined;
  });
  const ready = await instantQuery(p.url, 'prometheus_ready{job="promts"}');
  expect(ready.map((s) => [s.metric.instance, s.value[1]])).toEqual([[`localhost:${port}`, "1"]]);
  const target = (await apiData(p.url, "/api/v1/targets")).activeTargets[0];
  expect(target.health).toBe("up");
  expect(target.globalUrl).toEndWith(`:${port}/metrics`);
  // /status/tsdb reads the head: the self-scraped series are counted there.
  const tsdb = await apiData(p.url, "/api/v1/status/tsdb?limit=1000");
  expect(tsdb.headStats.numSeries).toBeGreaterThan(10);
  expect(tsdb.seriesCountByMetricName.map((s: { name: string }) => s.name)).toContain("prometheus_ready");
}, 30_000);
