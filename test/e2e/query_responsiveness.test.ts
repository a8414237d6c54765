/**
 * Queries never stall the server, end to end through dist/promts: while
 * heavy range queries (or a heavy rule group) run, promts keeps scraping
 * itself every second and answers /-/healthy promptly; the per-query
 * timeout and --query.timeout answer 503 "timeout" close to the deadline; a
 * client that disconnects cancels its query; --query.max-samples answers
 * Prometheus's 422; lookback_delta is honoured.
 *
 * Timing bounds are the (scrape gaps <= 1.5 s, /-/healthy p99 <= 50
 * ms, timeouts within 100 ms) times PROMTS_TIMING_SLACK (default 4): the
 * test machine is shared, and a CPU-bound process on a loaded host is
 * descheduled for tens of ms at a time whatever it does. A server that
 * stalls for the length of a query (seconds) fails them by far.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../support/processes.ts";
import { requireBinary, startPromts, waitFor, type PromtsProcess } from "./promts_process.ts";
import { largestGap, loadRangeQuery, probeHealthy, quantile, scrapeTimes, writeLoadBlock, writeSelfScrapeConfig, type LoadBlock } from "./query_load.ts";

const SLACK = Number(process.env.PROMTS_TIMING_SLACK ?? 4);
const MAX_SCRAPE_GAP_MS = 1500 * SLACK;
const MAX_HEALTHY_P99_MS = 50 * SLACK;
const TIMEOUT_MARGIN_MS = 100 * SLACK;

/** Series in the load block; with HEAVY_QUERY each costs ~121 steps × a sort of 3,600 samples. */
const SERIES = 200;
const HEAVY_QUERY = "quantile_over_time(0.5, load_metric[1h:1s])";
const HEAVY_STEP_SEC = 60;

let workDir = "";
let templateData = "";
let block: LoadBlock;
const running: PromtsProcess[] = [];

beforeAll(() => {
  requireBinary();
  workDir = mkdtempSync(join(tmpdir(), "promts-e2e-query-"));
  templateData = join(workDir, "template");
  block = writeLoadBlock(templateData, SERIES, 10_000);
});

afterEach(async () => {
  for (const p of running.splice(0)) await p.stop();
});

afterAll(() => {
  if (workDir !== "") rmSync(workDir, { recursive: true, force: true });
});

/** Starts promts on a copy of the load data, scraping itself every second. */
async function start(extraFlags: string[] = [], extraConfig = ""): Promise<PromtsProcess> {
  const dir = mkdtempSync(join(workDir, "run-"));
  const data = join(dir, "data");
  await Bun.$`cp -r ${templateData} ${data}`.quiet();
  const port = freePort();
  const config = writeSelfScrapeConfig(dir, port, extraConfig);
  const p = await startPromts([`--config.file=${config}`, `--storage.tsdb.path=${data}`, ...extraFlags], dir, "--web.listen-address", port);
  running.push(p);
  // A few self-scrapes first, so gaps are measured between real scrapes.
  await waitFor("first self-scrapes", async () => ((await scrapeTimes(p.url, Date.now() - 10_000, Date.now())).length >= 2 ? true : undefined));
  return p;
}

/** Runs `work` while probing /-/healthy, then checks scrape gaps and health latency over its duration. */
async function expectResponsiveDuring(p: PromtsProcess, work: () => Promise<unknown>): Promise<{ ms: number; p99: number; gap: number }> {
  const probe = probeHealthy(p.url);
  const from = Date.now();
  await work();
  const to = Date.now();
  const latencies = await probe.stop();
  // The scrape due at `to` lands a moment later; wait for it so the last gap is measured fairly.
  const times = await waitFor("a scrape after the work", async () => {
    const t = await scrapeTimes(p.url, from, Date.now());
    return t.length > 0 && t[t.length - 1]! >= to ? t : undefined;
  });
  const inWindow = times.filter((t) => t <= to);
  const gap = largestGap(inWindow, from, to);
  const p99 = quantile(latencies, 0.99);
  console.log(`responsiveness: work ${to - from} ms, ${inWindow.length} scrapes, largest gap ${gap} ms, /-/healthy p50 ${quantile(latencies, 0.5).toFixed(1)} ms p99 ${p99.toFixed(1)} ms (n=${latencies.length})`);
  expect(gap).toBeLessThanOrEqual(MAX_SCRAPE_GAP_MS);
  expect(p99).toBeLessThanOrEqual(MAX_HEALTHY_P99_MS);
  return { ms: to - from, p99, gap };
}

