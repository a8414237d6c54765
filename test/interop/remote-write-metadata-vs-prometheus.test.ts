/**
 * metadata_config side by side with a real Prometheus 2.42: both scrape the
 * same target and remote-write to a capturing endpoint with
 * `metadata_config.send_interval: 1s`; the metadata-only WriteRequests
 * carry the same entries (family, type, help, unit). Skips loudly without
 * Prometheus unless PROMTS_REQUIRE_PEERS=1; processes stopped by PID.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeWriteV1, snappyDecode, type WriteMetadata } from "../../src/remote/index.ts";
import { requireBinary, startPromts, type PromtsProcess } from "../e2e/promts_process.ts";
import { peerAvailable } from "../support/peers.ts";
import { freePort, spawnChild, stopAll, waitForOK, waitUntil } from "../support/processes.ts";
import { findBinary } from "./fixtures/scrape/peer_scrape.ts";

const prometheusBinary = findBinary("/usr/bin/prometheus", "prometheus");
let dir = "";
let promts: PromtsProcess | undefined;
let server: ReturnType<typeof Bun.serve> | undefined;

afterAll(async () => {
  await stopAll();
  await promts?.stop();
  server?.stop(true);
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

const EXPOSITION = `# HELP md_requests_total Requests served.
# TYPE md_requests_total counter
md_requests_total{code="200"} 10
md_requests_total{code="500"} 1
# HELP md_temperature_celsius Current temperature.
# TYPE md_temperature_celsius gauge
md_temperature_celsius 21.5
# HELP md_latency_seconds Latency.
# TYPE md_latency_seconds histogram
md_latency_seconds_bucket{le="0.1"} 3
md_latency_seconds_bucket{le="+Inf"} 4
md_latency_seconds_sum 0.5
md_latency_seconds_count 4
# HELP md_quantiles Some summary.
# TYPE md_quantiles summary
md_quantiles{quantile="0.5"} 1
md_quantiles_sum 3
md_quantiles_count 2
md_untyped 7
`;

test("metadata sent by remote write equals Prometheus's", async () => {
  if (!peerAvailable(prometheusBinary, "prometheus", "prometheus not installed (remote write metadata interop)")) return;
  requireBinary();
  dir = mkdtempSync(join(tmpdir(), "promts-rwmd-interop-"));
  const metadata: Record<string, WriteMetadata[][]> = { prometheus: [], promts: [] };
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === "/metrics") return new Response(EXPOSITION, { headers: { "Content-Type": "text/plain; version=0.0.4" } });
      const who = url.pathname.slice(1);
      const d = decodeWriteV1(snappyDecode(new Uint8Array(await req.arrayBuffer()), 1 << 26));
      if (d.metadata.length > 0) metadata[who]?.push(d.metadata);
      return new Response(null, { status: 204 });
    },
  });
  const config = (who: string) => `global:
  scrape_interval: 1s
scrape_configs:
  - job_name: target
    static_configs:
      - targets: ["127.0.0.1:${server!.port}"]
remote_write:
  - url: http://127.0.0.1:${server!.port}/${who}
    metadata_config:
      send_interval: 1s
`;
  writeFileSync(join(dir, "prometheus.yml"), config("prometheus"));
  writeFileSync(join(dir, "promts.yml"), config("promts"));
  const promAddr = `127.0.0.1:${freePort()}`;
  const prom = spawnChild("prometheus", [prometheusBinary!, `--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "prom-data")}`, `--web.listen-address=${promAddr}`, "--log.level=warn"], dir);
  await waitForOK(`http://${promAddr}/-/ready`, prom, 30_000);
  promts = await startPromts([`--config.file=${join(dir, "promts.yml")}`, `--storage.tsdb.path=${join(dir, "promts-data")}`], dir);
  const sorted = (list: WriteMetadata[]) => [...list].sort((a, b) => (a.metricFamilyName < b.metricFamilyName ? -1 : a.metricFamilyName > b.metricFamilyName ? 1 : 0));
  // After the first scrape, every round carries the target's metadata.
  const full = (who: string) => metadata[who]!.some((m) => m.length >= 4);
  await waitUntil("metadata from both", () => full("prometheus") && full("promts"), 60_000, [prom]);
  const theirs = sorted(metadata.prometheus!.find((m) => m.length >= 4)!);
  const ours = sorted(metadata.promts!.find((m) => m.length >= 4)!);
  expect(ours).toEqual(theirs);
  // md_untyped has no TYPE or HELP line: neither sends metadata for it.
  expect(ours.map((m) => m.type)).toEqual(["histogram", "summary", "counter", "gauge"]);
  await prom.stop();
}, 120_000);
