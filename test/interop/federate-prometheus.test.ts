/**
 * Federation both ways with a real Prometheus 2.42: each scrapes its own
 * path of a deterministic exporter, and each federates the other's series
 * through /federate with honor_labels: true. The federated series must equal
 * the source's latest samples (timestamps and values), keep the source's
 * job/instance and carry the source's external labels; with honor_labels
 * false the scraper's job wins and the source's moves to exported_job.
 * Skips loudly without Prometheus unless PROMTS_REQUIRE_PEERS=1.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBinary, startPromts, waitFor, type PromtsProcess } from "../e2e/promts_process.ts";
import { peerAvailable } from "../support/peers.ts";
import { freePort, spawnChild, stopAll, waitForOK } from "../support/processes.ts";
import { findBinary } from "./fixtures/scrape/peer_scrape.ts";
import { rangeSamples, seriesKey, startGenerator, type Generator } from "./fixtures/remote/generator.ts";

const prometheusBinary = findBinary("/usr/bin/prometheus", "prometheus");
const SERIES = 60;
const SCRAPES = 5;

let dir = "";
let promts: PromtsProcess | undefined;
let gen: Generator | undefined;

afterAll(async () => {
  await stopAll();
  await promts?.stop();
  gen?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The last sample of each series of `selector`, keyed by labels (plus `extra`). */
async function latest(url: string, selector: string, extra: Record<string, string> = {}): Promise<Map<string, [number, number]>> {
  const out = new Map<string, [number, number]>();
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(`${selector}[10m]`)}`);
  const body = (await res.json()) as { data: { result: { metric: Record<string, string>; values: [number, string][] }[] } };
  for (const r of body.data.result) {
    const [t, v] = r.values[r.values.length - 1]!;
    out.set(seriesKey({ ...r.metric, ...extra }), [Math.round(t * 1000), Number(v)]);
  }
  return out;
}

async function expectFederated(source: string, sourceSelector: string, target: string, targetSelector: string, extra: Record<string, string>): Promise<void> {
  const want = await latest(source, sourceSelector, extra);
  expect(want.size).toBe(SERIES);
  const got = await waitFor(`${target} to hold ${source}'s latest samples`, async () => {
    const have = await latest(target, targetSelector);
    for (const [k, s] of want) {
      const h = have.get(k);
      if (!h || h[0] !== s[0]) return undefined;
    }
    return have;
  }, 30_000);
  for (const [k, s] of want) expect({ k, s: got.get(k) }).toEqual({ k, s });
}

test("Prometheus federates promts and promts federates Prometheus (honor_labels, external labels)", async () => {
  if (!peerAvailable(prometheusBinary, "prometheus", "prometheus not installed (federation interop)")) return;
  requireBinary();
  dir = mkdtempSync(join(tmpdir(), "promts-fed-interop-"));
  gen = startGenerator({ series: SERIES, scrapes: SCRAPES });
  const promAddress = `127.0.0.1:${freePort()}`;
  writeFileSync(join(dir, "promts.yml"), `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  external_labels: { site: promts-a }
scrape_configs:
  - job_name: gen-promts
    metrics_path: /metrics/promts
    static_configs: [{ targets: ["${gen.address}"] }]
  - job_name: fed-honor
    honor_labels: true
    metrics_path: /federate
    params: { "match[]": ['{job="gen-prom"}'] }
    static_configs: [{ targets: ["${promAddress}"] }]
  - job_name: fed-plain
    metrics_path: /federate
    params: { "match[]": ['{job="gen-prom",series="1"}'] }
    static_configs: [{ targets: ["${promAddress}"] }]
`);
  promts = await startPromts([`--config.file=${join(dir, "promts.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`], dir);
  const promtsAddress = new URL(promts.url).host;
  writeFileSync(join(dir, "prometheus.yml"), `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  external_labels: { site: prom-b }
scrape_configs:
  - job_name: gen-prom
    metrics_path: /metrics/prom
    static_configs: [{ targets: ["${gen.address}"] }]
  - job_name: federate
    honor_labels: true
    metrics_path: /federate
    params: { "match[]": ['{job="gen-promts"}'] }
    static_configs: [{ targets: ["${promtsAddress}"] }]
`);
  const prom = spawnChild("prometheus", [prometheusBinary!, `--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "prom-data")}`, `--web.listen-address=${promAddress}`, "--log.level=warn"], dir);
  const promURL = `http://${promAddress}`;
  await waitForOK(`${promURL}/-/ready`, prom, 30_000);
  await waitFor("both sources to finish scraping", () => (gen!.scrapes("promts") >= SCRAPES && gen!.scrapes("prom") >= SCRAPES) || undefined, 60_000);
  // Let the last scrapes land in the sources' storage before reading them.
  await waitFor("promts's last scrape stored", async () => ((await rangeSamples(promts!.url, 'gen_metric{series="0"}[10m]', Date.now())).values().next().value?.length === SCRAPES) || undefined);

  // Prometheus <- promts: the source's labels, plus promts's external label.
  await expectFederated(promts.url, 'gen_metric{job="gen-promts"}', promURL, 'gen_metric{job="gen-promts"}', { site: "promts-a" });
  // promts <- Prometheus (honor_labels: true).
  await expectFederated(promURL, 'gen_metric{job="gen-prom"}', promts.url, 'gen_metric{job="gen-prom"}', { site: "prom-b" });
  // honor_labels: false: the scrape's job/instance win, the source's are kept as exported_*.
  const plain = await waitFor("the honor_labels: false series", async () => (await latest(promts!.url, 'gen_metric{job="fed-plain"}')).size === 1 || undefined);
  expect(plain).toBe(true);
  const [key] = (await latest(promts.url, 'gen_metric{job="fed-plain"}')).keys();
  expect(JSON.parse(key!)).toEqual(expect.arrayContaining([["exported_job", "gen-prom"], ["exported_instance", gen.address], ["instance", promAddress], ["site", "prom-b"]]));
  await prom.stop();
}, 150_000);
