/**
 * promts scrapes a real Prometheus's own /metrics (Prometheus 2.42 listing
 * only itself, scraped hourly): both list the target alike in
 * /api/v1/targets, the stored series equal a direct fetch's,
 * constant metrics keep their values, and killing Prometheus turns `up` to
 * 0 and marks its series stale. Without the binary the test passes with a
 * loud SKIPPED message, unless PROMTS_REQUIRE_PEERS=1. Every process is
 * killed by PID.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apiData, requireBinary, startPromts, waitFor, type PromtsProcess } from "../e2e/promts_process.ts";
import { checkScrapeOfPeer, findBinary, scrapeConfig, startPeer, type PeerProcess } from "./fixtures/scrape/peer_scrape.ts";
import { peerAvailable } from "../support/peers.ts";

const prometheusBinary = findBinary("/usr/bin/prometheus", "prometheus");
const available = peerAvailable(prometheusBinary, "prometheus", "prometheus not installed (scrape interop)");

let dir = "";
let prometheus: PeerProcess | undefined;
let promts: PromtsProcess | undefined;

beforeAll(() => {
  if (available) requireBinary();
  dir = mkdtempSync(join(tmpdir(), "promts-interop-prom-"));
});

afterAll(async () => {
  await prometheus?.kill();
  await promts?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function keysOf(o: Record<string, unknown>): string[] {
  return Object.keys(o).sort();
}

test("Prometheus /metrics: stored series match a direct fetch; killing it gives up=0 and stale series", async () => {
  if (!available) return;
  const promConfig = join(dir, "prometheus.yml");
  prometheus = await startPeer(prometheusBinary!, (address) => {
    // Prometheus lists itself as a target (scraped hourly, so its own series stay put) for the /targets comparison.
    writeFileSync(promConfig, scrapeConfig("prometheus", address).replace(/scrape_interval: 1s\n {2}scrape_timeout: 1s/, "scrape_interval: 1h"));
    return [`--config.file=${promConfig}`, `--storage.tsdb.path=${join(dir, "prometheus-data")}`, `--web.listen-address=${address}`, "--log.level=warn"];
  }, dir);
  const configFile = join(dir, "promts.yml");
  writeFileSync(configFile, scrapeConfig("prometheus", prometheus.address));
  promts = await startPromts([`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, "data")}`], dir);

  // Both list the same target with the same fields and labels.
  const targetOf = (url: string) => waitFor(`an active target at ${url}`, async () => (await apiData(url, "/api/v1/targets")).activeTargets[0]);
  const [theirs, ours] = [await targetOf(`http://${prometheus.address}`), await targetOf(promts.url)];
  expect(keysOf(ours)).toEqual(keysOf(theirs));
  expect(ours.discoveredLabels).toEqual({ ...theirs.discoveredLabels, __scrape_interval__: "1s", __scrape_timeout__: "1s" });
  expect(ours.labels).toEqual(theirs.labels);
  expect([ours.scrapePool, ours.scrapeUrl]).toEqual([theirs.scrapePool, theirs.scrapeUrl]);
  expect(Number.isNaN(Date.parse(ours.lastScrape))).toBe(false);

  await checkScrapeOfPeer(promts, prometheus, "prometheus", ["prometheus_build_info", "go_info"]);
}, 90_000);