async function engineQueries(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^prometheus_engine_queries (\S+)$/m.exec(text);
  if (!m) throw new Error("prometheus_engine_queries not exported");
  return Number(m[1]);
}

describe("the server stays responsive while queries run", () => {
  test("one heavy range query", async () => {
    const p = await start();
    // The query must run for at least 5 s whatever the machine's speed: time short runs of the same
    // expression (13 and 25 steps) and pick the step that makes the full range take about 12 s. The
    // query has a fixed part (the subquery's inner series, evaluated once for all steps) and a part per
    // step; taking the 13-step time as all per-step work overestimated a step ~4x and chose too few.
    const short = await loadRangeQuery(p.url, HEAVY_QUERY, block, 600);
    const longer = await loadRangeQuery(p.url, HEAVY_QUERY, block, 300);
    expect(short.body.status).toBe("success");
    expect(longer.body.status).toBe("success");
    const perStepMs = Math.max((longer.ms - short.ms) / 12, short.ms / 13 / 10, 0.05);
    const fixedMs = Math.max(0, short.ms - 13 * perStepMs);
    const steps = Math.max(1, (12000 - fixedMs) / perStepMs);
    const step = Math.max(1, Math.min(HEAVY_STEP_SEC, Math.floor((block.maxTime - block.minTime) / 1000 / steps)));
    let result: Awaited<ReturnType<typeof loadRangeQuery>> | undefined;
    const { ms } = await expectResponsiveDuring(p, async () => (result = await loadRangeQuery(p.url, HEAVY_QUERY, block, step)));
    console.log(`heavy query: ${perStepMs.toFixed(1)} ms per step and ${fixedMs.toFixed(0)} ms fixed measured, step ${step}s, ran ${ms} ms`);
    expect(result!.body.status).toBe("success");
    expect(result!.body.data!.result.length).toBe(SERIES);
    expect(ms).toBeGreaterThanOrEqual(5000);
  }, 180_000);

  test("two heavy range queries at once", async () => {
    const p = await start();
    const results: Awaited<ReturnType<typeof loadRangeQuery>>[] = [];
    await expectResponsiveDuring(p, async () => {
      results.push(...(await Promise.all([loadRangeQuery(p.url, HEAVY_QUERY, block, HEAVY_STEP_SEC), loadRangeQuery(p.url, `max_over_time(load_metric[1h:1s])`, block, 15)])));
    });
    for (const r of results) expect(r.body.status).toBe("success");
  }, 180_000);

  test("a slow rule group", async () => {
    const dir = mkdtempSync(join(workDir, "rules-"));
    const rulesFile = join(dir, "slow.rules.yml");
    // Each evaluation is a range query's worth of work at one instant (a 1h subquery of the heavy expression).
    writeFileSync(rulesFile, `groups:\n  - name: slow\n    interval: 1s\n    rules:\n      - record: load:quantile_max\n        expr: max_over_time(${HEAVY_QUERY}[2h:1m] offset 1h)\n`);
    const p = await start([], `rule_files: ["${rulesFile}"]\n`);
    // Wait until the rule has been evaluated at least once (it takes seconds), measuring all along.
    await expectResponsiveDuring(p, () =>
      waitFor("the slow rule's first result", async () => {
        const res = await fetch(`${p.url}/api/v1/query?query=${encodeURIComponent("count(load:quantile_max)")}`);
        const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
        return body.data.result[0]?.value[1] === String(SERIES) ? true : undefined;
      }, 120_000));
    const text = await (await fetch(`${p.url}/metrics`)).text();
    const duration = Number(/^prometheus_rule_group_last_duration_seconds\{[^}]*\} (\S+)$/m.exec(text)?.[1]);
    console.log(`slow rule group: last evaluation took ${duration.toFixed(2)} s`);
    expect(duration).toBeGreaterThan(1);
  }, 180_000);
});

