/**
 * Scrape benchmark, two parts in one run:
 *
 * 1. Parse throughput (samples/s, MB/s) on an exporter-like body of 10,000
 *    samples (gauges, counters, histograms, with HELP/TYPE): the text-format
 *    and OpenMetrics cursors, the whole-body parsers with labels built, and
 *    a whole steady-state scrape append of each format (TargetSeries.appendBody
 *    into a storage that discards).
 * 2. CPU seconds per million scraped samples, dist/promts against real
 *    Prometheus (2.42 here), both scraping the same TARGETS × SERIES local
 *    targets every 5s at the same time. The targets are served by a child
 *    process (this file in "exporter" mode), so the exporter's CPU is not
 *    counted; each server's CPU is utime+stime from /proc/<pid>/stat over a
 *    fixed window, and the samples it scraped in that window come from its
 *    own scrape_samples_scraped series.
 *
 *   npx bun build.ts && npx bun bench/scrape.bench.ts [--reps=N] [--window=60] [--targets=200] [--series=1000] [--baseline=path/to/other/promts]
 *
 * Prints markdown tables and writes bench/results/scrape.json. Part 2 is
 * reported as skipped when dist/promts is missing; a missing peer is left out.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpuSeconds, machineInfo, median } from "./machine.ts";
import { OpenMetricsParser, parseOpenMetrics, parseText, TextParser, type Labels } from "../src/model/index.ts";
import { TargetSeries, type AppendSettings } from "../src/scrape/index.ts";
import type { Appender, AppendResult } from "../src/tsdb/index.ts";

const SCRAPE_INTERVAL_S = 5;

function arg(name: string, fallback: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : fallback;
}

/**
 * One target's exposition: `series` samples in families of 10 — 40% gauges,
 * 40% counters, 20% histograms (8 buckets + sum + count) — with values that
 * move with `epoch`. OpenMetrics declares counters without `_total` and ends
 * with `# EOF`.
 */
function exporterBody(target: number, series: number, epoch: number, openMetrics: boolean): string {
  const lines: string[] = [];
  let n = 0;
  for (let family = 0; n < series; family++) {
    const kind = family % 5;
    if (kind < 2) {
      const name = `bench_memory_region_${family}_bytes`;
      lines.push(`# HELP ${name} Bytes in memory region ${family}.`, `# TYPE ${name} gauge`);
      for (let i = 0; i < 10 && n < series; i++, n++) lines.push(`${name}{region="r${i}",node="n${target % 7}"} ${(target * 1000 + i * 37 + (epoch % 13) * 4096) * 1024}`);
    } else if (kind < 4) {
      const base = `bench_operations_${family}`;
      const declared = openMetrics ? base : `${base}_total`;
      lines.push(`# HELP ${declared} Operations of kind ${family}.`, `# TYPE ${declared} counter`);
      for (let i = 0; i < 10 && n < series; i++, n++) lines.push(`${base}_total{op="op${i}",result="${i % 3 === 0 ? "error" : "ok"}"} ${epoch * (i + 1) + target}`);
    } else {
      const name = `bench_request_duration_${family}_seconds`;
      lines.push(`# HELP ${name} Request latency.`, `# TYPE ${name} histogram`);
      const buckets = ["0.005", "0.01", "0.05", "0.1", "0.5", "1", "5", "+Inf"];
      let count = 0;
      for (let b = 0; b < buckets.length && n < series; b++, n++) {
        count += epoch + b;
        lines.push(`${name}_bucket{handler="/api",le="${buckets[b]}"} ${count}`);
      }
      if (n < series) (n++, lines.push(`${name}_sum{handler="/api"} ${(count * 0.042).toFixed(3)}`));
      if (n < series) (n++, lines.push(`${name}_count{handler="/api"} ${count}`));
    }
  }
  if (openMetrics) lines.push("# EOF");
  return lines.join("\n") + "\n";
}

