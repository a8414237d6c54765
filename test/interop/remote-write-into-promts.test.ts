/**
 * Real senders remote-write into promts's /api/v1/write: Prometheus 2.42
 * (remote_write) and vmagent each scrape a deterministic exporter that
 * serves samples with explicit timestamps, then stops; every sample served
 * must be queryable in promts with the same timestamps and values, and no
 * other. Without the peers the tests pass with a loud SKIPPED message,
 * unless PROMTS_REQUIRE_PEERS=1. Every process is killed by PID.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBinary, startPromts, waitFor, type PromtsProcess } from "../e2e/promts_process.ts";
import { peerAvailable } from "../support/peers.ts";
import { freePort, spawnChild, stopAll, waitUntil } from "../support/processes.ts";
import { findBinary } from "./fixtures/scrape/peer_scrape.ts";
import { rangeSamples, servedBySeries, startGenerator, type Generator } from "./fixtures/remote/generator.ts";

const prometheusBinary = findBinary("/usr/bin/prometheus", "prometheus");
const vmagentBinary = findBinary("/usr/bin/vmagent", "vmagent");
const SERIES = 250;
const SCRAPES = 8;

let dir = "";
let promts: PromtsProcess | undefined;
let gen: Generator | undefined;

beforeAll(async () => {
  if (!prometheusBinary && !vmagentBinary) return;
  requireBinary();
  dir = mkdtempSync(join(tmpdir(), "promts-rw-interop-"));
  gen = startGenerator({ series: SERIES, scrapes: SCRAPES });
  writeFileSync(join(dir, "promts.yml"), "global:\n  scrape_interval: 1m\n");
  promts = await startPromts([`--config.file=${join(dir, "promts.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, "--web.enable-remote-write-receiver"], dir);
});

afterAll(async () => {
  await stopAll();
  await promts?.stop();
  gen?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function expectAllServedArrive(scraper: string, job: string, instance: string): Promise<void> {
  await waitUntil(`${SCRAPES} scrapes of /metrics/${scraper}`, () => gen!.scrapes(scraper) >= SCRAPES, 60_000);
  const want = servedBySeries(gen!.served(scraper), { job, instance });
  expect(want.size).toBe(SERIES);
  const selector = `gen_metric{job="${job}"}[10m]`;
  const at = Date.now();
  const got = await waitFor(`every served sample of ${scraper} in promts`, async () => {
    const have = await rangeSamples(promts!.url, selector, at);
    let n = 0;
    for (const v of have.values()) n += v.length;
    return n >= SERIES * SCRAPES ? have : undefined;
  }, 60_000);
  expect(got.size).toBe(want.size);
  for (const [key, samples] of want) expect({ key, samples: got.get(key) }).toEqual({ key, samples });
}

test("Prometheus 2.42 remote_write -> promts: every sample arrives with equal timestamps and values", async () => {
  if (!peerAvailable(prometheusBinary, "prometheus", "prometheus not installed (remote write interop)")) return;
  const address = `127.0.0.1:${freePort()}`;
  const config = join(dir, "prometheus.yml");
  writeFileSync(config, `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: gen-prom
    metrics_path: /metrics/prometheus
    static_configs: [{ targets: ["${gen!.address}"] }]
remote_write:
  - url: ${promts!.url}/api/v1/write
    queue_config: { batch_send_deadline: 1s, max_samples_per_send: 100 }
`);
  const prom = spawnChild("prometheus", [prometheusBinary!, `--config.file=${config}`, `--storage.tsdb.path=${join(dir, "prom-data")}`, `--web.listen-address=${address}`, "--log.level=warn"], dir);
  await expectAllServedArrive("prometheus", "gen-prom", gen!.address);
  // Prometheus's own scrape series (up, scrape_*) arrived too.
  const up = await rangeSamples(promts!.url, `up{job="gen-prom"}[10m]`, Date.now());
  expect(up.size).toBe(1);
  expect(promts!.logs()).not.toContain("level=error");
  await prom.stop();
}, 120_000);

test("vmagent -> promts: every sample arrives with equal timestamps and values", async () => {
  if (!peerAvailable(vmagentBinary, "vmagent", "vmagent not installed (remote write interop; apt-get install victoria-metrics)")) return;
  const config = join(dir, "vmagent.yml");
  writeFileSync(config, `global:
  scrape_interval: 1s
scrape_configs:
  - job_name: gen-vmagent
    metrics_path: /metrics/vmagent
    static_configs: [{ targets: ["${gen!.address}"] }]
`);
  const vmagent = spawnChild("vmagent", [
    vmagentBinary!,
    `-promscrape.config=${config}`,
    `-remoteWrite.url=${promts!.url}/api/v1/write`,
    `-remoteWrite.tmpDataPath=${join(dir, "vmagent-data")}`,
    `-httpListenAddr=127.0.0.1:${freePort()}`,
    "-remoteWrite.flushInterval=500ms",
    "-loggerLevel=ERROR",
  ], dir);
  await expectAllServedArrive("vmagent", "gen-vmagent", gen!.address);
  await vmagent.stop();
}, 120_000);
