/**
 * Remote-write ingest benchmark: the same pre-encoded Remote-Write 1.0
 * requests (100k series x 60 samples = 6M samples, 2,000 samples per
 * request, one sample per series per request as Prometheus sends them) are
 * posted with 4 requests in flight to promts, Prometheus 2.42
 * (--web.enable-remote-write-receiver) and VictoriaMetrics 1.79, one server
 * at a time. Reported per server: samples/s, server CPU-seconds per million
 * samples (from /proc/<pid>/stat), RSS per series after ingest, p99 request
 * latency, and samples missing (counted back by a query).
 *
 *   npx bun bench/remote_write.bench.ts [--series=100000] [--samples=60]
 *
 * promts runs from source (`bun src/cli/main.ts`), the code dist/promts is
 * compiled from. Peers not installed are skipped with a note. Writes
 * bench/results/remote_write.json.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../test/support/processes.ts";
import { cpuSeconds } from "./machine.ts";
import { buildWriteRequests } from "./write_requests.ts";

const arg = (name: string, def: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? def);
const SERIES = arg("series", 100_000);
const SAMPLES = arg("samples", 60);
const PER_REQUEST = 2000;
const IN_FLIGHT = 4;
const root = join(import.meta.dir, "..");



function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

interface Server {
  name: string;
  url: string;
  writePath: string;
  pid: number;
  stop(): Promise<void>;
}

async function waitReady(url: string, proc: ReturnType<typeof Bun.spawn>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${url}: process exited with ${proc.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await Bun.sleep(100);
  }
  throw new Error(`${url} not ready`);
}

async function start(name: string, cmd: (dir: string, addr: string) => string[], ready: string, writePath: string): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), `bench-rw-${name}-`));
  const addr = `127.0.0.1:${freePort()}`;
  const proc = Bun.spawn(cmd(dir, addr), { cwd: dir, stdout: "ignore", stderr: "ignore" });
  await waitReady(`http://${addr}${ready}`, proc);
  return {
    name,
    url: `http://${addr}`,
    writePath,
    pid: proc.pid,
    stop: async () => {
      proc.kill("SIGKILL");
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function countBack(server: Server): Promise<number> {
  if (server.name === "VictoriaMetrics") await fetch(`${server.url}/internal/force_flush`);
  const q = encodeURIComponent('sum(count_over_time({__name__=~"bench_metric_.*"}[1d]))');
  for (let attempt = 0; attempt < 40; attempt++) {
    const res = await fetch(`${server.url}/api/v1/query?query=${q}&nocache=1`);
    const body = (await res.json()) as { data?: { result: { value: [number, string] }[] } };
    const n = Number(body.data?.result[0]?.value[1] ?? 0);
    if (n >= SERIES * SAMPLES) return n;
    await Bun.sleep(500);
    if (attempt === 39) return n;
  }
  return 0;
}

async function run(server: Server, requests: Uint8Array<ArrayBuffer>[]) {
  const latencies = new Float64Array(requests.length);
  let next = 0;
  let errors = 0;
  const cpu0 = cpuSeconds(server.pid);
  const start = performance.now();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= requests.length) return;
      const t = performance.now();
      const res = await fetch(`${server.url}${server.writePath}`, {
        method: "POST",
        body: requests[i],
        headers: { "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy", "X-Prometheus-Remote-Write-Version": "0.1.0" },
      });
      await res.arrayBuffer();
      if (res.status >= 300) errors++;
      latencies[i] = performance.now() - t;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const seconds = (performance.now() - start) / 1000;
  const cpu = cpuSeconds(server.pid) - cpu0;
  const rss = rssBytes(server.pid);
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  const total = SERIES * SAMPLES;
  const stored = await countBack(server);
  return {
    server: server.name,
    samplesPerSecond: total / seconds,
    cpuSecondsPerMillion: cpu / (total / 1e6),
    rssBytesPerSeries: rss / SERIES,
    p99LatencyMs: sorted[Math.floor(sorted.length * 0.99)]!,
    failedRequests: errors,
    samplesMissing: total - stored,
  };
}

const promtsConfig = join(tmpdir(), `bench-rw-promts-${process.pid}.yml`);
writeFileSync(promtsConfig, "global:\n  scrape_interval: 1h\n");
const servers: { name: string; bin: string | null; make: () => Promise<Server> }[] = [
  {
    name: "promts",
    bin: process.execPath,
    make: () => start("promts", (dir, addr) => [process.execPath, join(root, "src/cli/main.ts"), `--config.file=${promtsConfig}`, `--storage.tsdb.path=${dir}`, `--web.listen-address=${addr}`, "--web.enable-remote-write-receiver", "--log.level=error"], "/-/ready", "/api/v1/write"),
  },
  {
    name: "Prometheus 2.42",
    bin: Bun.which("prometheus"),
    make: () => {
      writeFileSync(join(tmpdir(), "bench-rw-prom.yml"), "global:\n  scrape_interval: 1h\n");
      return start("Prometheus", (dir, addr) => [Bun.which("prometheus")!, `--config.file=${join(tmpdir(), "bench-rw-prom.yml")}`, `--storage.tsdb.path=${dir}`, `--web.listen-address=${addr}`, "--web.enable-remote-write-receiver", "--log.level=error"], "/-/ready", "/api/v1/write");
    },
  },
  {
    name: "VictoriaMetrics 1.79",
    bin: Bun.which("victoria-metrics"),
    make: () => start("VictoriaMetrics", (dir, addr) => [Bun.which("victoria-metrics")!, `-storageDataPath=${dir}`, `-httpListenAddr=${addr}`, "-loggerLevel=ERROR", "-search.latencyOffset=0s"], "/health", "/api/v1/write"),
  },
];

const requests = buildWriteRequests({ series: SERIES, samples: SAMPLES, perRequest: PER_REQUEST, t0: Math.floor(Date.now() / 60_000) * 60_000 - SAMPLES * 15_000, metricPrefix: "bench_metric" });
const rows = [];
const notes: string[] = [];
for (const s of servers) {
  if (!s.bin) {
    notes.push(`${s.name}: not installed, skipped`);
    continue;
  }
  const server = await s.make();
  server.name = s.name === "VictoriaMetrics 1.79" ? "VictoriaMetrics" : server.name;
  try {
    const r = await run(server, requests);
    rows.push({ ...r, server: s.name });
  } finally {
    await server.stop();
  }
}

console.log(`Remote-write 1.0 ingest: ${SERIES} series x ${SAMPLES} samples, ${PER_REQUEST} samples/request, ${IN_FLIGHT} in flight, ${requests.length} pre-encoded requests.\n`);
console.log("| server | samples/s | CPU-s per M samples | RSS per series | p99 latency | failed requests | samples missing |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of rows) {
  console.log(`| ${r.server} | ${(r.samplesPerSecond / 1000).toFixed(0)}k | ${r.cpuSecondsPerMillion.toFixed(2)} | ${(r.rssBytesPerSeries / 1024).toFixed(2)} kB | ${r.p99LatencyMs.toFixed(1)} ms | ${r.failedRequests} | ${r.samplesMissing} |`);
}
for (const n of notes) console.log(`\n${n}`);
writeFileSync(join(import.meta.dir, "results", "remote_write.json"), JSON.stringify({ series: SERIES, samples: SAMPLES, perRequest: PER_REQUEST, inFlight: IN_FLIGHT, rows, notes }, null, 2));
rmSync(promtsConfig, { force: true });