/** Exporter mode: serves /metrics/<i> for every target on 127.0.0.1 and prints the port. */
function serveTargets(targets: number, series: number): void {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const m = /^\/metrics\/(\d+)$/.exec(new URL(req.url).pathname);
      const target = m ? Number(m[1]) : -1;
      if (target < 0 || target >= targets) return new Response("not found\n", { status: 404 });
      const epoch = Math.floor(Date.now() / (SCRAPE_INTERVAL_S * 1000));
      return new Response(exporterBody(target, series, epoch, false), { headers: { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" } });
    },
  });
  console.log(server.port);
}

/** A storage that hands out refs and discards samples: isolates parsing, caching and batching. */
class DiscardingAppender implements Appender {
  private next = 1;
  ref(_labels: Labels): number {
    return this.next++;
  }
  appendBatch(_refs: Uint32Array, _t: Float64Array, _v: Float64Array, n: number): AppendResult {
    return { appended: n, outOfOrder: 0, duplicate: 0, outOfBounds: 0, unknownRef: 0 };
  }
}

const APPEND_SETTINGS: AppendSettings = {
  honorLabels: false, honorTimestamps: true, trackTimestampsStaleness: false, sampleLimit: 0, labelLimit: 0,
  labelNameLengthLimit: 0, labelValueLengthLimit: 0, metricRelabel: [], nameValidation: "utf8",
};

interface ParseResult {
  parser: string;
  samples: number;
  bytes: number;
  samplesPerSecond: number;
  megabytesPerSecond: number;
}

let sink = 0;

function measure(parser: string, body: string, samples: number, reps: number, run: () => number): ParseResult {
  const bytes = Buffer.byteLength(body);
  for (let i = 0; i < 3; i++) sink += run();
  const seconds: number[] = [];
  for (let r = 0; r < reps; r++) {
    const start = performance.now();
    const got = run();
    seconds.push((performance.now() - start) / 1000);
    if (got !== samples) throw new Error(`${parser} saw ${got} samples, expected ${samples}`);
    sink += got;
  }
  const s = median(seconds);
  return { parser, samples, bytes, samplesPerSecond: samples / s, megabytesPerSecond: bytes / 1e6 / s };
}

function parseBenchmarks(reps: number): ParseResult[] {
  const SERIES = 10_000;
  const text = exporterBody(1, SERIES, 1000, false);
  const om = exporterBody(1, SERIES, 1000, true);
  const targetLabels: Labels = [{ name: "instance", value: "host:9100" }, { name: "job", value: "node" }];
  const series = new TargetSeries(targetLabels, APPEND_SETTINGS);
  const omSeries = new TargetSeries(targetLabels, APPEND_SETTINGS);
  const app = new DiscardingAppender();
  let ts = 1_700_000_000_000;
  return [
    measure("text, cursor (scrape loop path)", text, SERIES, reps, () => {
      const p = new TextParser(text);
      let n = 0;
      for (let e = p.next(); e !== "eof"; e = p.next()) {
        if (e !== "series") continue;
        n++;
        sink += p.series().length + p.value;
      }
      return n;
    }),
    measure("text, parseText (labels built)", text, SERIES, reps, () => parseText(text).samples.length),
    measure("OpenMetrics, cursor", om, SERIES, reps, () => {
      const p = new OpenMetricsParser(om);
      let n = 0;
      for (let e = p.next(); e !== "eof"; e = p.next()) {
        if (e !== "series") continue;
        n++;
        sink += p.series().length + p.value;
      }
      return n;
    }),
    measure("OpenMetrics, parseOpenMetrics", om, SERIES, reps, () => parseOpenMetrics(om).samples.length),
    measure("text, TargetSeries.appendBody (steady state)", text, SERIES, reps, () => {
      ts += SCRAPE_INTERVAL_S * 1000;
      const r = series.appendBody(app, text, "text/plain; version=0.0.4", ts);
      if (r.error !== null) throw new Error(r.error);
      return r.scraped;
    }),
    measure("OpenMetrics, TargetSeries.appendBody (steady state)", om, SERIES, reps, () => {
      ts += SCRAPE_INTERVAL_S * 1000;
      const r = omSeries.appendBody(app, om, "application/openmetrics-text; version=1.0.0", ts);
      if (r.error !== null) throw new Error(r.error);
      return r.scraped;
    }),
  ];
}

