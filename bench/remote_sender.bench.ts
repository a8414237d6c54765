/**
 * Remote-write sender benchmark: promts and Prometheus 2.42 each receive the
 * same Remote-Write 1.0 requests (encoded once per run, timestamps from the
 * run's start: Prometheus's queue skips older samples) (default 20k series x 30
 * samples, 2,000 samples per request, 4 in flight) through their receivers,
 * so their WALs hold the same samples, and send them on with `remote_write`
 * to a null receiver in this process (it decodes, counts and answers 204).
 * Each server runs twice: without remote_write (ingest only) and with it;
 * the sender's CPU is the difference of the server's CPU-seconds (from
 * /proc/<pid>/stat) between the two runs.
 *
 * Reported per server: samples delivered, sender throughput (samples/s from
 * the first request posted to the last sample received), and sender
 * CPU-seconds per million samples.
 *
 *   npx bun bench/remote_sender.bench.ts [--series=20000] [--samples=30]
 *
 * promts runs from source (`bun src/cli/main.ts`). Prometheus is skipped
 * with a note when not installed. Writes bench/results/remote_sender.json.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeWriteV1, snappyDecode } from "../src/remote/index.ts";
import { freePort } from "../test/support/processes.ts";
import { cpuSeconds } from "./machine.ts";
import { buildWriteRequests } from "./write_requests.ts";

const arg = (name: string, def: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? def);
const SERIES = arg("series", 20_000);
const SAMPLES = arg("samples", 30);
const PER_REQUEST = 2000;
const IN_FLIGHT = 4;
const root = join(import.meta.dir, "..");



let received = 0;
let lastReceivedAt = 0;
const sink = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    const d = decodeWriteV1(snappyDecode(new Uint8Array(await req.arrayBuffer()), 1 << 28));
    received += d.samples;
    lastReceivedAt = performance.now();
    return new Response(null, { status: 204 });
  },
});

async function waitReady(url: string, proc: ReturnType<typeof Bun.spawn>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${url}: process exited with ${proc.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await Bun.sleep(100);
  }
  throw new Error(`${url} not ready in 60s`);
}

/** Posts with IN_FLIGHT workers; worker w posts the series blocks b with b % IN_FLIGHT === w, so each series' samples arrive in order. */
async function post(url: string, reqs: Uint8Array<ArrayBuffer>[]): Promise<void> {
  const blocks = Math.ceil(SERIES / PER_REQUEST);
  const worker = async (w: number) => {
    for (let k = 0; k < reqs.length; k++) {
      if ((k % blocks) % IN_FLIGHT !== w) continue;
      const body = reqs[k]!;
      const res = await fetch(url, { method: "POST", body, headers: { "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy", "X-Prometheus-Remote-Write-Version": "0.1.0" } });
      if (res.status !== 204) throw new Error(`${url}: ${res.status} ${await res.text()}`);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, (_, w) => worker(w)));
}

interface Run {
  cpu: number;
  delivered: number;
  seconds: number;
}

async function run(kind: "promts" | "prometheus", send: boolean, total: number): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), `bench-sender-${kind}-`));
  const port = freePort();
  const config = `global:\n  scrape_interval: 1h\n${send ? `remote_write:\n  - url: http://127.0.0.1:${sink.port}/write\n    queue_config:\n      batch_send_deadline: 1s\n      max_samples_per_send: 2000\n` : ""}`;
  writeFileSync(join(dir, "config.yml"), config);
  const cmd = kind === "promts"
    ? [process.execPath, join(root, "src/cli/main.ts"), `--config.file=${join(dir, "config.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--web.enable-remote-write-receiver", "--log.level=warn"]
    : ["/usr/bin/prometheus", `--config.file=${join(dir, "config.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--web.enable-remote-write-receiver", "--log.level=warn"];
  const proc = Bun.spawn(cmd, { stdout: "ignore", stderr: "ignore" });
  try {
    await waitReady(`http://127.0.0.1:${port}/-/ready`, proc);
    await Bun.sleep(1000);
    const reqs = buildWriteRequests({ series: SERIES, samples: SAMPLES, perRequest: PER_REQUEST, t0: Date.now() + 1000, metricPrefix: "sender_metric" });
    received = 0;
    const cpu0 = cpuSeconds(proc.pid);
    const t0 = performance.now();
    await post(`http://127.0.0.1:${port}/api/v1/write`, reqs);
    let end = performance.now();
    if (send) {
      const deadline = Date.now() + 300_000;
      while (received < total && Date.now() < deadline) await Bun.sleep(100);
      end = lastReceivedAt;
    } else {
      await Bun.sleep(1500); // the sending run waits about as long for its last batch deadline
    }
    return { cpu: cpuSeconds(proc.pid) - cpu0, delivered: received, seconds: (end - t0) / 1000 };
  } finally {
    proc.kill("SIGKILL");
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

const total = SERIES * SAMPLES;
const rows: Record<string, unknown>[] = [];
const servers: ("promts" | "prometheus")[] = ["promts"];
try {
  readFileSync("/usr/bin/prometheus");
  servers.push("prometheus");
} catch {
  console.log("(Prometheus not installed: promts alone)");
}
console.log(`${total} samples (${SERIES} series x ${SAMPLES}), ${Math.ceil(SERIES / PER_REQUEST) * SAMPLES} requests of ${PER_REQUEST}, ${IN_FLIGHT} in flight`);
console.log("| server | samples delivered | sender samples/s | sender CPU-s per million |");
console.log("|---|---|---|---|");
for (const kind of servers) {
  const base = await run(kind, false, total);
  const withSend = await run(kind, true, total);
  const senderCpu = Math.max(0, withSend.cpu - base.cpu);
  const row = {
    server: kind === "promts" ? "promts" : "Prometheus 2.42",
    delivered: withSend.delivered,
    senderSamplesPerSecond: withSend.delivered / withSend.seconds,
    senderCpuSecondsPerMillion: senderCpu / (withSend.delivered / 1e6),
    ingestOnlyCpu: base.cpu,
    withSenderCpu: withSend.cpu,
  };
  rows.push(row);
  console.log(`| ${row.server} | ${row.delivered} | ${Math.round(row.senderSamplesPerSecond)} | ${row.senderCpuSecondsPerMillion.toFixed(2)} |`);
}
sink.stop(true);
writeFileSync(join(import.meta.dir, "results", "remote_sender.json"), JSON.stringify({ series: SERIES, samples: SAMPLES, perRequest: PER_REQUEST, inFlight: IN_FLIGHT, rows }, null, 2));
