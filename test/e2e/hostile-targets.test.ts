/**
 * Targets are isolated from each other: 18 hostile targets (slow-drip
 * bodies, huge bodies, the same compressed, gzip bombs over
 * body_size_limit) beside a healthy target on one promts server that also
 * scrapes itself, all at 1 s. The healthy target and the self-scrape keep
 * every scrape (no gap over 1.5 s), `/-/healthy` answers with p99 <= 50 ms,
 * and each hostile target fails or succeeds on its own terms (deadline,
 * body size limit, stored). The hostile targets are served by a child
 * process (test/e2e/hostile_exporter.ts); every process is stopped by PID.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, PROMTS_BINARY, spawnChild, waitForOK, waitUntil, type Child } from "../support/processes.ts";
import { apiData, instantQuery, requireBinary } from "./promts_process.ts";

const HUGE_SERIES = 5_000;
const WINDOW_S = 15;
const HEALTH_POLL_MS = 25;
const BODY_SIZE_LIMIT = "10MB";
const BOMB_SIZE_LIMIT = "1MB";

let workDir = "";
let exporter: Child | undefined;
let promts: Child | undefined;
let healthy: ReturnType<typeof Bun.serve> | undefined;
let url = "";

beforeAll(async () => {
  requireBinary();
  workDir = mkdtempSync(join(tmpdir(), "promts-e2e-hostile-"));
  exporter = spawnChild("hostile exporter", [process.execPath, join(import.meta.dir, "hostile_exporter.ts"), String(HUGE_SERIES)]);
  const exporterPort = await waitUntil("the hostile exporter's port", () => /^(\d+)\n/.exec(exporter!.stdout())?.[1], 30_000, [exporter]);
  let scrapes = 0;
  healthy = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => new Response(`# TYPE healthy_scrapes_total counter\nhealthy_scrapes_total ${++scrapes}\nhealthy_gauge{k="a"} 1\nhealthy_gauge{k="b"} 2\n`, {
      headers: { "Content-Type": "text/plain; version=0.0.4" },
    }),
  });
  const port = freePort();
  url = `http://127.0.0.1:${port}`;
  const hostile = `127.0.0.1:${exporterPort}`;
  const paths = (kind: string, n: number) =>
    Array.from({ length: n }, (_, i) => `      - targets: ["${hostile}"]\n        labels: {__metrics_path__: "/${kind}/${i}", instance: "${kind}-${i}"}`).join("\n");
  const config = [
    "global:",
    "  scrape_interval: 1s",
    "  scrape_timeout: 1s",
    "scrape_configs:",
    "  - job_name: promts",
    `    static_configs: [{targets: ["127.0.0.1:${port}"]}]`,
    "  - job_name: healthy",
    `    static_configs: [{targets: ["127.0.0.1:${healthy.port}"]}]`,
    "  - job_name: slow",
    "    static_configs:",
    paths("slow", 5),
    "  - job_name: huge",
    "    static_configs:",
    paths("huge", 4),
    "  - job_name: huge-gz",
    `    body_size_limit: ${BODY_SIZE_LIMIT}`,
    "    static_configs:",
    paths("huge-gz", 4),
    "  - job_name: bomb",
    `    body_size_limit: ${BOMB_SIZE_LIMIT}`,
    "    static_configs:",
    paths("bomb", 5),
    "",
  ].join("\n");
  const configFile = join(workDir, "prometheus.yml");
  writeFileSync(configFile, config);
  promts = spawnChild("promts", [PROMTS_BINARY, `--config.file=${configFile}`, `--storage.tsdb.path=${join(workDir, "data")}`, `--web.listen-address=127.0.0.1:${port}`], workDir);
  await waitForOK(`${url}/-/ready`, promts);
});

afterAll(async () => {
  await promts?.stop();
  await exporter?.stop();
  healthy?.stop(true);
  if (workDir !== "") rmSync(workDir, { recursive: true, force: true });
});

function p99(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.ceil(0.99 * s.length) - 1]!;
}

/** Sample timestamps (s) and values of each series of a range selector, evaluated now. */
async function rawSamples(query: string): Promise<{ metric: Record<string, string>; values: [number, string][] }[]> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { status: string; error?: string; data: { resultType: string; result: { metric: Record<string, string>; values: [number, string][] }[] } };
  if (body.status !== "success") throw new Error(`${query}: ${body.error}`);
  return body.data.result;
}