/** utime + stime of a process in seconds. */

function residentMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

function clockTicksPerSecond(): number {
  const r = Bun.spawnSync(["getconf", "CLK_TCK"], { stdout: "pipe" });
  const n = Number(r.stdout.toString().trim());
  return r.exitCode === 0 && n > 0 ? n : 100;
}

function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

/** How a server under test is started, asked whether all targets are up, and asked how much it scraped. */
interface ServerKind {
  name: string;
  binary: string | null;
  args: (configFile: string, dataDir: string, port: number) => string[];
  /** PromQL servers answer queries; VictoriaMetrics' promscrape is asked through its /metrics. */
  kind: "promql" | "vm";
}

interface Server {
  name: string;
  url: string;
  kind: "promql" | "vm";
  proc: ReturnType<typeof Bun.spawn>;
}

async function queryScalar(url: string, query: string, timeS: number): Promise<number> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}&time=${timeS}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: { value: [number, string] }[] } };
  if (body.status !== "success") throw new Error(`${url}: ${query}: ${body.error}`);
  return body.data.result.length === 0 ? 0 : Number(body.data.result[0]!.value[1]);
}

/** The value of one sample line of a /metrics page (first match of `prefix`). */
async function metricValue(url: string, prefix: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(prefix));
  return line === undefined ? NaN : Number(line.slice(line.lastIndexOf(" ") + 1));
}

async function targetsUp(s: Server): Promise<number> {
  return s.kind === "promql"
    ? queryScalar(s.url, "count(up == 1)", Date.now() / 1000)
    : metricValue(s.url, 'vm_promscrape_targets{type="static_configs", status="up"}');
}

