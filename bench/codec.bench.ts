/**
 * Codec benchmark: the WASM XOR codec against the plain TypeScript one on the
 * same data in the same run, plus chunk sizes and head-store append speed.
 *
 *   npx bun build.ts --wasm-only && npx bun bench/codec.bench.ts [--reps=N]
 *
 * Prints a markdown table and writes bench/results/codec.json. Datasets are
 * generated deterministically: (a) host metrics — counters, gauges and
 * constant series scraped every 15s with jitter, 1000 series × 120 samples;
 * (b) random gauges, 1000 × 120.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { median } from "./machine.ts";
import { decodeXor, encodeXor, HeadChunkStore, plainXor, wasmExports, WasmSamples } from "../src/tsdb/chunkenc/index.ts";
import { seededRandom } from "../test/support/random.ts";

interface Series {
  t: Float64Array;
  v: Float64Array;
}

const SERIES = 1000;
const SAMPLES = 120;
const START = 1_700_000_000_000;

function scrapeTimes(random: () => number, jitterMs: number): Float64Array {
  const offset = Math.floor(random() * 15000);
  return new Float64Array(SAMPLES).map((_, i) => START + offset + i * 15000 + Math.round((random() - 0.5) * 2 * jitterMs));
}

/**
 * Host-metrics-like series, in node_exporter's proportions: 40% constant
 * (info, sizes, limits), 20% counters that rarely move (errors, drops), 15%
 * CPU-seconds counters at 10ms resolution, 10% byte counters, 15% gauges
 * (memory in pages, load averages, temperatures). Scrapes every 15s: two targets in three on
 * schedule to the ms, every third with ±25ms jitter.
 */
function hostMetrics(): Series[] {
  const random = seededRandom(1);
  const out: Series[] = [];
  for (let s = 0; s < SERIES; s++) {
    const kind = s % 20;
    const t = scrapeTimes(random, s % 3 === 0 ? 25 : 0);
    const v = new Float64Array(SAMPLES);
    let x = kind < 8 ? (kind === 0 ? 1 : 499_963_174_912) : Math.floor(random() * 1000);
    for (let i = 0; i < SAMPLES; i++) {
      if (kind >= 8 && kind < 12) {
        if (random() < 0.05) x += 1;
      } else if (kind >= 12 && kind < 15) {
        x += Math.round(random() * 1500) / 100;
      } else if (kind === 15 || kind === 16) {
        x += Math.floor(random() * 200_000);
      } else if (kind === 17) {
        x = 8e9 + Math.floor(random() * 50_000) * 4096;
      } else if (kind === 18) {
        x = Math.round(random() * 400) / 100;
      } else if (kind === 19) {
        x = 40 + random() * 10;
      }
      v[i] = x;
    }
    out.push({ t, v });
  }
  return out;
}

function randomGauges(): Series[] {
  const random = seededRandom(2);
  return Array.from({ length: SERIES }, () => ({
    t: scrapeTimes(random, 500),
    v: new Float64Array(SAMPLES).map(() => (random() - 0.5) * 1e6),
  }));
}

let sink = 0;

/**
 * Median samples/s of each run over `reps` rounds after two warm-up rounds.
 * Rounds interleave the runs, so load from other processes on the machine
 * falls on all of them alike and the ratios stay meaningful.
 */
function measureAll(reps: number, samples: number, runs: Record<string, () => void>): Record<string, number> {
  const rates: Record<string, number[]> = {};
  for (const name of Object.keys(runs)) rates[name] = [];
  for (let round = 0; round < reps + 2; round++) {
    for (const [name, run] of Object.entries(runs)) {
      const start = Bun.nanoseconds();
      run();
      if (round >= 2) rates[name]!.push(samples / ((Bun.nanoseconds() - start) / 1e9));
    }
  }
  return Object.fromEntries(Object.entries(rates).map(([name, xs]) => [name, median(xs)]));
}

interface DatasetResult {
  dataset: string;
  series: number;
  samples: number;
  bytesPerSample: number;
  samplesPerSecond: Record<string, number>;
  ratios: Record<string, number>;
}

