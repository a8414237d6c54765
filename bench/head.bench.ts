/**
 * Head benchmark: append throughput with the WAL on, and resident memory per
 * active series at 1M series (measured in a fresh child process).
 *
 *   npx bun bench/head.bench.ts                 # full run
 *   npx bun bench/head.bench.ts --series=20000  # smaller memory run
 *
 * Prints a markdown table and writes bench/results/head.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Labels } from "../src/model/index.ts";
import { Head } from "../src/tsdb/head/index.ts";
import { walSize } from "../src/tsdb/wal/index.ts";

const SCRAPE_INTERVAL = 15_000;
const BATCH = 1000;

function arg(name: string, dflt: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
}

/** A realistic-looking label set: 1000 metric names × instances, a few jobs and zones. */
function seriesLabels(i: number): Labels {
  return [
    { name: "__name__", value: `bench_metric_${i % 1000}_total` },
    { name: "instance", value: `host-${Math.floor(i / 1000)}.example.com:9100` },
    { name: "job", value: `job-${Math.floor(i / 1000) % 10}` },
    { name: "zone", value: `zone-${Math.floor(i / 1000) % 3}` },
  ];
}

/** Creates `n` series and appends `scrapes` rounds in batches of BATCH; returns timings. */
function load(head: Head, n: number, scrapes: number): { createSeconds: number; appendSeconds: number; samples: number } {
  const app = head.appender();
  const refs = new Uint32Array(n);
  const c0 = performance.now();
  for (let i = 0; i < n; i++) refs[i] = app.ref(seriesLabels(i));
  const createSeconds = (performance.now() - c0) / 1000;
  const t = new Float64Array(BATCH), v = new Float64Array(BATCH);
  let samples = 0;
  const a0 = performance.now();
  for (let s = 0; s < scrapes; s++) {
    const ts = 1_700_000_000_000 + s * SCRAPE_INTERVAL;
    for (let off = 0; off < n; off += BATCH) {
      const m = Math.min(BATCH, n - off);
      t.fill(ts, 0, m);
      for (let k = 0; k < m; k++) v[k] = (off + k) * 0.5 + s;
      const res = app.appendBatch(refs.subarray(off, off + m), t, v, m);
      if (res.appended !== m) throw new Error(`scrape ${s}: appended ${res.appended} of ${m}`);
      samples += m;
    }
  }
  return { createSeconds, appendSeconds: (performance.now() - a0) / 1000, samples };
}

async function memoryChild(n: number, scrapes: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "promts-bench-mem-"));
  try {
    Bun.gc(true);
    const rss0 = process.memoryUsage().rss;
    const heap0 = process.memoryUsage().heapUsed;
    const head = await Head.open({ dir });
    const r = load(head, n, scrapes);
    Bun.gc(true);
    const rss1 = process.memoryUsage().rss;
    const heap = process.memoryUsage().heapUsed - heap0;
    console.log(JSON.stringify({ series: n, scrapes, rssDeltaBytes: rss1 - rss0, heapDeltaBytes: heap, ...r }));
    await head.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const throughputSeries = arg("throughput-series", 100_000);
  const throughputScrapes = arg("scrapes", 20);
  const memSeries = arg("series", 1_000_000);
  const memScrapes = arg("mem-scrapes", 4);

  const dir = mkdtempSync(join(tmpdir(), "promts-bench-head-"));
  let throughput;
  try {
    const head = await Head.open({ dir });
    const r = load(head, throughputSeries, throughputScrapes);
    throughput = { series: throughputSeries, scrapes: throughputScrapes, ...r, samplesPerSecond: r.samples / r.appendSeconds, walBytes: walSize(join(dir, "wal")) };
    await head.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const child = Bun.spawn([process.execPath, import.meta.path, "--memory-child", `--series=${memSeries}`, `--mem-scrapes=${memScrapes}`], { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(child.stdout).text();
  if ((await child.exited) !== 0) throw new Error(`memory child failed: ${out}`);
  const mem = JSON.parse(out.trim().split("\n").pop()!) as { series: number; scrapes: number; rssDeltaBytes: number; heapDeltaBytes: number; createSeconds: number; appendSeconds: number; samples: number };
  const perSeries = mem.rssDeltaBytes / mem.series;

  const results = {
    date: new Date().toISOString(),
    bun: Bun.version,
    throughput,
    memory: { ...mem, bytesPerSeries: perSeries, heapBytesPerSeries: mem.heapDeltaBytes / mem.series },
  };
  const rows = [
    ["append throughput (WAL on)", `${Math.round(throughput.samplesPerSecond).toLocaleString("en-US")} samples/s`, `${throughput.series} series × ${throughput.scrapes} scrapes, batches of ${BATCH}`],
    ["series creation", `${Math.round(throughput.series / throughput.createSeconds).toLocaleString("en-US")} series/s`, `${throughput.series} series`],
    ["WAL bytes per sample", (throughput.walBytes / throughput.samples).toFixed(2), `${(throughput.walBytes / 2 ** 20).toFixed(1)} MiB total`],
    ["RSS per active series", `${Math.round(perSeries)} B`, `${mem.series} series × ${mem.scrapes} samples, fresh process`],
    ["JS heap per active series", `${Math.round(mem.heapDeltaBytes / mem.series)} B`, "heap delta after Bun.gc(true)"],
    ["append throughput at 1M series", `${Math.round(mem.samples / mem.appendSeconds).toLocaleString("en-US")} samples/s`, ""],
  ];
  console.log("| metric | value | notes |\n|---|---|---|");
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
  const resultsDir = join(import.meta.dir, "results");
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, "head.json"), JSON.stringify(results, null, 2) + "\n");
}

if (process.argv.includes("--memory-child")) await memoryChild(arg("series", 1_000_000), arg("mem-scrapes", 4));
else await main();