async function waitUntil(what: string, deadlineMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    await Bun.sleep(500);
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface CPUResult {
  server: string;
  cpuSeconds: number;
  samplesScraped: number;
  scrapes: number;
  cpuSecondsPerMillionSamples: number;
  residentMiB: number;
  /** RSS at the end of the window divided by the scraped series (targets × series). */
  residentBytesPerSeries: number;
  /** Targets up when the window started. */
  targetsUp: number;
}

async function cpuComparison(targets: number, seriesPerTarget: number, windowS: number): Promise<{ results: CPUResult[]; exporterCpuSeconds: number; missing: string[] } | string> {
  const promtsBinary = join(import.meta.dir, "../dist/promts");
  if (!(await Bun.file(promtsBinary).exists())) return "dist/promts missing (run `npx bun build.ts`)";
  const kinds: ServerKind[] = [
    { name: "promts", binary: promtsBinary, kind: "promql", args: (c, d, p) => [`--config.file=${c}`, `--storage.tsdb.path=${d}`, `--web.listen-address=127.0.0.1:${p}`, "--log.level=warn"] },
    { name: "prometheus", binary: Bun.which("prometheus"), kind: "promql", args: (c, d, p) => [`--config.file=${c}`, `--storage.tsdb.path=${d}`, `--web.listen-address=127.0.0.1:${p}`, "--log.level=warn"] },
    { name: "victoria-metrics", binary: Bun.which("victoria-metrics"), kind: "vm", args: (c, d, p) => [`-promscrape.config=${c}`, `-storageDataPath=${d}`, `-httpListenAddr=127.0.0.1:${p}`, "-loggerLevel=ERROR"] },
    // vmagent stores nothing: it remote-writes to a sink in this process that discards.
    { name: "vmagent", binary: Bun.which("vmagent"), kind: "vm", args: (c, d, p) => [`-promscrape.config=${c}`, `-remoteWrite.tmpDataPath=${d}`, `-remoteWrite.url=${sinkURL}`, `-httpListenAddr=127.0.0.1:${p}`, "-loggerLevel=ERROR"] },
  ];
  const baseline = process.argv.find((a) => a.startsWith("--baseline="))?.slice("--baseline=".length);
  // Another promts build (e.g. main's) side by side, for a before/after in the same run.
  if (baseline) kinds.splice(1, 0, { ...kinds[0]!, name: "promts (baseline)", binary: baseline });
  const missing = kinds.filter((k) => k.binary === null).map((k) => k.name);
  const dir = mkdtempSync(join(tmpdir(), "promts-scrape-bench-"));
  const children: ReturnType<typeof Bun.spawn>[] = [];
  const sink = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: async (req) => (await req.arrayBuffer(), new Response(null, { status: 204 })) });
  const sinkURL = `http://127.0.0.1:${sink.port}/api/v1/write`;
  try {
    const exporter = Bun.spawn([process.execPath, import.meta.path, "exporter", String(targets), String(seriesPerTarget)], { stdout: "pipe", stderr: "inherit" });
    children.push(exporter);
    const reader = exporter.stdout.getReader();
    let first = "";
    while (!first.includes("\n")) {
      const { done, value } = await reader.read();
      if (done) throw new Error("exporter exited before printing its port");
      first += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    const address = `127.0.0.1:${first.trim()}`;
    const staticConfigs = Array.from({ length: targets }, (_, i) =>
      `      - targets: ["${address}"]\n        labels: {__metrics_path__: "/metrics/${i}", instance: "target-${i}"}`).join("\n");
    const config = `global:\n  scrape_interval: ${SCRAPE_INTERVAL_S}s\n  scrape_timeout: ${SCRAPE_INTERVAL_S - 1}s\nscrape_configs:\n  - job_name: bench\n    static_configs:\n${staticConfigs}\n`;
    const configFile = join(dir, "scrape.yml");
    writeFileSync(configFile, config);
    const servers: Server[] = [];
    for (const k of kinds) {
      if (k.binary === null) continue;
      const port = freePort();
      const proc = Bun.spawn([k.binary, ...k.args(configFile, join(dir, `${k.name.replace(/\W+/g, "-")}-data`), port)], {
        cwd: dir, stdout: "ignore", stderr: Bun.file(join(dir, `${k.name.replace(/\W+/g, "-")}.log`)),
      });
      children.push(proc);
      servers.push({ name: k.name, url: `http://127.0.0.1:${port}`, kind: k.kind, proc });
    }
    // On a loaded machine a server may never have every target up at once: go on after the deadline and report how many were.
    const upAtStart: number[] = [];
    for (const s of servers) {
      try {
        await waitUntil(`${s.name}: all ${targets} targets up`, 300_000, async () => (await targetsUp(s)) === targets);
      } catch (e) {
        console.error(`warning: ${(e as Error).message}`);
      }
    }
    for (const s of servers) upAtStart.push(await targetsUp(s).catch(() => NaN));
    // Two more intervals so every target's series exist before measuring steady state.
    await Bun.sleep(2 * SCRAPE_INTERVAL_S * 1000);
    const ticks = clockTicksPerSecond();
    const vmCounts = async (s: Server) => s.kind === "vm"
      ? { samples: await metricValue(s.url, "vm_promscrape_scraped_samples_sum"), scrapes: await metricValue(s.url, "vm_promscrape_scraped_samples_count") }
      : { samples: 0, scrapes: 0 };
    const startCounts = await Promise.all(servers.map(vmCounts));
    const startCpu = servers.map((s) => cpuSeconds(s.proc.pid, ticks));
    const startExporterCpu = cpuSeconds(exporter.pid, ticks);
    const start = Date.now();
    await Bun.sleep(windowS * 1000);
    const end = Date.now();
    const endCpu = servers.map((s) => cpuSeconds(s.proc.pid, ticks));
    const exporterCpuSeconds = cpuSeconds(exporter.pid, ticks) - startExporterCpu;
    const rangeMs = end - start;
    const results: CPUResult[] = [];
    for (const [i, s] of servers.entries()) {
      const rss = residentMiB(s.proc.pid);
      let samples: number, scrapes: number;
      if (s.kind === "promql") {
        samples = await queryScalar(s.url, `sum(sum_over_time(scrape_samples_scraped[${rangeMs}ms]))`, end / 1000);
        scrapes = await queryScalar(s.url, `sum(count_over_time(scrape_samples_scraped[${rangeMs}ms]))`, end / 1000);
      } else {
        const c = await vmCounts(s);
        samples = c.samples - startCounts[i]!.samples;
        scrapes = c.scrapes - startCounts[i]!.scrapes;
      }
      const cpu = endCpu[i]! - startCpu[i]!;
      results.push({
        server: s.name, cpuSeconds: cpu, samplesScraped: samples, scrapes, cpuSecondsPerMillionSamples: cpu / (samples / 1e6),
        residentMiB: rss, residentBytesPerSeries: (rss * 1024 * 1024) / (targets * seriesPerTarget), targetsUp: upAtStart[i]!,
      });
    }
    return { results, exporterCpuSeconds, missing };
  } finally {
    for (const c of children) c.kill("SIGKILL");
    await Promise.all(children.map((c) => c.exited));
    sink.stop(true);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const reps = arg("reps", 15);
  const windowS = arg("window", 60);
  const targets = arg("targets", 200);
  const series = arg("series", 1000);

  const parse = parseBenchmarks(reps);
  const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(1)} k`);
  console.log(`### Parse throughput (${parse[0]!.samples} samples, ${(parse[0]!.bytes / 1e6).toFixed(2)} MB text body; median of ${reps})\n`);
  console.log("| parser | samples/s | MB/s |\n|---|---:|---:|");
  for (const r of parse) console.log(`| ${r.parser} | ${fmt(r.samplesPerSecond)} | ${r.megabytesPerSecond.toFixed(1)} |`);

  const cpu = await cpuComparison(targets, series, windowS);
  console.log(`\n### CPU and memory while scraping (${targets} targets × ${series} series every ${SCRAPE_INTERVAL_S}s, all servers at once, ${windowS}s window)\n`);
  if (typeof cpu === "string") {
    console.log(`skipped: ${cpu}`);
  } else {
    console.log("| server | targets up | CPU s | samples scraped | scrapes | CPU s / 1M samples | RSS MiB | RSS B / series |\n|---|---:|---:|---:|---:|---:|---:|---:|");
    for (const r of cpu.results) {
      console.log(`| ${r.server} | ${r.targetsUp} | ${r.cpuSeconds.toFixed(2)} | ${r.samplesScraped} | ${r.scrapes} | ${r.cpuSecondsPerMillionSamples.toFixed(3)} | ${r.residentMiB.toFixed(0)} | ${r.residentBytesPerSeries.toFixed(0)} |`);
    }
    const promts = cpu.results.find((r) => r.server === "promts")!;
    for (const other of cpu.results) {
      if (other === promts) continue;
      console.log(`\npromts / ${other.server}: CPU per sample ${(promts.cpuSecondsPerMillionSamples / other.cpuSecondsPerMillionSamples).toFixed(2)}×, RSS per series ${(promts.residentBytesPerSeries / other.residentBytesPerSeries).toFixed(2)}×`);
    }
    console.log(`\n(exporter child used ${cpu.exporterCpuSeconds.toFixed(2)} CPU s, not counted${cpu.missing.length > 0 ? `; not installed: ${cpu.missing.join(", ")}` : ""}; vmagent remote-writes to a sink that discards)`);
  }

  const outDir = join(import.meta.dir, "results");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "scrape.json"), JSON.stringify({
    benchmark: "scrape",
    machine: machineInfo(),
    runtime: `bun ${Bun.version}`,
    repetitions: reps,
    parse,
    cpu: typeof cpu === "string"
      ? { skipped: cpu }
      : { targets, seriesPerTarget: series, scrapeIntervalSeconds: SCRAPE_INTERVAL_S, windowSeconds: windowS, ...cpu },
  }, null, 2) + "\n");
  if (sink === 0.5) console.log(sink); // keeps the measured work observable
}

if (process.argv[2] === "exporter") serveTargets(Number(process.argv[3]), Number(process.argv[4]));
else await main();
