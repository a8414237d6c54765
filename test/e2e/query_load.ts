/**
 * Heavy-query fixtures for end-to-end tests and benches: a data directory
 * holding one block of dense gauge series, a config where promts scrapes
 * itself every second, and probes that measure what the server does while a
 * query runs (gaps between its own scrapes, /-/healthy latency).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { labelsFromRecord } from "../../src/model/index.ts";
import { encodeChunks, writeBlock } from "../../src/tsdb/block/index.ts";

export const HOUR = 3600_000;

/** Where the block of {@link writeLoadBlock} sits: [minTime, maxTime). */
export interface LoadBlock {
  minTime: number;
  maxTime: number;
}

/**
 * Writes one 2h block of `series` gauge series `load_metric{i="…"}` sampled
 * every `intervalMs` into `dir`, ending an hour before now, and returns its
 * range.
 */
export function writeLoadBlock(dir: string, series: number, intervalMs: number): LoadBlock {
  mkdirSync(dir, { recursive: true });
  const maxTime = Math.floor((Date.now() - HOUR) / HOUR) * HOUR;
  const minTime = maxTime - 2 * HOUR;
  const n = Math.floor((maxTime - minTime) / intervalMs);
  const t = new Float64Array(n);
  for (let k = 0; k < n; k++) t[k] = minTime + k * intervalMs;
  const all = [];
  for (let i = 0; i < series; i++) {
    const v = new Float64Array(n);
    for (let k = 0; k < n; k++) v[k] = Math.sin(k / 50 + i) * 100 + ((k * 7919 + i * 104729) % 1000) / 10;
    all.push({ labels: labelsFromRecord({ __name__: "load_metric", i: String(i).padStart(4, "0") }), chunks: encodeChunks({ t, v, length: n }) });
  }
  writeBlock(dir, all, { minTime, maxTime });
  return { minTime, maxTime };
}

/** A config where promts scrapes its own /metrics every second. */
export function writeSelfScrapeConfig(dir: string, port: number, extra = ""): string {
  const file = join(dir, "prometheus.yml");
  writeFileSync(
    file,
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ["127.0.0.1:${port}"]\n${extra}`,
  );
  return file;
}

/** Polls /-/healthy every `everyMs` until stopped; gives each answer's latency (a failure counts as Infinity). */
export function probeHealthy(url: string, everyMs = 20): { stop: () => Promise<number[]> } {
  const latencies: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        const res = await fetch(`${url}/-/healthy`, { signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        latencies.push(res.ok ? performance.now() - t0 : Infinity);
      } catch {
        latencies.push(Infinity);
      }
      await Bun.sleep(everyMs);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return latencies;
    },
  };
}

/** The p-quantile (0..1) of `xs` (nearest rank). */
export function quantile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** Timestamps (ms) of the self-scrape's `up` samples in [from, to], via a range selector. */
export async function scrapeTimes(url: string, from: number, to: number): Promise<number[]> {
  const secs = Math.ceil((to - from) / 1000) + 1;
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(`up{job="self"}[${secs}s]`)}&time=${to / 1000}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: { values: [number, string][] }[] } };
  if (body.status !== "success") throw new Error(`up query failed: ${body.error}`);
  return (body.data.result[0]?.values ?? []).map(([t]) => Math.round(t * 1000)).filter((t) => t >= from);
}

/** The largest gap between consecutive times, and the gaps from `from` to the first and from the last to `to`. */
export function largestGap(times: readonly number[], from: number, to: number): number {
  const all = [from, ...times, to];
  let max = 0;
  for (let i = 1; i < all.length; i++) max = Math.max(max, all[i]! - all[i - 1]!);
  return max;
}

/** Runs a range query over the load block; resolves with its status, body and duration. */
export async function loadRangeQuery(
  url: string,
  query: string,
  block: LoadBlock,
  stepSec: number,
  extra: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<{ status: number; body: { status: string; errorType?: string; error?: string; data?: { result: unknown[] } }; ms: number }> {
  const params = new URLSearchParams({ query, start: String(block.minTime / 1000), end: String(block.maxTime / 1000), step: `${stepSec}s`, ...extra });
  const t0 = performance.now();
  const res = await fetch(`${url}/api/v1/query_range`, { method: "POST", body: params, signal });
  const body = (await res.json()) as { status: string; errorType?: string; error?: string; data?: { result: unknown[] } };
  return { status: res.status, body, ms: performance.now() - t0 };
}