test("a healthy target and the self-scrape keep every scrape beside 18 hostile targets; /-/healthy stays fast", async () => {
  // Every big target has been scraped successfully once: their series exist and steady state begins.
  await waitUntil("the huge targets to be scraped", async () => {
    const up = await instantQuery(url, 'max_over_time(up{job=~"huge|huge-gz"}[5s])');
    return up.length === 8 && up.every((s) => s.value[1] === "1") ? true : undefined;
  }, 60_000, [promts!, exporter!]);

  const start = Date.now();
  const latencies: number[] = [];
  const deadline = start + WINDOW_S * 1000;
  for (let i = 0; Date.now() < deadline && i < (WINDOW_S * 1000) / HEALTH_POLL_MS; i++) {
    const t0 = performance.now();
    const res = await fetch(`${url}/-/healthy`);
    await res.arrayBuffer();
    latencies.push(performance.now() - t0);
    expect(res.status).toBe(200);
    await Bun.sleep(HEALTH_POLL_MS);
  }
  const windowS = Math.floor((Date.now() - start) / 1000);

  const healthP99 = p99(latencies);
  console.log(`hostile targets: /-/healthy p99 ${healthP99.toFixed(1)} ms over ${latencies.length} requests`);
  for (const job of ["healthy", "promts"]) {
    const series = await rawSamples(`up{job="${job}"}[${windowS}s]`);
    expect(series.length).toBe(1);
    const values = series[0]!.values;
    const gaps = values.slice(1).map(([t], i) => t - values[i]![0]);
    console.log(`hostile targets: job ${job}: ${values.length} scrapes in ${windowS} s, ${values.filter(([, v]) => v === "1").length} up, max gap ${Math.max(...gaps).toFixed(3)} s`);
    // Every scrape succeeded, and none was skipped or late.
    expect({ job, down: values.filter(([, v]) => v !== "1").length }).toEqual({ job, down: 0 });
    expect(values.length).toBeGreaterThanOrEqual(windowS - 1);
    expect({ job, maxGap: Math.max(...gaps) <= 1.5 ? "ok" : Math.max(...gaps) }).toEqual({ job, maxGap: "ok" });
  }

  expect({ samples: latencies.length >= 100, p99: healthP99 <= 50 ? "ok" : healthP99 }).toEqual({ samples: true, p99: "ok" });

  // The hostile targets cost their own scrapes, each on its own terms.
  const targets = (await apiData<{ activeTargets: { scrapePool: string; health: string; lastError: string }[] }>(url, "/api/v1/targets")).activeTargets;
  const byPool = (pool: string) => targets.filter((t) => t.scrapePool === pool);
  expect(byPool("bomb").length).toBe(5);
  for (const t of byPool("bomb")) expect(t).toMatchObject({ health: "down", lastError: "body size limit exceeded" });
  expect(byPool("slow").length).toBe(5);
  for (const t of byPool("slow")) expect(t.lastError).toContain("context deadline exceeded");
  // Huge bodies, plain and compressed, were stored during the window.
  const stored = await instantQuery(url, `count by (job) (count_over_time(hostile_huge[${windowS}s]))`);
  expect(Object.fromEntries(stored.map((s) => [s.metric.job, Number(s.value[1])]))).toEqual({ huge: 4 * HUGE_SERIES, "huge-gz": 4 * HUGE_SERIES });
}, 150_000);