describe("limits and cancellation", () => {
  test("the timeout parameter and --query.timeout stop a query near its deadline with 503 timeout", async () => {
    const p = await start(["--query.timeout=2s"]);
    const perQuery = await loadRangeQuery(p.url, HEAVY_QUERY, block, HEAVY_STEP_SEC, { timeout: "1s" });
    console.log(`timeout=1s answered after ${perQuery.ms.toFixed(0)} ms`);
    expect(perQuery.status).toBe(503);
    expect(perQuery.body).toMatchObject({ status: "error", errorType: "timeout" });
    expect(perQuery.ms).toBeGreaterThanOrEqual(1000);
    expect(perQuery.ms).toBeLessThanOrEqual(1000 + TIMEOUT_MARGIN_MS);
    const byFlag = await loadRangeQuery(p.url, HEAVY_QUERY, block, HEAVY_STEP_SEC);
    console.log(`--query.timeout=2s answered after ${byFlag.ms.toFixed(0)} ms`);
    expect(byFlag.status).toBe(503);
    expect(byFlag.body.errorType).toBe("timeout");
    expect(byFlag.ms).toBeGreaterThanOrEqual(2000);
    expect(byFlag.ms).toBeLessThanOrEqual(2000 + TIMEOUT_MARGIN_MS);
    // A larger per-query timeout does not lift the flag's.
    const larger = await loadRangeQuery(p.url, HEAVY_QUERY, block, HEAVY_STEP_SEC, { timeout: "1m" });
    expect(larger.body.errorType).toBe("timeout");
    expect(larger.ms).toBeLessThanOrEqual(2000 + TIMEOUT_MARGIN_MS);
  }, 120_000);

  test("a client that disconnects cancels its query", async () => {
    const p = await start();
    const abort = new AbortController();
    const pending = loadRangeQuery(p.url, HEAVY_QUERY, block, HEAVY_STEP_SEC, {}, abort.signal).catch((e: unknown) => e);
    await waitFor("the query to run", async () => ((await engineQueries(p.url)) === 1 ? true : undefined), 10_000);
    abort.abort();
    expect(await pending).toBeInstanceOf(Error);
    const t0 = performance.now();
    // The query alone would run for many seconds; cancelled, the engine is idle at once.
    await waitFor("the query to be cancelled", async () => ((await engineQueries(p.url)) === 0 ? true : undefined), 2000);
    console.log(`cancelled query gone after ${(performance.now() - t0).toFixed(0)} ms`);
  }, 60_000);

  test("--query.max-samples answers Prometheus's 422", async () => {
    const p = await start(["--query.max-samples=1000"]);
    const res = await fetch(`${p.url}/api/v1/query?query=${encodeURIComponent("load_metric[1h]")}&time=${block.maxTime / 1000}`);
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({
      status: "error",
      errorType: "execution",
      error: "query processing would load too many samples into memory in query execution",
    });
    const small = await fetch(`${p.url}/api/v1/query?query=${encodeURIComponent('load_metric{i="0001"}[1h]')}&time=${block.maxTime / 1000}`);
    expect(small.status).toBe(200);
  }, 60_000);

  test("lookback_delta widens how far back an instant selector looks", async () => {
    const p = await start();
    const at = block.maxTime / 1000 + 600; // 10 minutes after the last sample
    const count = async (extra: string): Promise<number> => {
      const body = (await (await fetch(`${p.url}/api/v1/query?query=load_metric&time=${at}${extra}`)).json()) as { status: string; data: { result: unknown[] } };
      expect(body.status).toBe("success");
      return body.data.result.length;
    };
    expect(await count("")).toBe(0);
    expect(await count("&lookback_delta=20m")).toBe(SERIES);
    expect(await count("&lookback_delta=9m")).toBe(0);
    const bad = await fetch(`${p.url}/api/v1/query?query=load_metric&lookback_delta=soon`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toStartWith('invalid parameter "lookback_delta"');
  }, 60_000);
});
