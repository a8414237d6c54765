/**
 * Head benchmark: append throughput with the WAL on, resident memory per
 * active series at 1M series (measured in a fresh child process) with where
 * it goes, and series churn: 2M series created over 100 truncations with 20k
 * live at a time, RSS and truncation CPU time along the way.
 *
 *   npx bun bench/head.bench.ts                 # full run
 *   npx bun bench/head.bench.ts --series=20000  # smaller memory run
 *   npx bun bench/head.bench.ts --churn-rounds=0  # skip the churn run
 *
 * Prints a markdown table and writes bench/results/head.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Labels } from "../src/model/index.ts";
import { Head, type HeadFootprint } from "../src/tsdb/head/index.ts";
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
    const footprint = head.footprint();
    console.log(JSON.stringify({ series: n, scrapes, rssDeltaBytes: rss1 - rss0, heapDeltaBytes: heap, footprint, ...r }));
    await head.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface ChurnLine { round: number; created: number; live: number; rss: number; truncateCpuMs: number; footprint: HeadFootprint }

/** Runs test/tsdb/head/fixtures/churn_child.ts: `rounds` × `perRound` series created, `perRound` live after each truncation. */
async function churn(rounds: number, perRound: number): Promise<ChurnLine[]> {
  const dir = mkdtempSync(join(tmpdir(), "promts-bench-churn-"));
  try {
    const fixture = join(import.meta.dir, "..", "test", "tsdb", "head", "fixtures", "churn_child.ts");
    const child = Bun.spawn([process.execPath, fixture, dir, String(rounds), String(perRound), "10"], { stdout: "pipe", stderr: "inherit" });
    const out = await new Response(child.stdout).text();
    if ((await child.exited) !== 0) throw new Error(`churn child failed: ${out}`);
    return out.trim().split("\n").map((l) => JSON.parse(l) as ChurnLine);
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

  type MemResult = { series: number; scrapes: number; rssDeltaBytes: number; heapDeltaBytes: number; createSeconds: number; appendSeconds: number; samples: number; footprint: HeadFootprint };
  const memoryRun = async (series: number, scrapes: number): Promise<MemResult> => {
    const child = Bun.spawn([process.execPath, import.meta.path, "--memory-child", `--series=${series}`, `--mem-scrapes=${scrapes}`], { stdout: "pipe", stderr: "inherit" });
    const out = await new Response(child.stdout).text();
    if ((await child.exited) !== 0) throw new Error(`memory child failed: ${out}`);
    return JSON.parse(out.trim().split("\n").pop()!) as MemResult;
  };
  const mem = await memoryRun(memSeries, memScrapes);
  // A long-lived head: 1440 samples a series (6h at 15 s), twelve cut chunks.
  const fullSeries = arg("full-series", 50_000), fullScrapes = arg("full-scrapes", 1440);
  const full = fullSeries > 0 ? await memoryRun(fullSeries, fullScrapes) : null;
  const perSeries = mem.rssDeltaBytes / mem.series;
  const fp = mem.footprint;
  const per = (b: number) => `${Math.round(b / mem.series)} B`;

  const churnRounds = arg("churn-rounds", 100), churnLive = arg("churn-live", 20_000);
  const churnLines = churnRounds > 0 ? await churn(churnRounds, churnLive) : [];

  const results = {
    date: new Date().toISOString(),
    bun: Bun.version,
    throughput,
    memory: { ...mem, bytesPerSeries: perSeries, heapBytesPerSeries: mem.heapDeltaBytes / mem.series },
    fullHead: full && { ...full, bytesPerSeries: full.rssDeltaBytes / full.series },
    churn: churnLines,
  };
  const rows = [
    ["append throughput (WAL on)", `${Math.round(throughput.samplesPerSecond).toLocaleString("en-US")} samples/s`, `${throughput.series} series × ${throughput.scrapes} scrapes, batches of ${BATCH}`],
    ["series creation", `${Math.round(throughput.series / throughput.createSeconds).toLocaleString("en-US")} series/s`, `${throughput.series} series`],
    ["WAL bytes per sample", (throughput.walBytes / throughput.samples).toFixed(2), `${(throughput.walBytes / 2 ** 20).toFixed(1)} MiB total`],
    ["RSS per active series", `${Math.round(perSeries)} B`, `${mem.series} series × ${mem.scrapes} samples, fresh process`],
    ["JS heap per active series", `${Math.round(mem.heapDeltaBytes / mem.series)} B`, "heap delta after Bun.gc(true)"],
    ["append throughput at 1M series", `${Math.round(mem.samples / mem.appendSeconds).toLocaleString("en-US")} samples/s`, ""],
    ["… WASM chunk store per series", per(fp.chunkStoreBytes), "series table (64 B a slot, paged) + open chunks"],
    ["… ref and label-hash indexes per series", per(fp.indexBytes), "typed-array hash tables"],
    ["… per-slot tables per series", per(fp.tableBytes), `${fp.slotCapacity} slots for ${fp.series} series`],
    ["… label-id arena per series", per(fp.labelArenaBytes), "label sets as postings-entry ids"],
  ];
  if (full) rows.push(["RSS per series, full head", `${Math.round(full.rssDeltaBytes / full.series)} B`, `${full.series} series × ${full.scrapes} samples at 15 s, fresh process`]);
  const firstChurn = churnLines[0], early = churnLines.find((l) => l.round === 10), lastChurn = churnLines[churnLines.length - 1];
  if (firstChurn && early && lastChurn) {
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
    rows.push(
      ["churn: RSS after 200k / 2M series created", `${mib(early.rss)} / ${mib(lastChurn.rss)}`, `${churnLive} live after each of ${churnRounds} truncations`],
      ["churn: truncation CPU at 20k / 200k / 2M created", `${firstChurn.truncateCpuMs.toFixed(0)} / ${early.truncateCpuMs.toFixed(0)} / ${lastChurn.truncateCpuMs.toFixed(0)} ms`, "includes the WAL checkpoint"],
      ["churn: slots / table capacity at 2M created", `${lastChurn.footprint.slotsInUse} / ${lastChurn.footprint.slotCapacity}`, `chunk store ${mib(lastChurn.footprint.chunkStoreBytes)}`],
    );
  }
  console.log("| metric | value | notes |\n|---|---|---|");
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
  const resultsDir = join(import.meta.dir, "results");
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, "head.json"), JSON.stringify(results, null, 2) + "\n");
}

if (process.argv.includes("--memory-child")) await memoryChild(arg("series", 1_000_000), arg("mem-scrapes", 4));
else await main();