function benchDataset(name: string, data: Series[], reps: number): DatasetResult {
  const samples = data.length * SAMPLES;
  const chunks = data.map((s) => encodeXor(s.t, s.v));
  const bytes = chunks.reduce((sum, c) => sum + c.length, 0);

  // the WASM-resident chunks for the "decode kernel only" path
  const wasm = wasmExports();
  const chunkPtrs = chunks.map((c) => {
    const ptr = wasm.memAlloc(c.length + 32);
    new Uint8Array(wasm.memory.buffer).set(c, ptr);
    return ptr;
  });
  const outT = wasm.memAlloc(SAMPLES * 8);
  const outV = wasm.memAlloc(SAMPLES * 8);
  const into = new WasmSamples();

  // scrape-shaped batches: one sample of every series per call
  const refs = new Uint32Array(data.length).map((_, i) => i);
  const status = new Uint8Array(data.length);
  const batchT = Array.from({ length: SAMPLES }, (_, i) => new Float64Array(data.map((s) => s.t[i]!)));
  const batchV = Array.from({ length: SAMPLES }, (_, i) => new Float64Array(data.map((s) => s.v[i]!)));
  const rate = measureAll(reps, samples, {
    "encode wasm": () => {
      for (const s of data) sink += encodeXor(s.t, s.v).length;
    },
    "encode plain": () => {
      for (const s of data) sink += plainXor.encode(s.t, s.v).length;
    },
    "decode wasm, copy out to JS": () => {
      for (const c of chunks) sink += decodeXor(c).t.length;
    },
    "decode wasm into wasm memory": () => {
      for (const c of chunks) {
        into.clear();
        sink += into.appendChunk(c);
      }
    },
    "decode wasm, chunk resident": () => {
      for (let i = 0; i < chunks.length; i++) sink += wasm.xorDecode(chunkPtrs[i]!, chunks[i]!.length, outT, outV, SAMPLES);
    },
    "decode plain": () => {
      for (const c of chunks) sink += plainXor.decode(c).t.length;
    },
    "head append wasm (1000-sample batches)": () => {
      const store = new HeadChunkStore();
      for (let r = 0; r < data.length; r++) store.ensure(r);
      for (let i = 0; i < SAMPLES; i++) sink += store.appendBatch(refs, batchT[i]!, batchV[i]!, data.length, status);
      store.close();
    },
  });

  for (const p of chunkPtrs) wasm.memFree(p);
  wasm.memFree(outT);
  wasm.memFree(outV);
  into.free();
  return {
    dataset: name,
    series: data.length,
    samples,
    bytesPerSample: bytes / samples,
    samplesPerSecond: rate,
    ratios: {
      "encode wasm/plain": rate["encode wasm"]! / rate["encode plain"]!,
      "decode copy-out wasm/plain": rate["decode wasm, copy out to JS"]! / rate["decode plain"]!,
      "decode into wasm memory wasm/plain": rate["decode wasm into wasm memory"]! / rate["decode plain"]!,
      "decode resident wasm/plain": rate["decode wasm, chunk resident"]! / rate["decode plain"]!,
    },
  };
}

const repsArg = process.argv.find((a) => a.startsWith("--reps="));
const reps = repsArg ? Number(repsArg.slice("--reps=".length)) : 7;
const results = [benchDataset("host metrics", hostMetrics(), reps), benchDataset("random gauges", randomGauges(), reps)];

const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(1)} k`);
const lines = [`| measure (median of ${reps}) | ${results.map((r) => r.dataset).join(" | ")} |`, `|---|${results.map(() => "---:").join("|")}|`];
lines.push(`| bytes/sample | ${results.map((r) => r.bytesPerSample.toFixed(3)).join(" | ")} |`);
for (const key of Object.keys(results[0]!.samplesPerSecond)) {
  lines.push(`| ${key} (samples/s) | ${results.map((r) => fmt(r.samplesPerSecond[key]!)).join(" | ")} |`);
}
for (const key of Object.keys(results[0]!.ratios)) {
  lines.push(`| ${key} | ${results.map((r) => `${r.ratios[key]!.toFixed(2)}×`).join(" | ")} |`);
}
console.log(lines.join("\n"));

const outDir = join(import.meta.dir, "results");
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "codec.json"), JSON.stringify({
  benchmark: "codec",
  date: new Date().toISOString(),
  runtime: `bun ${Bun.version}`,
  repetitions: reps,
  results,
}, null, 2) + "\n");
if (sink === 0.5) console.log(sink); // keeps the measured work observable
